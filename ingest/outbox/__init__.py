"""The notification outbox: what rules, reports and duty records queue to tell people,
and what ``notify/`` delivers from (see queue.py)."""

from ingest.outbox.notification import LATER, REPORT, Notification, priority
from ingest.outbox.queue import Outbox, OutboxItem

__all__ = ["LATER", "REPORT", "Notification", "Outbox", "OutboxItem", "priority"]
