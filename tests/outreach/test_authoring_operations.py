"""Outreach authoring against the real migrated database: templates, drafts, approval and
what voids it, do-not-contact at draft and approval, header injection, replies and
follow-ups."""

from __future__ import annotations

from datetime import timedelta

import authoring_support as f
import pytest

from app.activity import SYSTEM, Actor
from app.cli import main
from app.extensions import db
from app.leads import dnc
from app.models import (
    InvalidTransition,
    Lead,
    LeadStatus,
    Outreach,
    OutreachEvent,
    OutreachStatus,
    TemplateVariant,
)
from app.models.base import utcnow
from app.outreach import operations as ops
from app.outreach import queries, templates
from app.outreach.history import record_status
from app.public import operations as public_ops
from app.public.queries import link_for_lead

OS = OutreachStatus


@pytest.fixture
def actor(create_user):
    return Actor.of_user(create_user(role="member"))


@pytest.fixture
def camp(app):
    f.agency()
    return f.campaign()


def test_draft_fills_fields_from_lead_and_audit(camp, actor):
    lead = f.lead(camp)
    msg = ops.draft_for_lead(lead, actor=actor)
    assert msg.status == OS.PENDING_APPROVAL
    assert msg.subject == "Smile Dental: your website scored F"  # 54 → F
    assert msg.body.startswith("Hi Ana,")
    assert "found 4 things worth fixing" in msg.body
    # worst first: failures by severity, then warnings; three at most
    assert "- The site has no HTTPS\n- The page takes 6.1 s" in msg.body
    assert "Images have no text alternative" not in msg.body
    assert queries.audit_link(lead) in msg.body and "/r/" in msg.body
    assert "Sam Lee, Bright Web" in msg.body
    assert "[[missing" not in msg.body and "{{" not in msg.body
    assert lead.status == LeadStatus.DRAFTED
    events = queries.history(msg.id)
    assert [(e.from_status, e.to_status) for e in events] == [(None, OS.PENDING_APPROVAL)]


def test_unknown_fields_and_syntax_errors_are_refused_when_saving(camp):
    with pytest.raises(ops.OutreachError, match="unknown field bussiness_name"):
        ops.save_template(camp, step=1, variant=TemplateVariant.STANDARD,
                          subject="Hi {{ bussiness_name }}", body="x", actor=SYSTEM)
    with pytest.raises(ops.OutreachError, match="syntax error on line 2"):
        ops.save_template(camp, step=1, variant=TemplateVariant.STANDARD, subject="Hi",
                          body="line one\n{% if grade %}no end", actor=SYSTEM)
    # the saved template is unchanged
    assert queries.get_template(camp.id, 1, TemplateVariant.STANDARD).subject == f.SUBJECT


@pytest.mark.parametrize("source, message", [
    ("{{ 'x' * 100000 }}", "not allowed"),
    ("{{ 2 ** 1000 }}", "not allowed"),
    ("{% for i in range(9) %}{% endfor %}", "unknown field range"),
    ("{% include 'base.html' %}", "cannot use"),
    ("{{ business_name.__class__.__mro__ }}", "unsafe"),
])
def test_the_sandbox_refuses_what_templates_must_not_do(source, message):
    try:
        out = templates.render(source, {"business_name": "A"}).text
    except templates.TemplateProblem as exc:
        out = str(exc)
    assert message in out
    assert "<class" not in out


@pytest.mark.parametrize("source, message", [
    ('{{ ("x" * 1000) * 1000 * 1000 }}', "past 50000 characters"),
    ('{% set s = "x" * 1000 %}{% set s = s * 50 %}{{ s + s }}', "joining text past"),
    ('{% set s = "x" * 1000 %}{% for a in s %}{% for b in s %}{% for c in s %}'
     '{% endfor %}{% endfor %}{% endfor %}', "loops may run at most 10000 times"),
    ('{% for a in findings %}{% for b in ("y" * 1000) %}{% for c in ("z" * 1000) %}'
     '{% endfor %}{% endfor %}{% endfor %}', "loops may run at most"),
])
def test_template_resource_limits_fail_fast_with_a_clear_error(source, message):
    import time

    started = time.monotonic()
    with pytest.raises(templates.TemplateProblem, match=message):
        templates.render(source, {"findings": ["a", "b"]})
    assert time.monotonic() - started < 2
    # ordinary loops still work, loop variables included
    out = templates.render("{% for f in findings %}{{ loop.index }}. {{ f }}\n{% endfor %}",
                           {"findings": ["a", "b"]})
    assert out.text == "1. a\n2. b\n"


def test_missing_field_is_flagged_and_blocks_approval_until_edited(camp, actor):
    ops.save_template(camp, step=1, variant=TemplateVariant.STANDARD,
                      subject="For {{ contact_name }}",
                      body="Dear {{ contact_name }}, {{ audit_link }}",
                      actor=SYSTEM)
    lead = f.lead(camp, contact=None)
    msg = ops.draft_for_lead(lead, actor=actor)
    assert msg.status == OS.DRAFT
    assert msg.subject == "For [[missing: contact_name]]"
    with pytest.raises(ops.OutreachError, match="without a value for this lead: contact_name"):
        ops.approve(msg, actor=actor)
    ops.edit_draft(msg, subject="For you", body=msg.body.replace("[[missing: contact_name]]",
                                                                "friend"), actor=actor)
    assert msg.status == OS.PENDING_APPROVAL
    ops.approve(msg, actor=actor)
    assert msg.status == OS.APPROVED


def test_approval_fixes_sender_message_id_and_fingerprint(camp, actor):
    lead = f.lead(camp)
    msg = ops.draft_for_lead(lead, actor=actor)
    ops.approve(msg, actor=actor)
    db.session.commit()
    assert msg.status == OS.APPROVED and lead.status == LeadStatus.APPROVED
    assert msg.sender_email == "sam@brightweb.example" and msg.sender_name == "Sam Lee"
    assert msg.message_id.startswith("<") and msg.message_id.endswith("@brightweb.example>")
    assert msg.approved_by_id == actor.id and msg.approved_fingerprint == queries.fingerprint(msg)
    assert queries.approval_still_valid(msg)
    # the campaign's own sender wins over the agency's
    camp.sender_email, camp.sender_name = "pat@dentists.example", "Pat"
    other = ops.draft_for_lead(f.lead(camp, "Bright Smiles", email="bo@bright.example"),
                               actor=actor)
    ops.approve(other, actor=actor)
    assert other.sender_email == "pat@dentists.example"
    assert other.message_id.endswith("@dentists.example>")


def test_an_edit_after_approval_voids_it(camp, actor):
    lead = f.lead(camp)
    msg = ops.draft_for_lead(lead, actor=actor)
    ops.approve(msg, actor=actor)
    ops.edit_draft(msg, subject=msg.subject, body=msg.body + "\nPS.", actor=actor)
    assert msg.status == OS.PENDING_APPROVAL and msg.approved_at is None
    assert msg.message_id is None and not queries.approval_still_valid(msg)
    assert lead.status == LeadStatus.DRAFTED
    notes = [e.note for e in queries.history(msg.id)]
    assert "edited after approval: approval voided" in notes


def test_a_change_behind_the_approval_voids_it(camp, actor):
    lead = f.lead(camp)
    msg = ops.draft_for_lead(lead, actor=actor)
    ops.approve(msg, actor=actor)
    assert queries.approval_still_valid(msg)
    msg.body += " tampered"  # a write that skipped edit_draft
    assert queries.approval_problem(msg) == "The message changed after it was approved."
    msg.body = msg.body.removesuffix(" tampered")
    assert queries.approval_still_valid(msg)
    f.audit_for(lead)  # a newer audit: the email cites an old one
    assert "newer audit" in queries.approval_problem(msg)


def test_the_public_page_must_stay_live_and_linked(camp, actor):
    lead = f.lead(camp)
    msg = ops.draft_for_lead(lead, actor=actor)
    ops.approve(msg, actor=actor)
    public_ops.revoke(link_for_lead(lead.id), actor=SYSTEM)
    assert queries.approval_problem(msg) == "The lead's public audit page is not published."
    f.publish_page(lead)  # published again: a new token, the email's link is dead
    assert "does not link" in queries.approval_problem(msg)
    ops.edit_draft(msg, subject=msg.subject, body=msg.body, actor=actor)  # unchanged: no-op
    ops.edit_draft(msg, subject=msg.subject, body=msg.body + "\nPS.", actor=actor)
    with pytest.raises(ops.OutreachError, match="does not link to the lead's public"):
        ops.approve(msg, actor=actor)
    ops.reject(msg, actor=actor)
    fresh = ops.draft_for_lead(lead, actor=actor)
    ops.approve(fresh, actor=actor)
    assert queries.approval_still_valid(fresh)


def test_approval_needs_a_sender_a_postal_address_and_a_published_page(app, actor):
    f.agency(sender="", postal="")
    camp = f.campaign()
    msg = ops.draft_for_lead(f.lead(camp), actor=actor)
    with pytest.raises(ops.OutreachError) as exc:
        ops.approve(msg, actor=actor)
    assert "No sender address" in str(exc.value) and "No postal address" in str(exc.value)
    f.agency()
    unpublished = ops.draft_for_lead(f.lead(camp, "Late Smiles", email="l@late.example",
                                            publish=False), actor=actor)
    assert "[[missing: audit_link]]" in unpublished.body  # no link to cite yet
    lead2 = f.lead(camp, "Other", email="o@other.example")
    msg2 = ops.draft_for_lead(lead2, actor=actor)
    public_ops.revoke(link_for_lead(lead2.id), actor=SYSTEM)
    with pytest.raises(ops.OutreachError, match="public audit page is not published"):
        ops.approve(msg2, actor=actor)
    assert msg2.status == OS.PENDING_APPROVAL


def test_do_not_contact_is_checked_at_draft_and_at_approval(camp, actor):
    lead = f.lead(camp)
    dnc.add([(None, "ana@smile.example")], None)
    with pytest.raises(ops.OutreachError, match="ana@smile.example is on the do-not-contact"):
        ops.draft_for_lead(lead, actor=actor)
    other = f.lead(camp, "Tooth Co", email="t@tooth.example")
    msg = ops.draft_for_lead(other, actor=actor)
    dnc.add([("tooth.example", None)], None)  # the whole domain, after drafting
    with pytest.raises(ops.OutreachError, match="tooth.example is on the do-not-contact"):
        ops.approve(msg, actor=actor)


@pytest.mark.parametrize("name", [
    "Evil\r\nBcc: victim@example.com", "Evil\nX: y", "Evil%0d%0aBcc: v@example.com",
    "Evil\u2028Bcc: v@example.com", "Evil\u2029X", "Evil=0D=0ABcc", "Evil&#10;Bcc",
    "=?utf-8?q?Evil=0ABcc:_v@example.com?=", "Evil\\r\\nBcc",
])
def test_header_injection_in_names_is_refused_at_draft(camp, actor, name):
    lead = f.lead(camp, "Placeholder", email="x@evil.example")
    lead.business_name = name  # as an import could have stored it
    with pytest.raises(ops.OutreachError, match="header injection"):
        ops.draft_for_lead(lead, actor=actor)


@pytest.mark.parametrize("subject", ["Hi\r\nBcc: a@example.com", "Hi%0ABcc", "Hi\u2028"])
def test_header_injection_in_subjects_is_refused(camp, actor, subject):
    with pytest.raises(ops.OutreachError, match="header injection"):
        ops.save_template(camp, step=1, variant=TemplateVariant.STANDARD, subject=subject,
                          body="b", actor=SYSTEM)
    msg = ops.draft_for_lead(f.lead(camp), actor=actor)
    with pytest.raises(ops.OutreachError, match="header injection"):
        ops.edit_draft(msg, subject=subject, body=msg.body, actor=actor)


@pytest.mark.parametrize("email", ["not-an-address", "a@b@c.example", "ana@localhost",
                                   "x@site.invalid", "a\nb@x.example"])
def test_bad_recipient_addresses_are_refused_at_draft(camp, actor, email):
    lead = f.lead(camp, email=email)
    with pytest.raises(ops.OutreachError, match="recipient"):
        ops.draft_for_lead(lead, actor=actor)


def test_bulk_draft_counts_and_lists_leads_without_email(camp, actor):
    f.lead(camp, "A One", email="a@one.example")
    f.lead(camp, "B Two", email=None)
    f.lead(camp, "C Three", email=None)
    f.lead(camp, "D Four", email="d@four.example", audited=False)
    f.lead(camp, "E Five", email="bad\r\n@five.example")
    down = f.lead(camp, "F Down", email="f@down.example", site_down=True)
    result = ops.draft_campaign(camp, actor=actor)
    assert [m.recipient for m in result.drafted] == ["a@one.example", "f@down.example"]
    assert sorted(lead.business_name for lead in result.without_email) == ["B Two", "C Three"]
    assert [lead.business_name for lead, _ in result.refused] == ["E Five"]
    assert "2 drafted, 2 without an email address, 1 refused" in result.summary
    site_down_msg = result.drafted[1]
    assert site_down_msg.subject == "F Down: your website is down"
    assert "Connection refused. Nothing answered on port 443." in site_down_msg.body
    assert down.status == LeadStatus.DRAFTED
    again = ops.draft_campaign(camp, actor=actor)
    assert again.drafted == [] and again.already_open == 2


def test_site_down_leads_without_their_template_are_told_so(app, actor):
    f.agency()
    camp = f.campaign(templates=False)
    ops.save_template(camp, step=1, variant=TemplateVariant.STANDARD, subject=f.SUBJECT,
                      body=f.BODY, actor=SYSTEM)
    with pytest.raises(ops.OutreachError, match="no site-down first-email template"):
        ops.draft_for_lead(f.lead(camp, site_down=True), actor=actor)


def test_bulk_approve_and_reject(camp, actor):
    msgs = [ops.draft_for_lead(f.lead(camp, f"Lead {i}", email=f"l{i}@x{i}.example"),
                               actor=actor) for i in range(3)]
    public_ops.revoke(link_for_lead(msgs[2].lead_id), actor=SYSTEM)
    out = ops.approve_many([m.id for m in msgs], actor=actor)
    assert [m.id for m in out.done] == [msgs[0].id, msgs[1].id]
    assert out.refused[0][0].id == msgs[2].id and "not published" in out.refused[0][1]
    rej = ops.reject_many([msgs[1].id, msgs[2].id], actor=actor, note="not now")
    assert len(rej.done) == 2 and msgs[1].status == OS.CANCELED
    lead1 = db.session.get_one(Lead, msgs[1].lead_id)
    assert lead1.status == LeadStatus.AUDITED
    with pytest.raises(ops.OutreachError, match="canceled"):
        ops.approve(msgs[1], actor=actor)


def test_record_status_checks_the_machine_and_keeps_history(camp, actor):
    msg = ops.draft_for_lead(f.lead(camp), actor=actor)
    with pytest.raises(InvalidTransition):
        record_status(msg, OS.SENT, actor=actor)
    ops.approve(msg, actor=actor)
    record_status(msg, OS.QUEUED, actor=SYSTEM, note="queued")
    rows = db.session.query(OutreachEvent).filter_by(outreach_id=msg.id).all()
    assert [r.to_status for r in rows] == [OS.PENDING_APPROVAL, OS.APPROVED, OS.QUEUED]
    assert rows[-1].actor_kind == "system" and rows[1].actor_id == actor.id


def _sent(msg, days_ago: int) -> None:
    record_status(msg, OS.QUEUED, actor=SYSTEM)
    record_status(msg, OS.SENDING, actor=SYSTEM)
    record_status(msg, OS.SENT, actor=SYSTEM)
    msg.sent_at = utcnow() - timedelta(days=days_ago)
    db.session.flush()


def test_follow_ups_come_after_n_days_and_stop_on_reply_or_opt_out(camp, actor):
    camp.follow_up_days = 3
    ops.save_template(camp, step=2, variant=TemplateVariant.STANDARD,
                      subject="Re: {{ business_name }}", body="Just checking: {{ audit_link }}",
                      actor=SYSTEM)
    leads = [f.lead(camp, f"Shop {i}", email=f"s{i}@shop{i}.example") for i in range(4)]
    firsts = [ops.draft_for_lead(lead, actor=actor) for lead in leads]
    for m in firsts:
        ops.approve(m, actor=actor)
    _sent(firsts[0], 4)
    _sent(firsts[1], 1)  # not due yet
    _sent(firsts[2], 5)
    _sent(firsts[3], 5)
    ops.mark_replied(leads[2], actor=actor)
    assert leads[2].status == LeadStatus.REPLIED and firsts[2].replied_at is not None
    dnc.add([(None, "s3@shop3.example")], None, dnc.BlacklistReason.UNSUBSCRIBED)
    result = ops.draft_follow_ups(camp, actor=actor)
    assert [m.follows_id for m in result.drafted] == [firsts[0].id]
    follow = result.drafted[0]
    assert follow.step == 2 and follow.subject == "Re: Shop 0"
    assert [lead.business_name for lead, _ in result.refused] == ["Shop 3"]
    assert ops.draft_follow_ups(camp, actor=actor).drafted == []  # once only
    # a reply cancels the follow-up still waiting
    ops.mark_replied(leads[0], actor=actor)
    assert follow.status == OS.CANCELED


def test_bulk_draft_skips_leads_already_emailed_or_in_a_sales_stage(camp, actor):
    sent_lead = f.lead(camp, "Sent One", email="s@sent.example")
    unknown_lead = f.lead(camp, "Unknown Two", email="u@unknown.example")
    replied = f.lead(camp, "Replied Three", email="r@replied.example")
    won = f.lead(camp, "Won Four", email="w@won.example")
    fresh = f.lead(camp, "Fresh Five", email="f@fresh.example")
    first = ops.draft_for_lead(sent_lead, actor=actor)
    ops.approve(first, actor=actor)
    _sent(first, 0)
    sent_lead.status = LeadStatus.CONTACTED
    second = ops.draft_for_lead(unknown_lead, actor=actor)
    ops.approve(second, actor=actor)
    for st in (OS.QUEUED, OS.SENDING, OS.UNKNOWN):
        record_status(second, st, actor=SYSTEM)
    third = ops.draft_for_lead(replied, actor=actor)
    ops.approve(third, actor=actor)
    _sent(third, 0)
    replied.status = LeadStatus.CONTACTED
    ops.mark_replied(replied, actor=actor)
    won.status = LeadStatus.WON
    db.session.flush()
    result = ops.draft_campaign(camp, actor=actor)
    assert [m.lead_id for m in result.drafted] == [fresh.id]
    # sent, possibly sent (unknown), replied, won: all already contacted
    assert result.already_open == 0 and result.already_contacted == 4
    assert "4 already contacted" in result.summary
    for lead in (sent_lead, replied, won):
        with pytest.raises(ops.OutreachError, match="already been emailed"):
            ops.draft_for_lead(lead, actor=actor)


def test_mark_replied_needs_a_sent_email(camp, actor):
    lead = f.lead(camp)
    ops.draft_for_lead(lead, actor=actor)
    with pytest.raises(ops.OutreachError, match="No email has been sent"):
        ops.mark_replied(lead, actor=actor)


def test_the_cli_drafts_and_approves_like_the_pages(camp, runner, create_user):
    f.lead(camp)
    f.lead(camp, "Nomail", email=None)
    db.session.commit()
    out = runner.invoke(main, ["outreach", "draft", "--campaign", camp.slug])
    assert "1 drafted, 1 without an email address" in out.output and "Nomail" in out.output
    msg = db.session.query(Outreach).one()
    # an approval is a person's: --as is required and must name an existing user
    anonymous = runner.invoke(main, ["outreach", "approve", str(msg.id)])
    assert anonymous.exit_code == 2 and "--as" in anonymous.output
    nobody = runner.invoke(main, ["outreach", "approve", str(msg.id), "--as", "x@nowhere.example"])
    assert nobody.exit_code == 1 and "No user with the email" in nobody.output
    db.session.refresh(msg)
    assert msg.status == OS.PENDING_APPROVAL
    person = create_user(email="ann@agency.example")
    approved = runner.invoke(main, ["outreach", "approve", str(msg.id), "--as",
                                    "Ann@Agency.example"])
    assert "1 done" in approved.output, approved.output
    db.session.refresh(msg)
    assert msg.status == OS.APPROVED and msg.approved_by_id == person.id
    missing = runner.invoke(main, ["outreach", "draft", "--campaign", "nope"])
    assert missing.exit_code == 1 and "No campaign" in missing.output

