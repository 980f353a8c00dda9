"""Agency settings (admins): profile, brand colour and logo; a read-only secrets panel."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.access import admin, public
from app.activity import Actor
from app.blueprints.settings.forms import AgencyForm, LogoForm
from app.extensions import db
from app.forms import EmptyForm
from app.htmx import render
from app.settings import operations, queries
from app.settings.validation import LOGO_MAX_BYTES, SettingsError

bp = Blueprint("settings", __name__)


def _page(status: int = 200, form: AgencyForm | None = None,
          logo_form: LogoForm | None = None) -> Response:
    values = queries.agency()
    return render(
        "settings/index.html", None, status,
        form=form or AgencyForm(formdata=None, data=values),
        logo_form=logo_form or LogoForm(formdata=None),
        action_form=EmptyForm(), values=values,
        secrets=queries.secret_status(current_app.config),
    )


@bp.route("/", methods=["GET", "POST"])
@admin
def index() -> ResponseReturnValue:
    form = AgencyForm(data=queries.agency() if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            operations.save_agency(form.data, actor=Actor.of_user(current_user))
        except SettingsError as exc:
            db.session.rollback()
            field = form._fields.get(exc.field or "")
            if field is not None:
                field.data = ""  # never echo a secret-looking value back into the page
                field.errors = [*field.errors, str(exc)]
            else:
                form.form_errors.append(str(exc))
            return _page(422, form=form)
        db.session.commit()
        flash("Settings saved.", "success")
        return redirect(url_for("settings.index"))
    return _page(422 if form.errors else 200, form=form)


@bp.post("/logo")
@admin
def logo() -> ResponseReturnValue:
    form = LogoForm()
    if form.validate_on_submit():
        try:
            operations.save_logo(form.logo.data.read(LOGO_MAX_BYTES + 1),
                                 actor=Actor.of_user(current_user))
        except SettingsError as exc:
            db.session.rollback()
            form.logo.errors.append(str(exc))
            return _page(422, logo_form=form)
        db.session.commit()
        flash("Logo updated.", "success")
        return redirect(url_for("settings.index"))
    return _page(422, logo_form=form)


@bp.post("/logo/remove")
@admin
def remove_logo() -> ResponseReturnValue:
    if EmptyForm().validate_on_submit():
        removed = operations.remove_logo(actor=Actor.of_user(current_user))
        db.session.commit()
        flash("Logo removed." if removed else "There was no logo to remove.", "info")
    return redirect(url_for("settings.index"))


@bp.get("/brand.css")
@public
def brand_css() -> ResponseReturnValue:
    resp = Response(f":root {{ --brand: {queries.brand_colour()}; }}\n", mimetype="text/css",
                    headers={"Cache-Control": "no-cache"})
    resp.add_etag()
    return resp.make_conditional(request)
