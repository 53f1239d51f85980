"""Drain the spool into InfluxDB in batches, in order, never skipping a record.

- Connection errors, timeouts and 5xx: retry the same batch with capped exponential
  backoff and jitter, for as long as it takes; the spool holds everything meanwhile.
- 404 "database not found": create it, then retry (backing off if that fails too).
- 400 (a field type conflict or a line InfluxDB cannot parse), or any other failure
  that is the batch's own (a line whose hours cannot be booked): InfluxDB 1.x keeps the
  good points of a partial write, but which lines failed is not reported reliably, so
  the batch is split in halves and rewritten until each bad line stands alone and is
  dead-lettered with its reason; the writer never retries a bad batch for ever.
  Rewriting good points is harmless: a point with the same series and time overwrites
  itself.
- 401/403: credentials are wrong; back off and say so until an operator fixes them.

Each stored batch's hours are booked in the dirty book (``ingest/storage/dirty.py``)
before the spool's cursor moves past it, so the derived series follow every write.
"""

from __future__ import annotations

import logging
import time

from campuswatch.backoff import Backoff
from campuswatch.quietlog import QuietLog
from campuswatch.worker import Worker
from ingest.errors import (
    InfluxBadRequest,
    InfluxDatabaseMissing,
    InfluxRejected,
    InfluxUnavailable,
    StorageError,
)
from ingest.metrics import Metrics
from ingest.pipeline.deadletters import DeadLetter, DeadLetterStore
from ingest.pipeline.spool import Spool, SpoolBatch
from ingest.pipeline.spoolspans import Spans, merge_spans
from ingest.storage.dirty import DirtyHours
from ingest.storage.influx import InfluxClient

log = logging.getLogger(__name__)

# Failures of the storage path itself, not of the batch: the same batch is tried again
# with backoff. OSError: the dirty book cannot be saved (a full disk).
_RETRY = (InfluxUnavailable, InfluxDatabaseMissing, InfluxRejected, OSError)


class InfluxWriter:
    """The single consumer of the spool."""

    def __init__(
        self,
        client: InfluxClient,
        spool: Spool,
        dead_letters: DeadLetterStore,
        metrics: Metrics,
        *,
        batch_bytes: int = 2 << 20,
        linger_s: float = 0.05,
        backoff: Backoff | None = None,
        dirty: DirtyHours | None = None,
    ) -> None:
        self.client = client
        self.spool = spool
        self.dead_letters = dead_letters
        self.metrics = metrics
        self.batch_bytes = batch_bytes
        self.linger_s = linger_s
        self.backoff = backoff or Backoff(base=0.5, cap=10.0)
        self.dirty = dirty
        self.healthy = False
        self._worker = Worker("influx-writer", self._drain_once)
        self._down_since: float | None = None
        self._refused_log = QuietLog(log, logging.ERROR)
        self._caught_up_s = time.monotonic()  # last time nothing waited, or a batch went

    def start(self) -> None:
        """Create the database when possible and start draining."""
        try:
            self.client.create_database()
            self.healthy = True
        except StorageError as exc:
            log.warning(
                "cannot create database %r yet (%s); will retry while writing",
                self.client.database,
                exc,
            )
        self._worker.start()

    def stop(self) -> None:
        """Stop after the batch in hand (or at once if InfluxDB is failing)."""
        self._worker.stop(timeout=None)

    def _drain_once(self) -> float:
        """Write the next batch of the spool (the worker's step)."""
        batch = self._next_batch()
        if batch is None:
            self._caught_up_s = time.monotonic()
        elif self._write_batch(batch):
            self.spool.commit(batch.end)
            self._caught_up_s = time.monotonic()
            self.metrics.spool_bytes.set(self.spool.pending_bytes())
        return 0.0

    def pending_age_s(self) -> float:
        """How long readings have waited in the spool without one batch going to InfluxDB."""
        return time.monotonic() - self._caught_up_s if self.spool.pending_bytes() else 0.0

    def _next_batch(self) -> SpoolBatch | None:
        """Read a batch, lingering up to ``linger_s`` for more when it is small.

        Fewer, larger writes cost InfluxDB and this process far less per point; the
        linger delays storage (never alerts, which see readings before the spool).
        """
        batch = self.spool.read(self.batch_bytes, timeout=0.5)
        if batch is None:
            return None
        size = sum(len(r) for r in batch.records)
        if size >= self.batch_bytes // 2:
            return batch
        # One wait and one more read: under load each read costs a wait for the GIL.
        self._worker.wait(self.linger_s)
        more = self.spool.read(self.batch_bytes - size, timeout=0, start=batch.end)
        if more is None:
            return batch
        return SpoolBatch(
            batch.records + more.records, more.end, merge_spans(batch.spans, more.spans)
        )

    def _write_batch(self, batch: SpoolBatch) -> bool:
        """Store a batch (written and its hours booked) until it is stored or its bad
        lines are dead-lettered; False only when stopping."""
        while not self._worker.stopping:
            try:
                self._store_or_split(batch.records, batch.spans)
            except InfluxDatabaseMissing as exc:
                self._failed(exc)
                self._try_create_database()
                continue
            except _RETRY as exc:
                self._failed(exc)
                continue
            self._recovered()
            return True
        return False

    def _store(self, records: list[bytes], spans: Spans | None) -> None:
        """Write records (lines of line protocol) to InfluxDB, then book what changed
        (before the cursor moves past them: a crash writes and books them again);
        ``spans`` None: read it from the lines."""
        body = b"\n".join(records)
        started = time.perf_counter()
        self.client.write(body)
        self.metrics.write_seconds.observe(time.perf_counter() - started)
        self.metrics.batches.inc()
        self.metrics.readings_stored.inc(body.count(b"\n") + 1)
        if self.dirty is None:
            return
        if spans is None:
            self.dirty.track([body])
        else:
            self.dirty.book(spans)

    def _store_or_split(self, records: list[bytes], spans: Spans | None = None) -> None:
        """Store records; when that fails for any reason but an outage (InfluxDB refuses
        a line, a line that cannot be booked, a bug), bisect until each bad line stands
        alone and dead-letter it with the reason, so one bad reading never holds up the
        readings behind it. An outage during the split raises: the whole batch is tried
        again later (rewriting stored points is harmless: they overwrite themselves)."""
        try:
            self._store(records, spans)
        except _RETRY:
            raise
        except Exception as exc:  # noqa: BLE001 (anything else is the batch's own fault)
            if len(records) == 1 and b"\n" in records[0]:  # a record of several lines
                records = records[0].split(b"\n")
            if len(records) > 1:
                half = len(records) // 2
                self._store_or_split(records[:half])
                self._store_or_split(records[half:])
            else:
                self._dead_letter(records[0], exc)

    def _dead_letter(self, line: bytes, exc: Exception) -> None:
        reason = "influx_rejected" if isinstance(exc, InfluxBadRequest) else "not_storable"
        self.metrics.write_errors.labels("rejected_point").inc()
        self.metrics.dead_letters.inc()
        self._refused_log.log("a point cannot be stored, dead-lettered (%s): %s", reason, exc)
        detail = str(exc) if isinstance(exc, StorageError) else f"{type(exc).__name__}: {exc}"
        self.dead_letters.write([DeadLetter("influx", reason, detail, line)])

    def _try_create_database(self) -> None:
        try:
            self.client.create_database()
            log.warning("created missing InfluxDB database %r", self.client.database)
        except StorageError as exc:
            log.error("cannot create InfluxDB database %r: %s", self.client.database, exc)

    def _failed(self, exc: StorageError | OSError) -> None:
        self.metrics.write_errors.labels(type(exc).__name__).inc()
        self.metrics.influx_up.set(0)
        now = time.monotonic()
        if self.healthy or self._down_since is None:
            self._down_since = now
            log.error("InfluxDB write failed, readings wait in the spool: %s", exc)
        else:
            log.debug("InfluxDB still failing: %s", exc)
        self.healthy = False
        delay = self.backoff.next_delay()
        if self.backoff.failures % 10 == 0:
            log.warning(
                "InfluxDB unavailable for %.0f s (%s); %d bytes spooled",
                now - self._down_since,
                exc,
                self.spool.pending_bytes(),
            )
        self._worker.wait(delay)

    def _recovered(self) -> None:
        if not self.healthy and self._down_since is not None:
            log.warning(
                "InfluxDB writes succeed again after %.1f s; draining %d spooled bytes",
                time.monotonic() - self._down_since,
                self.spool.pending_bytes(),
            )
            self._down_since = None
        self.healthy = True
        self.metrics.influx_up.set(1)
        self.backoff.reset()
