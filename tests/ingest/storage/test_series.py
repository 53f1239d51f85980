"""Series heads: escaped as line protocol wants, kept per gateway, and never more than
``HEADS_PER_GATEWAY`` of one gateway (a gateway inventing device ids)."""

from __future__ import annotations

from ingest.storage.series import HEADS_PER_GATEWAY, SeriesHeads


class Facts:
    """A registry's facts: no meta tags, the meta never changes."""

    meta_version = 0

    def series_tags(self, site: str, gateway: str, device: str) -> dict[str, str]:
        return {"site": site, "gateway": gateway, "device": device, "room": ""}


def test_heads_are_escaped_and_sorted() -> None:
    heads = SeriesHeads(Facts())
    assert (
        heads.head("s", "gw-1", "门 1,东", "door") == "door,device=门\\ 1\\,东,gateway=gw-1,site=s"
    )


def test_a_gateway_inventing_device_ids_keeps_a_bounded_cache() -> None:
    heads = SeriesHeads(Facts())
    for n in range(3 * HEADS_PER_GATEWAY):
        assert heads.head("s", "gw-1", f"made-up-{n}", "door").startswith("door,device=made-up-")
        assert len(heads.of_gateway("s", "gw-1")) <= HEADS_PER_GATEWAY
    heads.head("s", "gw-2", "d-1", "door")
    assert heads.of_gateway("s", "gw-2") == {("d-1", "door"): "door,device=d-1,gateway=gw-2,site=s"}
