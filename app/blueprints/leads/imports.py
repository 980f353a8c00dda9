"""CSV import in the dashboard: upload, then mapping + preview, then commit, then report."""

from __future__ import annotations

import json
import re
import secrets

from flask import abort, current_app, flash, redirect, url_for
from flask_login import current_user

from app import storage
from app.access import member
from app.blueprints.campaigns.routes import get_campaign_or_404
from app.blueprints.leads.blueprint import bp
from app.blueprints.leads.forms import ImportMappingForm, ImportUploadForm, choices
from app.extensions import db
from app.htmx import render
from app.leads.csvfile import CsvRefused, read_csv
from app.leads.importer import FIELDS, classify, detect_mapping, run_import
from app.leads.normalize import InvalidValue

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
PREVIEW_ROWS = 20


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
def import_upload(slug: str):
    campaign = get_campaign_or_404(slug)
    form = ImportUploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read(_limit() + 1)
        try:
            read_csv(data, _limit())
        except CsvRefused as exc:
            form.file.errors.append(str(exc))
        else:
            token = secrets.token_urlsafe(18)
            storage.save(
                _key(campaign.id, token, "csv"), data, "text/csv", owner=("campaign", campaign.id)
            )
            storage.save(
                _key(campaign.id, token, "name"),
                (upload.filename or "upload.csv")[:200].encode(),
                "text/plain",
                owner=("campaign", campaign.id),
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
    """The mapping form (detected columns as defaults) and the mapping it holds."""
    columns = choices(
        [("", "— not imported —")]
        + [(str(i), h or f"column {i + 1}") for i, h in enumerate(headers)]
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


def _commit_import(campaign, token: str, parsed, mapping, filename: str) -> bool:
    """Import, keep the report, drop the upload, commit; on any failure nothing is kept."""
    try:
        report = run_import(campaign, parsed, mapping, filename, current_user.id)
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
def import_mapping(slug: str, token: str):
    campaign = get_campaign_or_404(slug)
    parsed = read_csv(_load(_key(campaign.id, token, "csv")), _limit() + 1)
    filename = _load(_key(campaign.id, token, "name")).decode(errors="replace")
    form, mapping = _mapping_form(parsed.headers)
    if form.validate_on_submit() and form.commit.data == "yes":
        if _commit_import(campaign, token, parsed, mapping, filename):
            return redirect(url_for("leads.import_report", slug=slug, token=token))
    report = classify(campaign, parsed, mapping, filename)
    db.session.rollback()  # classify only read; release the transaction
    return render(
        "leads/import_mapping.html",
        "preview",
        campaign=campaign,
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
def import_report(slug: str, token: str):
    campaign = get_campaign_or_404(slug)
    report = json.loads(_load(_key(campaign.id, token, "report.json")))
    return render("leads/import_report.html", None, campaign=campaign, report=report)
