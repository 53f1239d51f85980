"""Wiring of one gateway: sources -> buffer (group commit) -> uplink, plus health readings."""

from __future__ import annotations

import contextlib
import logging
import threading
from pathlib import Path

from campuswatch.clock import Clock, SystemClock, now_ms
from campuswatch.protocol import DeviceInfo
from campuswatch.worker import Worker
from gateway.buffer import Buffer
from gateway.config import GatewayConfig, ModbusProfile
from gateway.edge import EdgeAlarms
from gateway.errors import BufferFailure
from gateway.snapshot_queue import SnapshotQueue
from gateway.sources.base import RawReading, Source, make_reading
from gateway.sources.factory import build_source
from gateway.uplink import Uplink

log = logging.getLogger(__name__)

COMMIT_EVERY_S = 0.02  # group commit: one fsync for everything read in 20 ms
_CPU_TEMP = Path("/sys/class/thermal/thermal_zone0/temp")


class GatewayApp:
    """Owns the buffer, the uplink and the sources of one gateway."""

    def __init__(
        self,
        config: GatewayConfig,
        profiles: dict[str, ModbusProfile],
        clock: Clock | None = None,
    ) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.buffer = Buffer(
            config.buffer.path, config.gateway.id, int(config.buffer.max_mb * 2**20)
        )
        self.snapshots = SnapshotQueue(
            config.buffer.path.with_name(config.buffer.path.name + ".snapshots"),
            int(config.buffer.snapshot_mb * 2**20),
        )
        self.edge = self._edge(config)
        self.uplink = Uplink(
            config.uplink,
            config.gateway,
            self.buffer,
            self.device_infos,
            self.clock,
            self.snapshots,
            self.edge,
        )
        gateway = config.gateway
        self.sources: list[Source] = [
            build_source(
                source,
                profiles,
                config.timezone,
                self.clock,
                f"campus-gw-{gateway.id}-src{i}",
                self.store_snapshot,
                config.buffer.path.with_name(f"{config.buffer.path.name}.src{i}.json"),
            )
            for i, source in enumerate(config.sources)
        ]
        self._pending: list[RawReading] = []
        self._pending_lock = threading.Lock()
        self._committer = Worker("buffer-commit", self._commit)
        self._health = Worker("health", self._report_health)
        self._started = 0.0
        self.readings_read = 0

    def _edge(self, config: GatewayConfig) -> EdgeAlarms | None:
        """The edge alarms (SPEC §12), when configured."""
        if config.edge is None:
            return None
        names = {d.device: d.name or d.device for d in config.devices()}
        buffer = config.buffer.path
        path = config.edge.path or buffer.with_name(buffer.name + ".edge")
        identity = config.gateway
        return EdgeAlarms(
            config.edge,
            identity.site,
            identity.id,
            names,
            lambda: self.uplink.down_since,
            self.clock,
            path,
            config.timezone,
        )

    def device_infos(self) -> list[DeviceInfo]:
        """The meta message's device list, the gateway's own health device included."""
        every = max(1, int(self.config.health_interval.total_seconds()))
        own = DeviceInfo(device=self.config.gateway.id, kind="gateway", interval_s=every)
        return [own, *(d.info() for d in self.config.devices())]

    def emit(self, reading: RawReading) -> None:
        """Take a reading from a source (any thread); it is committed within 20 ms (and an
        alarm is told by the gateway itself while the uplink is down: see edge.py)."""
        with self._pending_lock:
            self._pending.append(reading)
            self.readings_read += 1
        if self.edge is not None:
            self.edge.observe(reading)  # never raises: see edge.py

    def store_snapshot(self, device: str, snapshot_id: str, jpeg: bytes) -> None:
        """Commit a camera snapshot (before the reading naming it) and wake the uplink."""
        self.snapshots.add(device, snapshot_id, jpeg)
        self.uplink.notify()

    def start(self) -> None:
        """Open the buffer and start publishing and reading."""
        self._started = self.clock.time()
        self.buffer.open()
        self.snapshots.open()
        if self.edge is not None:
            self.edge.start()  # before the uplink: what it told goes out first
        self.uplink.start()
        self._committer.start()
        for source in self.sources:
            source.start(self.emit)
        self._health.start()
        log.info(
            "gateway %s started: %d source(s), %d device(s), %d reading(s) waiting in the buffer",
            self.config.gateway.id,
            len(self.sources),
            len(self.config.devices()),
            self.buffer.depth,
        )

    def stop(self) -> None:
        """Stop reading, commit what was read, publish what the broker takes, close."""
        for source in self.sources:
            source.stop()
        self._health.stop()
        self._committer.stop()
        self._commit()
        self.uplink.stop()
        if self.edge is not None:
            self.edge.stop()
        depth = self.buffer.depth
        self.buffer.close()
        self.snapshots.close()
        log.info(
            "gateway %s stopped: %d reading(s) read, %d waiting in the buffer",
            self.config.gateway.id,
            self.readings_read,
            depth,
        )

    def _commit(self) -> float:
        with self._pending_lock:
            batch, self._pending = self._pending, []
        if not batch:
            return COMMIT_EVERY_S
        try:
            self.buffer.add(batch)
        except BufferFailure as exc:  # a full or failing SD card: keep them and retry
            with self._pending_lock:
                self._pending[:0] = batch
            log.error("cannot commit %d reading(s), retrying: %s", len(batch), exc)
            return 1.0
        self.uplink.notify()
        return COMMIT_EVERY_S

    def _report_health(self) -> float:
        stats = [source.stats() for source in self.sources]
        values: dict[str, float] = {
            "uptime_s": round(self.clock.time() - self._started, 1),
            "buffer_depth": float(self.buffer.depth),
            "buffer_dropped": float(self.buffer.dropped),
            "publish_errors": float(self.uplink.publish_errors),
            "read_errors": float(sum(s.get("errors", 0) for s in stats)),
            "devices_unavailable": float(sum(s.get("unavailable", 0) for s in stats)),
        }
        if self.edge is not None:
            values["edge_pending"] = float(self.edge.pending())
            values["edge_told"] = float(self.edge.told)
        with contextlib.suppress(OSError, ValueError):  # not every board has a thermal zone
            values["cpu_temp_c"] = int(_CPU_TEMP.read_text()) / 1000
        gateway = self.config.gateway.id
        self.emit(make_reading(gateway, "gateway", now_ms(self.clock), values))  # type: ignore[arg-type]
        return self.config.health_interval.total_seconds()
