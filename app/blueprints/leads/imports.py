"""CSV import in the dashboard: upload, then mapping + preview, then commit, then report
(with the rows not imported to download as CSV, fix and import again)."""

from __future__ import annotations

import json
import re
import secrets

from flask import Response, abort, current_app, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.utils import secure_filename

from app import storage
from app.access import member
from app.activity import Actor
from app.blueprints.leads.forms import ImportMappingForm, ImportUploadForm, choices
from app.blueprints.leads.routes import bp
from app.campaigns.queries import get_campaign_or_404
from app.database import read_only
from app.extensions import db
from app.htmx import render
from app.leads.columns import FIELDS, detect_mapping
from app.leads.csvfile import CsvFile, CsvRefused, decode, read_csv
from app.leads.importer import classify, rejected_csv
from app.leads.normalize import InvalidValue
from app.leads.operations import import_leads
from app.models import Campaign
from app.untrusted import clean_text

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
PREVIEW_ROWS = 20
#: Longest column name shown in the mapping selects.
LABEL_CHARS = 60


def _limit() -> int:
    cfg = current_app.config
    return int(cfg.get("LEADS_IMPORT_MAX_BYTES") or cfg["MAX_CONTENT_LENGTH"])


def _key(campaign_id: int, token: str, suffix: str) -> str:
    if not _TOKEN.match(token):
        abort(404)
    return f"imports/{campaign_id}/{token}.{suffix}"


def _load(key: str) -> bytes:
    try:
        with storage.open_file(key) as fh:
            return fh.read()
    except storage.StorageError:
        abort(404)


@bp.route("/campaigns/<slug>/leads/import", methods=["GET", "POST"])
@member
def import_upload(slug: str) -> ResponseReturnValue:
    campaign = get_campaign_or_404(slug)
    form = ImportUploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read(_limit() + 1)
        # Checking the file needs no database: end this POST's transaction (on SQLite it
        # holds the write lock) before parsing, and take the lock again only to store it.
        campaign_id = campaign.id
        db.session.rollback()
        try:
            read_csv(data, _limit())
        except CsvRefused as exc:
            form.file.errors.append(str(exc))
        else:
            token = secrets.token_urlsafe(18)
            storage.save(
                _key(campaign_id, token, "csv"), data, "text/csv", owner=("campaign", campaign_id)
            )
            storage.save(
                _key(campaign_id, token, "name"),
                clean_text(upload.filename or "upload.csv")[:200].encode(),
                "text/plain",
                owner=("campaign", campaign_id),
            )
            db.session.commit()
            return redirect(url_for("leads.import_mapping", slug=slug, token=token))
    return render(
        "leads/import_upload.html",
        "form",
        422 if form.errors else 200,
        form=form,
        campaign=campaign,
        limit_mb=_limit() // (1024 * 1024),
    )


def _mapping_form(headers: list[str]) -> tuple[ImportMappingForm, dict[str, int | None]]:
    """The mapping form (detected columns as defaults) and the mapping it holds.

    The file has at most :data:`~app.leads.csvfile.MAX_COLUMNS` columns (read_csv refuses
    wider ones) and each label is cut short, so the nine selects stay small.
    """
    columns = choices(
        [("", "— not imported —")]
        + [(str(i), _label(h, i)) for i, h in enumerate(headers)]
    )
    detected = detect_mapping(headers)
    form = ImportMappingForm(
        data={f"map_{k}": "" if v is None else str(v) for k, v in detected.items()}
    )
    mapping: dict[str, int | None] = {}
    for name in FIELDS:
        field = getattr(form, f"map_{name}")
        field.choices = columns
        value = str(field.data or "")
        mapping[name] = int(value) if value.isdigit() and int(value) < len(headers) else None
    return form, mapping


def _label(header: str, index: int) -> str:
    text = clean_text(header).strip()
    if not text:
        return f"column {index + 1}"
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def _commit_import(
    campaign: Campaign, token: str, parsed: CsvFile, mapping: dict[str, int | None],
    filename: str, data: bytes,
) -> bool:
    """Import, keep the report and the rows not imported, drop the upload, commit; on any
    failure nothing is kept."""
    try:
        report = import_leads(
            campaign, parsed, mapping, filename, actor=Actor.of_user(current_user)
        )
        if report.bad or report.refused or report.duplicates:
            # Lines the parser gave up on are split again from the text (only then decoded).
            lines = decode(data)[0].splitlines() if parsed.broken else None
            storage.save(
                _key(campaign.id, token, "rejected"),
                rejected_csv(parsed, report, lines).encode("utf-8"),
                "text/csv",
                owner=("campaign", campaign.id),
            )
            report.rejected_csv = True
        storage.save(
            _key(campaign.id, token, "report.json"),
            json.dumps(report.as_dict()).encode(),
            "application/json",
            owner=("campaign", campaign.id),
        )
        storage.delete_on_commit(_key(campaign.id, token, "csv"))
        storage.delete_on_commit(_key(campaign.id, token, "name"))
        db.session.commit()
        return True
    except InvalidValue as exc:
        db.session.rollback()
        flash(str(exc), "error")
    except Exception:
        db.session.rollback()
        current_app.logger.exception("import into %s failed", campaign.slug)
        flash("The import failed and nothing was imported. Please try again.", "error")
    return False


@bp.route("/campaigns/<slug>/leads/import/<token>", methods=["GET", "POST"])
@member
def import_mapping(slug: str, token: str) -> ResponseReturnValue:
    campaign = get_campaign_or_404(slug)
    campaign_id = campaign.id
    page = {"id": campaign_id, "name": campaign.name, "slug": campaign.slug}
    # Parsing and classifying a file takes a while and only reads. On SQLite a POST's
    # transaction holds the write lock from its first statement (the sign-in check), so
    # end it before parsing; a preview then reads in deferred transactions, and only the
    # import itself (its classify and insert, which must see the same rows) takes the lock.
    db.session.rollback()
    data = _load(_key(campaign_id, token, "csv"))
    try:
        parsed = read_csv(data, _limit() + 1)
    except CsvRefused as exc:  # stored before a limit was lowered, say
        flash(f"This file cannot be imported: {exc}", "error")
        return redirect(url_for("leads.import_upload", slug=slug), 303)
    filename = clean_text(_load(_key(campaign_id, token, "name")).decode(errors="replace"))
    form, mapping = _mapping_form(parsed.headers)
    if form.validate_on_submit() and form.commit.data == "yes":
        if _commit_import(campaign, token, parsed, mapping, filename, data):
            return redirect(url_for("leads.import_report", slug=slug, token=token))
    read_only()  # from here on the request only reads (nothing pending: see above)
    report = classify(campaign, parsed, mapping, filename)
    db.session.rollback()  # classify only read; the page below needs nothing more from it
    return render(
        "leads/import_mapping.html",
        "preview",
        campaign=page,  # plain values: rendering loads nothing
        form=form,
        token=token,
        parsed=parsed,
        report=report,
        verdicts=report.verdicts(),
        mapping=mapping,
        preview=parsed.records[:PREVIEW_ROWS],
        fields=FIELDS,
    )


@bp.get("/campaigns/<slug>/leads/import/<token>/report")
@member
def import_report(slug: str, token: str) -> ResponseReturnValue:
    campaign = get_campaign_or_404(slug)
    report = json.loads(_load(_key(campaign.id, token, "report.json")))
    return render("leads/import_report.html", None, campaign=campaign, report=report,
                  token=token)


@bp.get("/campaigns/<slug>/leads/import/<token>/rejected.csv")
@member
def import_rejected(slug: str, token: str) -> ResponseReturnValue:
    """The rows an import did not take, as CSV: a problem column, then the original cells."""
    campaign = get_campaign_or_404(slug)
    report = json.loads(_load(_key(campaign.id, token, "report.json")))
    body = _load(_key(campaign.id, token, "rejected"))
    stem = secure_filename(str(report.get("filename") or "").rsplit(".", 1)[0]) or "import"
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{stem}-not-imported.csv"'})
