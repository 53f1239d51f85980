"""What the ingest subscribes to and unsubscribes from its session (SPEC §13), also when
the book of the last run is damaged or written by someone else."""

from __future__ import annotations

from pathlib import Path

import orjson

from ingest.pipeline.subscriptions import Subscriptions, all_site_filters, site_filters


def test_stale_filters_come_from_the_book_or_else_from_older_versions(tmp_path: Path) -> None:
    book = tmp_path / "subscriptions.json"
    first = Subscriptions("campus", ["site-1", "site-2"], book)
    assert first.filters == site_filters("campus", ["site-1", "site-2"])
    assert first.stale() == sorted(all_site_filters("campus"))  # no book: an older version
    first.save()
    moved = Subscriptions("campus", ["site-1"], book)  # site-2 went to another process
    assert moved.stale() == sorted(site_filters("campus", ["site-2"]))


def test_a_damaged_or_hostile_book_unsubscribes_nothing_it_should_not(tmp_path: Path) -> None:
    book = tmp_path / "subscriptions.json"
    mine = Subscriptions("campus", ["site-1"], book)
    hostile = [
        "",
        "#",
        "campus/#",
        "campus/+/+/readings",  # all sites: not one this version subscribes to
        "campus/site-9/+/readings\u0000",
        {"campus/site-2/+/readings": 1},
        "campus/site-2/+/meta",
        *(f"campus/s{i}/+/status" for i in range(20_000)),
    ]
    book.write_bytes(orjson.dumps(hostile))
    stale = mine.stale()
    assert "campus/site-2/+/meta" in stale
    assert all(f.startswith("campus/s") and "\u0000" not in f for f in stale)
    assert len(stale) < 10_001
    for damaged in (b"{not json", b"null", b'{"a": 1}'):
        book.write_bytes(damaged)
        assert set(mine.stale()) <= set(all_site_filters("campus"))
