"""Webhooks (admins): register an endpoint (its signing secret is shown once), list them
with their state, and per endpoint: send a test event, rotate the secret, disable or
re-enable, delete, and the delivery log (live while deliveries are pending)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.access import admin
from app.activity import Actor
from app.blueprints.webhooks.forms import EndpointForm
from app.edge import MAX_PAGE, bounded_int
from app.extensions import db
from app.forms import EmptyForm
from app.htmx import is_htmx, render, stop_polling
from app.models import DeliveryStatus
from app.webhooks import operations, queries
from app.webhooks.operations import Issued, WebhookError

bp = Blueprint("webhooks", __name__)


def _actor() -> Actor:
    return Actor.of_user(current_user)


def _show_secret(issued: Issued, rotated: bool) -> ResponseReturnValue:
    resp = render("webhooks/secret.html", endpoint=issued.endpoint, secret=issued.secret,
                  rotated=rotated)
    resp.headers["HX-Push-Url"] = "false"  # a reload must not post again
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/")
@admin
def index() -> ResponseReturnValue:
    endpoints = queries.endpoints_page(bounded_int("page", 1, low=1, high=MAX_PAGE) or 1)
    return render("webhooks/index.html", endpoints=endpoints)


@bp.route("/new", methods=["GET", "POST"])
@admin
def new() -> ResponseReturnValue:
    form = EndpointForm()
    if form.validate_on_submit():
        actor = _actor()
        db.session.commit()  # the URL check looks the name up: no transaction across DNS
        try:
            issued = operations.create_endpoint(form.url.data, form.events.data, actor=actor,
                                                config=current_app.config,
                                                description=form.description.data)
        except WebhookError as exc:
            db.session.rollback()
            getattr(form, exc.field or "url").errors.append(exc.message)
        else:
            db.session.commit()
            return _show_secret(issued, rotated=False)
    return render("webhooks/new.html", "form", 422 if form.errors else 200, form=form)


@bp.get("/<int:endpoint_id>")
@admin
def show(endpoint_id: int) -> ResponseReturnValue:
    endpoint = queries.get_endpoint_or_404(endpoint_id)
    log = queries.deliveries(endpoint.id, bounded_int("before", None, low=1))
    pending = any(d.status == DeliveryStatus.PENDING for d in log.rows)
    resp = render("webhooks/show.html", "deliveries", endpoint=endpoint, log=log,
                  pending=pending, action_form=EmptyForm())
    return stop_polling(resp) if is_htmx() and not pending else resp


@bp.post("/<int:endpoint_id>/test")
@admin
def send_test(endpoint_id: int) -> ResponseReturnValue:
    endpoint = queries.get_endpoint_or_404(endpoint_id)
    if EmptyForm().validate_on_submit():
        try:
            operations.send_test(endpoint, actor=_actor())
        except WebhookError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()  # the delivery reaches the queue once this commits
            flash("Test event queued: it appears in the delivery log below.", "success")
    return redirect(url_for("webhooks.show", endpoint_id=endpoint_id), 303)


@bp.post("/<int:endpoint_id>/rotate")
@admin
def rotate(endpoint_id: int) -> ResponseReturnValue:
    endpoint = queries.get_endpoint_or_404(endpoint_id)
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("webhooks.show", endpoint_id=endpoint_id), 303)
    issued = operations.rotate_secret(endpoint, actor=_actor(), config=current_app.config)
    db.session.commit()
    return _show_secret(issued, rotated=True)


@bp.post("/<int:endpoint_id>/enabled")
@admin
def toggle(endpoint_id: int) -> ResponseReturnValue:
    endpoint = queries.get_endpoint_or_404(endpoint_id)
    form = EmptyForm()
    if form.validate_on_submit():
        if endpoint.enabled:
            operations.disable_endpoint(endpoint, actor=_actor())
            message = "Endpoint disabled: nothing more is sent to it."
        else:
            operations.enable_endpoint(endpoint, actor=_actor())
            message = "Endpoint enabled: new events are sent to it again."
        db.session.commit()
        flash(message, "success")
    return redirect(url_for("webhooks.show", endpoint_id=endpoint_id), 303)


@bp.post("/<int:endpoint_id>/delete")
@admin
def delete(endpoint_id: int) -> ResponseReturnValue:
    endpoint = queries.get_endpoint_or_404(endpoint_id)
    if EmptyForm().validate_on_submit():
        operations.delete_endpoint(endpoint, actor=_actor())
        db.session.commit()
        flash("Endpoint deleted, with its delivery log.", "success")
        return redirect(url_for("webhooks.index"), 303)
    return redirect(url_for("webhooks.show", endpoint_id=endpoint_id), 303)


@bp.get("/deliveries/<int:delivery_id>")
@admin
def delivery(delivery_id: int) -> ResponseReturnValue:
    found = queries.get_delivery_or_404(delivery_id)
    endpoint = queries.get_endpoint_or_404(found.endpoint_id)
    return render("webhooks/delivery.html", delivery=found, endpoint=endpoint)
