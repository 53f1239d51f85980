"""What each append to the spool touched, kept in memory beside its records.

The handler notes the ``(measurement, five-minute span)`` pairs of each envelope as it
encodes it; the spool keeps them per append, and a batch read back carries those of its
records, so the writer books the derived series' changes (``ingest/storage/dirty.py``)
without reading every line again. Records appended by an earlier run of the process
(replayed after a restart), or without spans, have none: the writer reads their lines.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ingest.pipeline.spool import Position

Spans = frozenset[tuple[str, int]]  # (measurement, five-minute span since the epoch)
KEPT_SPANS = 200_000  # spans remembered (of the oldest appends beyond: lines are read)


@dataclass(frozen=True, slots=True)
class _Noted:
    """The spans of one append, from ``start`` to ``end``."""

    start: Position
    end: Position
    spans: Spans


def merge_spans(first: Spans | None, second: Spans | None) -> Spans | None:
    """The spans of two batches read one after the other."""
    return None if first is None or second is None else first | second


class NotedSpans:
    """The spans of the appends not yet read past, in spool order (the spool's lock
    guards it)."""

    def __init__(self) -> None:
        self._noted: deque[_Noted] = deque()
        self._count = 0  # spans held, at most about KEPT_SPANS

    def note(self, start: Position, end: Position, spans: Spans) -> None:
        """An append of ``[start, end)``; the oldest are forgotten beyond ``KEPT_SPANS``."""
        self._noted.append(_Noted(start, end, spans))
        self._count += len(spans)
        while self._count > KEPT_SPANS and len(self._noted) > 1:
            self._count -= len(self._noted.popleft().spans)

    def of(self, start: Position, end: Position) -> Spans | None:
        """The spans noted for ``[start, end)``; None when part of it has none. An append
        read in part gives all its spans: booking a span early is harmless, it is booked
        again once the rest is written."""
        spans: set[tuple[str, int]] = set()
        covered = start
        for noted in self._noted:
            if noted.end <= start:
                continue
            if noted.start >= end:
                break
            if noted.start > covered:  # a gap: records appended without spans
                return None
            spans |= noted.spans
            covered = max(covered, noted.end)
        return frozenset(spans) if covered >= end else None

    def forget_before(self, position: Position) -> None:
        """The reader committed ``position``: appends that end before it are done."""
        while self._noted and self._noted[0].end <= position:
            self._count -= len(self._noted.popleft().spans)
