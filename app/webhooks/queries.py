"""Read side of the webhook pages: endpoints, one endpoint or 404, its delivery log (keyset
pages on the ``(endpoint_id, id)`` index), one delivery or 404."""

from __future__ import annotations

from dataclasses import dataclass

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import select

from app.extensions import db
from app.models import WebhookDelivery, WebhookEndpoint

PER_PAGE = 50
DELIVERIES_PER_PAGE = 25


@dataclass
class DeliveryPage:
    """One page of an endpoint's deliveries, newest first."""

    rows: list[WebhookDelivery]
    older: int | None  #: pass as ``before`` for the next (older) page


def endpoints_page(page: int = 1) -> Pagination:
    """Endpoints, newest first."""
    return db.paginate(select(WebhookEndpoint).order_by(WebhookEndpoint.id.desc()),
                       page=page, per_page=PER_PAGE, error_out=False)


def get_endpoint_or_404(endpoint_id: int) -> WebhookEndpoint:
    """The endpoint, or 404 (the pages are for admins; the access hook checks that)."""
    return db.get_or_404(WebhookEndpoint, endpoint_id)


def get_delivery_or_404(delivery_id: int) -> WebhookDelivery:
    """The delivery, or 404."""
    return db.get_or_404(WebhookDelivery, delivery_id)


def deliveries(endpoint_id: int, before: int | None = None,
               per_page: int = DELIVERIES_PER_PAGE) -> DeliveryPage:
    """The endpoint's deliveries older than ``before`` (all when None), newest first."""
    stmt = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    if before is not None:
        stmt = stmt.where(WebhookDelivery.id < before)
    rows = list(db.session.scalars(stmt.order_by(WebhookDelivery.id.desc()).limit(per_page + 1)))
    older = rows[per_page - 1].id if len(rows) > per_page else None
    return DeliveryPage(rows[:per_page], older)
