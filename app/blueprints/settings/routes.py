"""Agency settings (admins): profile, brand colour and logo; a read-only secrets panel."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, redirect, request, url_for
from flask_login import current_user

from app import activity, settings
from app.access import admin, public
from app.blueprints.auth.forms import EmptyForm
from app.blueprints.settings.forms import AgencyForm, LogoForm
from app.extensions import db
from app.htmx import render

bp = Blueprint("settings", __name__)


def _page(status: int = 200, form: AgencyForm | None = None, logo_form: LogoForm | None = None):
    values = settings.agency()
    return render(
        "settings/index.html", None, status,
        form=form or AgencyForm(formdata=None, data=values),
        logo_form=logo_form or LogoForm(formdata=None),
        action_form=EmptyForm(), values=values,
        secrets=settings.secret_status(current_app.config),
    )


@bp.route("/", methods=["GET", "POST"])
@admin
def index():
    form = AgencyForm(data=settings.agency() if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            settings.save_agency(form.data, current_user.id)
        except settings.SettingsError as exc:
            db.session.rollback()
            field = form._fields.get(exc.field or "")
            if field is not None:
                field.data = ""  # never echo a secret-looking value back into the page
                field.errors = [*field.errors, str(exc)]
            else:
                form.form_errors.append(str(exc))
            return _page(422, form=form)
        activity.record("settings.update", "updated the agency settings", user_id=current_user.id,
                        subject_type="settings")
        db.session.commit()
        flash("Settings saved.", "success")
        return redirect(url_for("settings.index"))
    return _page(422 if form.errors else 200, form=form)


@bp.post("/logo")
@admin
def logo():
    form = LogoForm()
    if form.validate_on_submit():
        try:
            settings.save_logo(form.logo.data.read(settings.LOGO_MAX_BYTES + 1), current_user.id)
        except settings.SettingsError as exc:
            db.session.rollback()
            form.logo.errors.append(str(exc))
            return _page(422, logo_form=form)
        activity.record("settings.logo", "uploaded a new logo", user_id=current_user.id,
                        subject_type="settings")
        db.session.commit()
        flash("Logo updated.", "success")
        return redirect(url_for("settings.index"))
    return _page(422, logo_form=form)


@bp.post("/logo/remove")
@admin
def remove_logo():
    if EmptyForm().validate_on_submit():
        settings.remove_logo(current_user.id)
        db.session.commit()
        flash("Logo removed.", "info")
    return redirect(url_for("settings.index"))


@bp.get("/brand.css")
@public
def brand_css():
    colour = settings.get("brand_colour") or settings.AGENCY_DEFAULTS["brand_colour"]
    try:
        colour = settings.normalize_colour(colour)
    except settings.SettingsError:
        colour = settings.AGENCY_DEFAULTS["brand_colour"]
    resp = Response(f":root {{ --brand: {colour}; }}\n", mimetype="text/css",
                    headers={"Cache-Control": "no-cache"})
    resp.add_etag()
    return resp.make_conditional(request)


@bp.app_context_processor
def _brand() -> dict:
    """``brand()`` in templates: the agency name and logo URL for the top bar."""

    def brand() -> dict:
        from app import storage

        values = settings.cached_many({"agency_name": "", "logo_file": None})
        logo = values["logo_file"]
        return {"name": values["agency_name"], "logo_url": storage.url(logo) if logo else None}

    return {"brand": brand}
