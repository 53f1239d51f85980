"""What the ingest knows about gateways and devices: meta, status, sequence and last values.

Fed from the live MQTT stream; read by the storage path (series tags from meta), the API
(``/api/devices``), the rules engine and the reports. Gateways are keyed by (site,
gateway) and devices by (site, gateway, device): two campuses may both have a ``gw-gate``.
Saved to ``state_dir/registry.json`` so device tags survive a restart even before the
retained meta messages arrive again; each gateway's last ``seq`` also to ``seqs.json``
before every acknowledgement, so a restart never takes the envelopes acknowledged since
the last full save for missing ones.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from campuswatch.atomicfile import write_atomic
from campuswatch.clock import Clock
from campuswatch.protocol import DEFAULT_INTERVAL_S, DeviceInfo, FieldValue, Status
from campuswatch.protocol.readings import Reading

log = logging.getLogger(__name__)

OFFLINE_AFTER_INTERVALS = 3  # a device silent for 3 x interval_s is shown offline
# More envelopes than a gateway sends in a week (one per 60 ms): a bigger jump of seq is
# a reset (a new buffer starts from the clock in ms; a forged number), not envelopes lost.
MAX_SEQ_JUMP = 10_000_000
GatewayKey = tuple[str, str]  # (site, gateway)


@dataclass(slots=True)
class KnownDevice:
    """Last known state of one device."""

    device: str
    kind: str
    gateway: str
    site: str
    info: DeviceInfo | None = None
    last_seen_ms: int | None = None
    values: dict[str, FieldValue] = field(default_factory=dict)


@dataclass(slots=True)
class GatewayState:
    """Last known state of one gateway."""

    site: str
    gateway: str
    status: str | None = None
    status_ts: int | None = None
    last_seq: int | None = None
    devices: dict[str, DeviceInfo] = field(default_factory=dict)  # from its meta
    tracked: set[str] = field(default_factory=set)  # every device known, meta or readings


@dataclass(frozen=True, slots=True)
class SeqCheck:
    """How an envelope's seq relates to the last one: ``missing`` > 0 means a gap,
    ``reset`` a jump too far to be envelopes lost (a new buffer, or a forged number)."""

    missing: int = 0
    repeat: bool = False
    reset: bool = False


# The usual answers, made once (one per envelope cost half a microsecond).
_IN_ORDER, _REPEAT, _RESET = SeqCheck(), SeqCheck(repeat=True), SeqCheck(reset=True)


class Registry:
    """Thread-safe store of gateways and devices, at most ``max_devices`` per gateway."""

    def __init__(self, path: Path, clock: Clock, max_devices: int = 500) -> None:
        self.path = path
        self.clock = clock
        self.max_devices = max_devices
        self._lock = threading.Lock()
        self._gateways: dict[GatewayKey, GatewayState] = {}
        # By DeviceRef; hot paths look up with an equal plain tuple.
        self._devices: dict[tuple[str, str, str], KnownDevice] = {}
        self._dirty = False  # last values or seq changed: saved every few seconds
        self._meta_dirty = False  # meta or status changed: saved before acknowledging
        self._last_save = 0.0
        self._seqs_dirty = False  # a last seq changed since seqs.json was written
        self.seqs_path = path.with_name("seqs.json")
        self.meta_version = 0  # bumped on every meta change, so readers can refresh caches

    # ------------------------------------------------------------------ updates

    def _gateway(self, site: str, gateway: str) -> GatewayState:
        state = self._gateways.get((site, gateway))
        if state is None:
            state = self._gateways[(site, gateway)] = GatewayState(site, gateway)
        return state

    def update_meta(self, site: str, gateway: str, devices: list[DeviceInfo]) -> set[str]:
        """Replace a gateway's device list (from its retained meta message); returns the
        devices the previous list had and this one has not, which are forgotten."""
        with self._lock:
            state = self._gateway(site, gateway)
            removed = set(state.devices).difference(d.device for d in devices)
            for device in removed:
                self._devices.pop((site, gateway, device), None)
            state.tracked -= removed
            state.devices = {}
            for info in devices[: self.max_devices]:
                state.devices[info.device] = info
                dev = self._device(site, gateway, info.device, info.kind)
                if dev is not None:
                    dev.info, dev.kind = info, info.kind
            self._meta_dirty = True
            self.meta_version += 1
            return removed

    def forget_gateway(self, site: str, gateway: str) -> set[str]:
        """A gateway taken out of service (its retained meta cleared): forget it and its
        devices; returns the devices forgotten."""
        with self._lock:
            state = self._gateways.pop((site, gateway), None)
            removed = set(state.tracked) | set(state.devices) if state else set()
            for device in removed:
                self._devices.pop((site, gateway, device), None)
            self._meta_dirty = self._seqs_dirty = True
            self.meta_version += 1
            return removed

    def update_status(self, site: str, gateway: str, status: Status) -> None:
        """Record a gateway's status (online, offline from its last will, stopped)."""
        with self._lock:
            state = self._gateway(site, gateway)
            state.status, state.status_ts = status.state, status.ts
            self._meta_dirty = True

    def check_seq(self, site: str, gateway: str, seq: int) -> SeqCheck:
        """Compare ``seq`` with the gateway's last envelope and remember the higher one."""
        with self._lock:
            state = self._gateway(site, gateway)
            last = state.last_seq
            if last is not None and abs(seq - last) > MAX_SEQ_JUMP:
                state.last_seq = seq  # count from here on
                self._dirty = self._seqs_dirty = True
                return _RESET
            if last is not None and seq <= last:
                return _REPEAT
            state.last_seq = seq
            self._dirty = self._seqs_dirty = True
            return _IN_ORDER if last is None or seq == last + 1 else SeqCheck(seq - last - 1)

    def _device(self, site: str, gateway: str, device: str, kind: str) -> KnownDevice | None:
        """The device's state, created if its gateway is below ``max_devices``."""
        dev = self._devices.get((site, gateway, device))
        if dev is None:
            gw = self._gateway(site, gateway)
            if len(gw.tracked) >= self.max_devices:
                return None
            gw.tracked.add(device)
            dev = self._devices[(site, gateway, device)] = KnownDevice(device, kind, gateway, site)
        return dev

    def observe(self, site: str, gateway: str, readings: Iterable[Reading]) -> set[str]:
        """Keep the newest values of each device (older, late readings never overwrite);
        returns the devices not tracked because their gateway has ``max_devices`` already
        (their readings are stored all the same). A reading stamped ahead of our clock
        counts as seen now: a gateway clock that jumped ahead must not freeze the board."""
        untracked: set[str] = set()
        now = int(self.clock.time() * 1000)
        devices = self._devices
        with self._lock:
            for reading in readings:
                dev = devices.get((site, gateway, reading.device)) or self._device(
                    site, gateway, reading.device, reading.kind
                )
                ts = reading.ts if reading.ts <= now else now  # hot path: no min() call
                if dev is None:
                    untracked.add(reading.device)
                elif dev.last_seen_ms is None or ts >= dev.last_seen_ms:
                    dev.last_seen_ms = ts
                    dev.kind = reading.kind
                    dev.values.update(reading.values)
            self._dirty = True
        return untracked

    # ------------------------------------------------------------------ storage tags

    def series_tags(self, site: str, gateway: str, device: str) -> dict[str, str]:
        """The tags of a device's series: its meta tags, its site, gateway and id."""
        with self._lock:
            gw = self._gateways.get((site, gateway))
            info = gw.devices.get(device) if gw else None
            tags = dict(info.tags) if info else {}
        tags.update(site=site, gateway=gateway, device=device)
        return tags

    # ------------------------------------------------------------------ queries

    def device_info(self, site: str, gateway: str, device: str) -> DeviceInfo | None:
        """A device's meta entry, if its gateway announced it."""
        with self._lock:
            gw = self._gateways.get((site, gateway))
            return gw.devices.get(device) if gw else None

    def device(self, site: str, gateway: str, device: str) -> KnownDevice | None:
        """A copy of one device's state."""
        with self._lock:
            dev = self._devices.get((site, gateway, device))
            return _copy(dev) if dev else None

    def devices(self) -> list[KnownDevice]:
        """Copies of every known device's state."""
        with self._lock:
            return [_copy(d) for d in self._devices.values()]

    def gateway_status(self) -> dict[GatewayKey, str | None]:
        """Every known gateway's last status, by (site, gateway)."""
        with self._lock:
            return {key: g.status for key, g in self._gateways.items()}

    def device_rows(self) -> list[dict[str, Any]]:
        """Devices for ``/api/devices``, also those known only from meta."""
        now_ms = int(self.clock.time() * 1000)
        with self._lock:
            return [self._row(dev, now_ms) for dev in self._devices.values()]

    def _row(self, dev: KnownDevice, now_ms: int) -> dict[str, Any]:
        info = dev.info
        interval_s = info.interval_s if info else DEFAULT_INTERVAL_S
        gw = self._gateways.get((dev.site, dev.gateway))
        gateway_up = gw is None or gw.status in (None, "online")
        fresh = (
            dev.last_seen_ms is not None
            and now_ms - dev.last_seen_ms <= OFFLINE_AFTER_INTERVALS * interval_s * 1000
        )
        return {
            "device": dev.device,
            "kind": dev.kind,
            "gateway": dev.gateway,
            "site": dev.site,
            "name": info.name if info else None,
            "tags": dict(info.tags) if info else {},
            "interval_s": interval_s,
            "online": bool(gateway_up and fresh),
            "last_seen_ms": dev.last_seen_ms,
            "values": dict(dev.values),
        }

    # ------------------------------------------------------------------ persistence

    def save_if_needed(self, min_interval_s: float = 2.0) -> None:
        """Save at once after a meta/status change, else at most every ``min_interval_s``."""
        if self._meta_dirty or (
            self._dirty and self.clock.time() - self._last_save >= min_interval_s
        ):
            self.save()

    def save(self) -> None:
        """Write the registry atomically (fsynced)."""
        with self._lock:
            doc = {
                "gateways": [
                    {
                        "site": g.site,
                        "gateway": g.gateway,
                        "status": g.status,
                        "status_ts": g.status_ts,
                        "last_seq": g.last_seq,
                        "devices": [d.model_dump() for d in g.devices.values()],
                    }
                    for g in self._gateways.values()
                ],
                "devices": [
                    {
                        "site": d.site,
                        "gateway": d.gateway,
                        "device": d.device,
                        "kind": d.kind,
                        "last_seen_ms": d.last_seen_ms,
                        "values": d.values,
                    }
                    for d in self._devices.values()
                ],
            }
            meta_dirty, self._dirty, self._meta_dirty = self._meta_dirty, False, False
            self._last_save = self.clock.time()
        try:
            write_atomic(self.path, orjson.dumps(doc))
        except OSError:
            with self._lock:  # saved again on the next call
                self._dirty, self._meta_dirty = True, self._meta_dirty or meta_dirty
            raise

    def save_seqs(self) -> None:
        """Write each gateway's last ``seq`` (small, so before every acknowledgement; not
        fsync'd: it outlives a crash of the process, a power cut may cost a false gap)."""
        with self._lock:
            if not self._seqs_dirty:
                return
            doc = [[g.site, g.gateway, g.last_seq] for g in self._gateways.values()]
            self._seqs_dirty = False
        try:
            write_atomic(self.seqs_path, orjson.dumps(doc), durable=False)
        except OSError:
            self._seqs_dirty = True
            raise

    def load(self) -> None:
        """Load the saved registry, if any; an unreadable file is logged and ignored."""
        self._load_registry()
        self._load_seqs()

    def _load_seqs(self) -> None:
        """The last ``seq`` of each gateway, newer than the registry's own."""
        try:
            for site, gateway, last_seq in orjson.loads(self.seqs_path.read_bytes()):
                state = self._gateways.get((site, gateway))  # a gateway forgotten stays so
                if state is not None and (last_seq is None or isinstance(last_seq, int)):
                    state.last_seq = last_seq
        except FileNotFoundError:
            return
        except (OSError, orjson.JSONDecodeError, TypeError, ValueError) as exc:
            log.warning("%s unreadable, the registry's seqs are used: %s", self.seqs_path, exc)

    def _load_registry(self) -> None:
        if not self.path.exists():
            return
        try:
            doc = orjson.loads(self.path.read_bytes())
            for g in doc["gateways"]:
                state = self._gateway(g["site"], g["gateway"])
                state.status, state.status_ts, state.last_seq = (
                    g["status"],
                    g["status_ts"],
                    g["last_seq"],
                )
                self.update_meta(
                    g["site"], g["gateway"], [DeviceInfo.model_validate(d) for d in g["devices"]]
                )
            for d in doc["devices"]:
                dev = self._device(d["site"], d["gateway"], d["device"], d["kind"])
                if dev is not None:
                    dev.last_seen_ms, dev.values = d["last_seen_ms"], d["values"]
                    if dev.last_seen_ms is not None:  # saved before times were capped at now
                        dev.last_seen_ms = min(dev.last_seen_ms, int(self.clock.time() * 1000))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            log.warning("registry %s unreadable, starting empty: %s", self.path, exc)


def _copy(dev: KnownDevice) -> KnownDevice:
    return KnownDevice(
        dev.device, dev.kind, dev.gateway, dev.site, dev.info, dev.last_seen_ms, dict(dev.values)
    )
