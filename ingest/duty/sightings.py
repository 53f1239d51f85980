"""When the sensors of a place saw someone: its motion sensors' ``motion: true`` and its
door contacts' ``open: true`` readings, from InfluxDB (what confirms a round's scan)."""

from __future__ import annotations

import logging

from ingest.config.places import in_place
from ingest.errors import StorageError
from ingest.registry import Registry
from ingest.storage.influx import InfluxClient, quote_string

log = logging.getLogger(__name__)
WITNESSES = {"motion": "motion", "door": "open"}  # kind -> the field that saw someone


class PlaceSightings:
    """Reads sightings of places (``building`` or ``building/room``)."""

    def __init__(self, registry: Registry, influx: InfluxClient) -> None:
        self.registry = registry
        self.influx = influx

    def __call__(self, places: set[str], start_ms: int, end_ms: int) -> dict[str, list[int]]:
        """For each place with witnesses, the times (ms) they saw someone."""
        where: dict[str, set[str]] = {}  # device -> its places among ``places``
        kinds: dict[str, str] = {}
        for dev in self.registry.devices():
            if dev.kind not in WITNESSES or dev.info is None:
                continue
            tags = dev.info.tags
            found = {p for p in places if in_place(tags, p)}
            if found:
                where[dev.device] = found
                kinds[dev.device] = dev.kind
        seen: dict[str, list[int]] = {p: [] for devices in where.values() for p in devices}
        if not where:
            return seen
        try:
            for kind, field in WITNESSES.items():
                devices = [d for d, k in kinds.items() if k == kind]
                if devices:
                    self._read(kind, field, devices, start_ms, end_ms, where, seen)
        except StorageError as exc:
            log.warning("round sightings cannot be read now: %s", exc)
            return {}
        return seen

    def _read(
        self,
        kind: str,
        field: str,
        devices: list[str],
        start_ms: int,
        end_ms: int,
        where: dict[str, set[str]],
        seen: dict[str, list[int]],
    ) -> None:
        names = " OR ".join(f"device = {quote_string(d)}" for d in devices)
        rows = self.influx.query(
            f'SELECT "{field}", device FROM {kind}'  # noqa: S608 (fixed names, quoted literals)
            f" WHERE ({names}) AND time >= {start_ms}ms AND time <= {end_ms}ms"
        )
        for row in rows:
            if row.get(field) is True:
                for place in where.get(str(row.get("device")), set()):
                    seen[place].append(int(row["time"]))
