"""The line-protocol head of each device's series: ``measurement,tag=value,...``.

A storage job (the escaping rules are line protocol's), fed by the registry's facts: the
device's meta tags plus ``site``, ``gateway`` and ``device``. Heads are cached per
device and kind and dropped whenever any gateway's meta changes (rare), so the hot path
pays one dictionary lookup per reading.
"""

from __future__ import annotations

from typing import Protocol

from ingest.storage.lineprotocol import escape_measurement, escape_tag

# Heads kept of one gateway: its devices (500 at most are tracked) under any kinds they
# report, with room to spare; a gateway inventing device ids cannot grow it further.
HEADS_PER_GATEWAY = 5000


class DeviceFacts(Protocol):
    """What the series need of the registry."""

    meta_version: int  # moves whenever a gateway's device list (and so its tags) changes

    def series_tags(self, site: str, gateway: str, device: str) -> dict[str, str]:
        """The tags of a device's series."""
        ...


class SeriesHeads:
    """Escaped series heads of devices, for one thread (the MQTT handler's)."""

    def __init__(self, facts: DeviceFacts) -> None:
        self.facts = facts
        # (site, gateway) -> (device, kind) -> head: an envelope finds its gateway's once
        self._heads: dict[tuple[str, str], dict[tuple[str, str], str]] = {}
        self._version = facts.meta_version

    def of_gateway(self, site: str, gateway: str) -> dict[tuple[str, str], str]:
        """The heads known of a gateway's devices by ``(device, kind)``; look up there
        first, then :meth:`head` (which adds to it). Up to date while no gateway's meta
        changes, which happens on this same thread."""
        if self._version != self.facts.meta_version:
            self._heads, self._version = {}, self.facts.meta_version
        known = self._heads.get((site, gateway))
        if known is None:
            known = self._heads[(site, gateway)] = {}
        elif len(known) >= HEADS_PER_GATEWAY:  # made-up device ids: start again
            known.clear()
        return known

    def head(self, site: str, gateway: str, device: str, kind: str) -> str:
        """``measurement,tag=value,...`` of a device's series (tags sorted, empty left out)."""
        known = self.of_gateway(site, gateway)
        head = known.get((device, kind))
        if head is None:
            tags = self.facts.series_tags(site, gateway, device)
            head = escape_measurement(kind) + "".join(
                f",{escape_tag(k)}={escape_tag(tags[k])}" for k in sorted(tags) if tags[k]
            )
            known[(device, kind)] = head
        return head
