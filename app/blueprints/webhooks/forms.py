"""Forms of the webhook pages (admins only)."""

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectMultipleField, StringField, URLField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from app.webhooks.events import EVENTS

#: What each event means, for the form.
EVENT_HELP = {
    "audit.finished": "an audit finished (with its scores)",
    "audit.failed": "an audit could not be run",
    "page.viewed": "a prospect first opened a public audit page",
    "outreach.sent": "an outreach email was sent",
    "outreach.replied": "a prospect replied",
    "lead.unsubscribed": "a lead unsubscribed",
}


class EventsField(SelectMultipleField):
    """One checkbox per event."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class EndpointForm(FlaskForm):
    url = URLField("Endpoint URL", validators=[DataRequired("Enter the URL that should "
                                                            "receive the events."),
                                               Length(max=2000)],
                   description="https:// address that receives a signed POST for each event. "
                               "Private, loopback and metadata addresses are refused; "
                               "redirects are not followed.")
    description = StringField("Description (optional)", validators=[Length(max=120)],
                              description="What receives it, e.g. “n8n: new audits to CRM”.")
    events = EventsField("Events",
                         choices=[SelectChoice(e, f"{e} — {EVENT_HELP[e]}") for e in EVENTS],
                         validators=[DataRequired("Choose at least one event.")])
