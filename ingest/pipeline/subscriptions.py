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
from collections.abc import Sequence
from pathlib import Path

import orjson

from campuswatch.atomicfile import write_atomic

log = logging.getLogger(__name__)

CHANNELS = ("readings", "meta", "status", "edge")
SNAPSHOTS = "snapshots/+/+"


def site_filters(root: str, sites: Sequence[str]) -> list[str]:
    """The topic filters of ``sites``: each channel, and the camera snapshots."""
    return [f"{root}/{site}/+/{channel}" for site in sites for channel in (*CHANNELS, SNAPSHOTS)]


def all_site_filters(root: str) -> list[str]:
    """What versions before partitioning subscribed to."""
    return [f"{root}/+/+/{channel}" for channel in (*CHANNELS, SNAPSHOTS)]


class Subscriptions:
    """The filters to subscribe to, and those an earlier run left in the session."""

    def __init__(self, root: str, sites: Sequence[str], book: Path | None) -> None:
        self.filters = site_filters(root, sites)
        self._legacy = all_site_filters(root)
        self._book = book

    def stale(self) -> list[str]:
        """Filters the session may still hold that this configuration does not want."""
        earlier = set(self._legacy)
        if self._book is not None and self._book.exists():
            try:
                earlier.update(str(f) for f in orjson.loads(self._book.read_bytes()))
            except (OSError, orjson.JSONDecodeError, TypeError) as exc:
                log.warning("%s is unreadable (%s); old subscriptions may linger", self._book, exc)
        return sorted(earlier - set(self.filters))

    def save(self) -> None:
        """Remember what is subscribed now (once the broker confirmed it)."""
        if self._book is None:
            return
        try:
            write_atomic(self._book, orjson.dumps(self.filters))
        except OSError as exc:  # a full disk: the next start unsubscribes the legacy ones only
            log.warning("cannot save %s: %s", self._book, exc)
