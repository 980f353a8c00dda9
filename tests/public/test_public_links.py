"""The public-link core: publish, revoke, rotate, bulk publish, tokens and lookups."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.activity import SYSTEM
from app.extensions import db
from app.models import Activity, Audit, AuditStatus
from app.models.base import utcnow
from app.public import operations, queries


def test_publish_creates_one_link_per_lead_with_a_256_bit_token(app, factory):
    lead = factory.lead()
    audit = factory.audit(lead)
    link = operations.publish(audit, actor=SYSTEM)
    db.session.commit()
    token = queries.token_for(link)
    assert len(token) == 43 and queries.TOKEN_RE.fullmatch(token)
    assert link.token_hash == queries.hash_token(token) and token not in link.token_hash
    assert queries.is_live(link)
    assert queries.link_for_token(token).id == link.id
    assert queries.link_for_lead(lead.id).id == link.id
    assert queries.public_url(link) == f"http://127.0.0.1:5000/r/{token}"
    assert db.session.get(Audit, audit.id).published_at is not None
    # Publishing again keeps the same token (staff can copy it again).
    again = operations.publish(audit, actor=SYSTEM)
    assert again.id == link.id and queries.token_for(again) == token
    verbs = db.session.scalars(select(Activity.verb)).all()
    assert "public.published" in verbs


@pytest.mark.parametrize("status", [AuditStatus.RUNNING, AuditStatus.FAILED])
def test_only_finished_audits_can_be_published(app, factory, status):
    lead = factory.lead()
    audit = factory.audit(lead)
    audit.status = status
    with pytest.raises(ValueError, match="Only a finished audit can be published"):
        operations.publish(audit, actor=SYSTEM)


def test_site_down_audit_can_be_published(app, factory):
    audit = factory.audit(factory.lead(), status="site_down")
    assert audit.status == AuditStatus.SITE_DOWN
    assert queries.is_live(operations.publish(audit, actor=SYSTEM))


def test_revoke_kills_the_token_and_republish_gives_a_new_one(app, factory):
    audit = factory.audit(factory.lead())
    link = operations.publish(audit, actor=SYSTEM)
    old = queries.token_for(link)
    operations.revoke(link, actor=SYSTEM)
    db.session.commit()
    assert queries.link_for_token(old) is None and not queries.is_live(link)
    link = operations.publish(audit, actor=SYSTEM)
    db.session.commit()
    new = queries.token_for(link)
    assert new != old and link.version == 2
    assert queries.link_for_token(old) is None
    assert queries.link_for_token(new).id == link.id


def test_rotate_gives_a_new_token_and_the_old_one_dies(app, factory):
    link = operations.publish(factory.audit(factory.lead()), actor=SYSTEM)
    old = queries.token_for(link)
    operations.rotate(link, actor=SYSTEM)
    db.session.commit()
    assert queries.link_for_token(old) is None
    assert queries.link_for_token(queries.token_for(link)).id == link.id


def test_expired_links_are_dead_and_expiry_must_be_in_the_future(app, factory):
    audit = factory.audit(factory.lead())
    with pytest.raises(ValueError, match="future"):
        operations.publish(audit, actor=SYSTEM, expires_at=utcnow() - timedelta(minutes=1))
    link = operations.publish(audit, actor=SYSTEM, expires_at=utcnow() + timedelta(days=1))
    token = queries.token_for(link)
    assert queries.link_for_token(token) is not None
    link.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert queries.link_for_token(token) is None


def test_the_link_belongs_to_the_lead_and_shows_its_latest_published_audit(app, factory):
    lead = factory.lead()
    first = factory.audit(lead)
    link = operations.publish(first, actor=SYSTEM)
    token = queries.token_for(link)
    # A re-audit that is not published changes nothing the prospect sees.
    second = factory.audit(lead, scores={**first.scores, "overall": 99})
    assert queries.link_for_token(token).audit_id == first.id
    operations.publish(second, actor=SYSTEM)
    db.session.commit()
    assert queries.link_for_token(token).audit_id == second.id  # same link, same token


def test_peer_comparison_needs_five_peers_and_is_frozen(app, factory):
    campaign = factory.campaign()
    lead = factory.lead(campaign)
    audit = factory.audit(lead, scores={"overall": 70, "speed": 80})
    peers = [factory.lead(campaign, name=f"Peer {i}") for i in range(4)]
    for i, p in enumerate(peers):
        factory.audit(p, scores={"overall": 50 + 10 * i, "speed": 60 + 10 * i})
    link = operations.publish(audit, actor=SYSTEM)
    assert link.frozen["peers"] == {}  # 4 peers: no comparison
    factory.audit(factory.lead(campaign, name="Peer 5"), scores={"overall": 10, "speed": 10})
    link = operations.publish(audit, actor=SYSTEM)
    cats = link.frozen["peers"]["categories"]
    assert cats["overall"] == {"total": 5, "beaten": 3}  # 50, 60, 10 < 70
    assert cats["speed"] == {"total": 5, "beaten": 3}
    assert link.frozen["peers"]["city"] == "Austin"
    # Frozen: a new peer later changes nothing until the next publish.
    factory.audit(factory.lead(campaign, name="Peer 6"), scores={"overall": 1, "speed": 1})
    assert queries.link_for_lead(lead.id).frozen["peers"]["categories"]["overall"]["total"] == 5


def test_publish_finished_publishes_each_finished_latest_audit_once(app, factory):
    campaign = factory.campaign()
    for i in range(3):
        factory.audit(factory.lead(campaign, name=f"L{i}"))
    factory.audit(factory.lead(campaign, name="Down"), status="site_down")
    factory.lead(campaign, name="Never audited")
    assert operations.publish_finished(campaign, actor=SYSTEM) == 4
    db.session.commit()
    assert operations.publish_finished(campaign, actor=SYSTEM) == 0


def test_publish_finished_leaves_revoked_links_revoked(app, factory):
    campaign = factory.campaign()
    kept, revoked = (factory.lead(campaign, name=n) for n in ("Kept", "Revoked"))
    for lead in (kept, revoked):
        factory.audit(lead)
    link = operations.publish(db.session.get(Audit, revoked.latest_audit_id), actor=SYSTEM)
    operations.revoke(link, actor=SYSTEM)
    db.session.commit()
    old_token = queries.token_for(link)
    # A newer audit of the revoked lead must not bring its page back either.
    factory.audit(revoked)
    assert operations.publish_finished(campaign, actor=SYSTEM) == 1
    db.session.commit()
    link = queries.link_for_lead(revoked.id)
    assert link.revoked_at is not None and not queries.is_live(link)
    assert queries.link_for_token(old_token) is None
    assert queries.is_live(queries.link_for_lead(kept.id))
    # Re-publishing it stays possible, as a deliberate single action.
    operations.publish(db.session.get(Audit, revoked.latest_audit_id), actor=SYSTEM)
    assert queries.is_live(queries.link_for_lead(revoked.id))


def test_malformed_tokens_find_nothing(app, factory):
    link = operations.publish(factory.audit(factory.lead()), actor=SYSTEM)
    db.session.commit()
    token = queries.token_for(link)
    for bad in ["", "a", token[:-1], token + "A", token.swapcase(), "../" * 15, "é" * 43,
                token[:-1] + "\x00", "\ud800" * 43]:
        assert queries.link_for_token(bad) is None
