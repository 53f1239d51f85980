"""The duty books: append-only and hash-chained, so an edit of the file is found; a cut
for retention keeps the rest verifiable."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.duty.books import DutyBooks


@pytest.fixture
def books(tmp_path: Path) -> Iterator[DutyBooks]:
    b = DutyBooks(tmp_path / "duty.db")
    b.open()
    yield b
    b.close()


def _fill(books: DutyBooks) -> None:
    for i in range(5):
        books.append("visitors", 1000 + i, "张师傅", {"name": f"访客 {i}"})
    books.append("samples", 2000, "赵阿姨", {"meal": "lunch"})


def test_records_get_ids_per_book_and_verify(books: DutyBooks) -> None:
    _fill(books)
    assert [r.id for r in books.all("visitors")] == [1, 2, 3, 4, 5]
    assert books.get("samples", 1).as_json() == {  # type: ignore[union-attr]
        "meal": "lunch",
        "id": 1,
        "at": 2000,
        "by": "赵阿姨",
    }
    assert books.verify() == []


@pytest.mark.parametrize(
    ("sql", "found"),
    [
        ('UPDATE records SET body = \'{"name":"别人"}\' WHERE id = 3', "visitors #3: changed"),
        ("UPDATE records SET at_ms = 1 WHERE id = 2", "visitors #2: changed"),
        ("DELETE FROM records WHERE book = 'visitors' AND id = 3", "records #3–#3 are missing"),
        ("DELETE FROM records WHERE book = 'visitors' AND id = 5", "#5–#5 are missing at the end"),
    ],
)
def test_an_edit_of_the_file_is_found(
    books: DutyBooks, tmp_path: Path, sql: str, found: str
) -> None:
    _fill(books)
    with sqlite3.connect(tmp_path / "duty.db") as db:
        db.execute(sql)
    problems = books.verify()
    assert any(found in p for p in problems), problems
    assert not any(p.startswith("samples") for p in problems)  # the other book is intact


def test_a_retention_cut_keeps_the_rest_verifiable(books: DutyBooks) -> None:
    _fill(books)
    assert books.cut_before("visitors", 1003) == 3
    assert [r.id for r in books.all("visitors")] == [4, 5]
    assert books.verify() == []
    books.append("visitors", 3000, "张师傅", {"name": "访客 5"})
    assert books.all("visitors")[-1].id == 6
    assert books.verify() == []


def _verify(config: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "ingest.cli", "duty", "verify", "--config", str(config)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_campus_ingest_duty_verify_names_each_break(books: DutyBooks, tmp_path: Path) -> None:
    config = tmp_path / "ingest.yaml"
    config.write_text(f"site: {{id: s}}\nstate_dir: {tmp_path}\n")
    _fill(books)
    intact = _verify(config)
    assert (intact.returncode, "every book is intact") == (0, intact.stdout.split(": ")[-1].strip())
    with sqlite3.connect(tmp_path / "duty.db") as db:
        db.execute("UPDATE records SET by = '别人' WHERE book = 'samples'")
    broken = _verify(config)
    assert broken.returncode == 1
    assert "samples #1: changed after it was saved" in broken.stderr


def test_ids_are_never_given_twice_after_a_whole_book_was_cut(books: DutyBooks) -> None:
    _fill(books)
    assert books.cut_before("visitors", 10_000) == 5  # every visitor past its keeping
    again = books.append("visitors", 20_000, "张师傅", {"name": "新访客"})
    assert again.id == 6  # not #1: an old sign-out or addendum cannot name it
    assert books.verify() == []
