"""What the ingest subscribes to: its own sites' topics only (SPEC §13 partitioning).

Several ingest processes share one broker (cluster), each serving ``site.id`` and
``site.also_serves``; each subscribes to ``ROOT/SITE/+/CHANNEL`` of its sites and never to
``ROOT/+/…``, so it does not even receive the other sites' messages. The session is
persistent, so the broker keeps what an earlier configuration subscribed to: the filters
subscribed last are kept in ``state_dir/subscriptions.json``, and whatever is no longer
wanted (a site moved to another process, the all-sites filters of older versions) is
unsubscribed at the next connection.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path

import orjson

from campuswatch.atomicfile import write_atomic
from campuswatch.protocol import CHANNELS, SNAPSHOTS

log = logging.getLogger(__name__)

PICTURES = f"{SNAPSHOTS}/+/+"  # a snapshot's topic: its camera and its id
MAX_BOOKED = 10_000  # filters read back from the book at most


def site_filters(root: str, sites: Sequence[str]) -> list[str]:
    """The topic filters of ``sites``: each channel, and the camera snapshots."""
    return [f"{root}/{site}/+/{channel}" for site in sites for channel in (*CHANNELS, PICTURES)]


def all_site_filters(root: str) -> list[str]:
    """What versions before partitioning subscribed to."""
    return [f"{root}/+/+/{channel}" for channel in (*CHANNELS, PICTURES)]


class Subscriptions:
    """The filters to subscribe to, and those an earlier run left in the session."""

    def __init__(self, root: str, sites: Sequence[str], book: Path) -> None:
        self.filters = site_filters(root, sites)
        self._legacy = all_site_filters(root)
        self._book = book
        # What this service can have subscribed to: anything else in the book is damage.
        channels = "|".join(re.escape(c) for c in (*CHANNELS, PICTURES))
        self._ours = re.compile(f"{re.escape(root)}/[a-z0-9][a-z0-9-]{{0,62}}/\\+/({channels})")

    def stale(self) -> list[str]:
        """Filters the session may still hold that this configuration does not want."""
        earlier = self._earlier()
        if earlier is None:  # no book yet: an earlier version's all-sites filters
            earlier = set(self._legacy)
        return sorted(earlier - set(self.filters))

    def _earlier(self) -> set[str] | None:
        """The filters of the book; those not ours are left out (and said)."""
        if not self._book.exists():
            return None
        try:
            saved = orjson.loads(self._book.read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            log.warning("%s is unreadable (%s); old subscriptions may linger", self._book, exc)
            return set(self._legacy)
        entries = saved if isinstance(saved, list) else [saved]
        ours = {f for f in entries[:MAX_BOOKED] if isinstance(f, str) and self._ours.fullmatch(f)}
        if len(ours) != len(entries):
            ignored = len(entries) - len(ours)
            log.warning("%s: %d entries ignored (not this service's filters)", self._book, ignored)
        return ours

    def save(self) -> None:
        """Remember what is subscribed now (once the broker confirmed it)."""
        try:
            write_atomic(self._book, orjson.dumps(self.filters))
        except OSError as exc:  # a full disk: the next start unsubscribes the legacy ones only
            log.warning("cannot save %s: %s", self._book, exc)
