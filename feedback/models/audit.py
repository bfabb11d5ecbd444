"""The audit log: what admins, recruiters and operators did (imports, exports, reviews, erasure)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..timeutil import utcnow
from .base import UTCDateTime


class AuditEvent(db.Model):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    # Who acted, as shown: a login's address, or "cli" for an operator at the command line.
    actor: Mapped[str] = mapped_column(sa.String(320))
    action: Mapped[str] = mapped_column(sa.String(60), index=True)
    target: Mapped[str | None] = mapped_column(sa.String(300))
    details: Mapped[dict | None] = mapped_column(sa.JSON)
