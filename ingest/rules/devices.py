"""The rules engine's devices: tags and name from the gateway's meta, and the rules that
watch each one (recomputed whenever a meta message changed the registry)."""

from __future__ import annotations

from campuswatch.protocol import DEFAULT_INTERVAL_S
from ingest.registry import Registry
from ingest.rules.state import CompiledRule, WatchedDevice


class DeviceBook:
    """Devices by (site, gateway, device); not thread-safe (the engine's lock guards it)."""

    def __init__(
        self,
        registry: Registry,
        condition_rules: list[CompiledRule],
        silent_rules: list[CompiledRule],
    ) -> None:
        self.registry = registry
        self.condition_rules = condition_rules
        self.silent_rules = silent_rules
        # By DeviceRef; the per-reading path looks up with an equal plain tuple.
        self._devices: dict[tuple[str, str, str], WatchedDevice] = {}

    def get(self, site: str, gateway: str, device: str, kind: str) -> WatchedDevice:
        """The device's state, refreshed if its meta (or its kind) changed since."""
        dev = self._devices.get((site, gateway, device))
        version = self.registry.meta_version
        if dev is not None and dev.meta_version == version and dev.kind == kind:
            return dev
        fresh = self._describe(site, gateway, device, kind, version)
        if dev is not None:
            fresh.last_ts, fresh.heard_ms, fresh.values = dev.last_ts, dev.heard_ms, dev.values
        self._devices[(site, gateway, device)] = fresh
        return fresh

    def restore(self, now_ms: int) -> None:
        """After a restart: every device the registry knows, as it was last heard."""
        for known in self.registry.devices():
            dev = self.get(known.site, known.gateway, known.device, known.kind)
            seen = known.last_seen_ms
            dev.last_ts = min(seen, now_ms) if seen is not None else None  # never ahead
            dev.values = dict(known.values)

    def find(self, key: tuple[str, str, str]) -> WatchedDevice | None:
        """A device seen before (refreshed like :meth:`get`), or None."""
        dev = self._devices.get(key)
        return self.get(*key, dev.kind) if dev is not None else None

    def all(self) -> list[WatchedDevice]:
        """Every device seen (a copy of the list: callers may change the book)."""
        return list(self._devices.values())

    def forget(self, key: tuple[str, str, str]) -> None:
        """Drop a device its gateway no longer has."""
        self._devices.pop(key, None)

    def _describe(
        self, site: str, gateway: str, device: str, kind: str, version: int
    ) -> WatchedDevice:
        info = self.registry.device_info(site, gateway, device)
        tags = dict(info.tags) if info else {}
        tags.update(site=site, gateway=gateway, device=device)
        return WatchedDevice(
            site,
            gateway,
            device,
            kind,
            tags,
            info.name if info else None,
            (info.interval_s if info else DEFAULT_INTERVAL_S) * 1000,
            version,
            condition_rules=[r for r in self.condition_rules if r.wants(kind, tags)],
            silent_rules=[r for r in self.silent_rules if r.wants(kind, tags)],
        )

    @staticmethod
    def watches(dev: WatchedDevice, rule: CompiledRule) -> bool:
        """Whether ``rule`` still applies to ``dev`` (its kind and tags)."""
        return rule in dev.condition_rules or rule in dev.silent_rules
