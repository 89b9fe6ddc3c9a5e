"""What the function mailbox's messages became (issue 13): each message is taken once.

A row is written in the same transaction that creates the message's intake batch (or records
why it was quarantined), so that a message the server still shows after a crash is recognised
by its key and only moved, never handed in twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import UTCDateTime, utcnow
from records.models import Base

MAILBOX_OUTCOMES = ("accepted", "quarantined")


class MailboxMessage(Base):
    __tablename__ = "mailbox_messages"
    __table_args__ = (
        UniqueConstraint("mailbox", "message_key"),
        CheckConstraint("outcome IN ('accepted', 'quarantined')", name="outcome"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # user@host/folder: the same message in another mailbox is another message.
    mailbox: Mapped[str] = mapped_column(String(300))
    # sha256 of the Message-ID, or of the raw message when it has none.
    message_key: Mapped[str] = mapped_column(String(80))
    message_id: Mapped[str | None] = mapped_column(String(300))
    sender: Mapped[str | None] = mapped_column(String(300))
    subject: Mapped[str | None] = mapped_column(String(300))
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str] = mapped_column(String(20))
    # German, shown to the desk (`eakte mailbox status`) for a quarantined message.
    reason: Mapped[str | None] = mapped_column(Text)
    batch_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("batches.id"), index=True)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # Set once the message was moved to the done or quarantine folder on the server.
    moved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
