"""The models' base class and shared column helpers."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from app.extensions import Base, db

if TYPE_CHECKING:
    from flask_sqlalchemy.model import Model as _FlaskModel

    class Model(_FlaskModel, Base):
        """What ``db.Model`` is at run time, spelt so a type checker can follow it: mypy
        cannot take a base class from an instance attribute (python/mypy#8603)."""

else:
    Model = db.Model


def utcnow() -> datetime:
    """Timezone-aware now in UTC (stored naive-UTC portably)."""
    return datetime.now(UTC).replace(tzinfo=None)


def enum_column(enum_cls: type[enum.Enum], length: int = 20) -> sa.Enum:
    """A portable enum: VARCHAR holding the enum's values, validated on write."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        length=length,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
        create_constraint=False,
    )
