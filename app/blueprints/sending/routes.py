"""Sending pages: is SMTP on (and how to turn it on), a test email to me, messages whose
fate is unknown, a campaign's pace and its resume button, a message exactly as sent."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app import mail
from app.access import member
from app.activity import Actor
from app.blueprints.sending.forms import PaceForm, hhmm, minutes
from app.campaigns.queries import get_campaign_or_404
from app.extensions import db
from app.forms import EmptyForm
from app.htmx import render
from app.models import Campaign
from app.outreach import controls, delivery
from app.outreach.queries import get_outreach_or_404, history
from app.outreach.window import describe, pace_of

bp = Blueprint("sending", __name__)


def _actor() -> Actor:
    return Actor.of_user(current_user)


def smtp_summary() -> dict[str, Any]:
    """What the pages say about SMTP (never the password)."""
    cfg = current_app.config
    if not mail.is_configured(cfg):
        return {"on": False}
    s = mail.settings(cfg)
    return {"on": True, "host": s.host, "port": s.port, "security": s.security,
            "user": s.username, "ca_file": bool(s.ca_file)}


@bp.app_context_processor
def _sending_globals() -> dict[str, Any]:
    def campaign_sending(campaign: Campaign) -> dict[str, Any]:
        return {"paused": delivery.is_paused(campaign), "reason": campaign.paused_reason,
                "auto_paused": campaign.paused_at is not None,
                "pace": describe(pace_of(campaign))}

    return {"sending_on": lambda: mail.is_configured(current_app.config),
            "sending_blocked": lambda: delivery.sending_blocked(current_app.config),
            "campaign_sending": campaign_sending}


@bp.get("/")
@member
def index() -> ResponseReturnValue:
    return render("sending/index.html", smtp=smtp_summary(), overview=controls.overview(),
                  action_form=EmptyForm())


@bp.post("/test")
@member
def test_email() -> ResponseReturnValue:
    form = EmptyForm()
    if form.validate_on_submit():
        to = str(current_user.email)
        try:
            answer = controls.send_test(current_app.config, to=to, actor=_actor())
        except (mail.MailError, controls.DeliveryError) as exc:
            flash(f"The test email to {to} was not sent: {exc}", "error")
        else:
            flash(f"Test email sent to {to} (the server said: {answer}).", "success")
    return redirect(url_for("sending.index"), 303)


@bp.post("/campaigns/<slug>/resume")
@member
def resume(slug: str) -> ResponseReturnValue:
    campaign = get_campaign_or_404(slug)
    if EmptyForm().validate_on_submit():
        try:
            controls.resume(campaign, actor=_actor())
        except controls.DeliveryError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(f"Sending resumed for {campaign.name}.", "success")
    back = request.form.get("back") == "sending"
    return redirect(url_for("sending.index") if back
                    else url_for("campaigns.show", slug=campaign.slug), 303)


@bp.route("/campaigns/<slug>/pace", methods=["GET", "POST"])
@member
def pace(slug: str) -> ResponseReturnValue:
    campaign = get_campaign_or_404(slug)
    form = PaceForm(data=None if request.method == "POST" else {
        "daily_cap": campaign.daily_cap, "domain_daily_cap": campaign.domain_daily_cap,
        "min_spacing_seconds": campaign.min_spacing_seconds,
        "window_start": hhmm(campaign.send_window_start),
        "window_end": hhmm(campaign.send_window_end), "timezone": campaign.timezone or "UTC"})
    if form.validate_on_submit():
        start, end = minutes(form.window_start.data), minutes(form.window_end.data)
        try:
            controls.set_pace(campaign, daily_cap=form.daily_cap.data,
                              domain_daily_cap=form.domain_daily_cap.data,
                              min_spacing_seconds=form.min_spacing_seconds.data or 0,
                              window=(start, end) if start is not None and end is not None
                              else None, timezone=form.timezone.data, actor=_actor())
        except controls.DeliveryError as exc:
            db.session.rollback()
            form.timezone.errors = [*form.timezone.errors, str(exc)]
        else:
            db.session.commit()
            flash(f"Sending pace saved: {describe(pace_of(campaign))}.",
                  "success")
            return redirect(url_for("campaigns.show", slug=campaign.slug), 303)
    return render("sending/pace.html", "form", 422 if form.errors else 200, form=form,
                  campaign=campaign)


@bp.get("/outreach/<int:outreach_id>")
@member
def as_sent(outreach_id: int) -> ResponseReturnValue:
    message = get_outreach_or_404(outreach_id)
    raw = (message.sent_raw or b"").decode("utf-8", "replace")
    return render("sending/as_sent.html", message=message, raw=raw,
                  events=history(message.id), action_form=EmptyForm())


@bp.get("/outreach/<int:outreach_id>.eml")
@member
def download(outreach_id: int) -> ResponseReturnValue:
    message = get_outreach_or_404(outreach_id)
    if not message.sent_raw:
        return Response("This message has not been handed to the SMTP server.", 404,
                        mimetype="text/plain")
    resp = Response(message.sent_raw, mimetype="message/rfc822")
    resp.headers["Content-Disposition"] = f'attachment; filename="outreach-{message.id}.eml"'
    return resp


@bp.post("/outreach/<int:outreach_id>/settle")
@member
def settle(outreach_id: int) -> ResponseReturnValue:
    message = get_outreach_or_404(outreach_id)
    if EmptyForm().validate_on_submit():
        outcome = request.form.get("outcome")
        try:
            if outcome not in ("sent", "failed"):
                raise controls.DeliveryError("Say whether it arrived (sent) or not (failed).")
            controls.settle(message, sent=outcome == "sent", actor=_actor())
        except controls.DeliveryError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(f"Marked {outcome}.", "success")
    return redirect(url_for("sending.as_sent", outreach_id=message.id), 303)
