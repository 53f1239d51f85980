"""Every picture the README and the guides show is a screenshot the browser tests make
(tools/screenshots.py, ``make screenshots``), and is in the repository."""

from __future__ import annotations

import re
from pathlib import Path

from tools.screenshots import IMAGES, SHOTS

ROOT = Path(__file__).resolve().parents[2]
# A picture in Markdown, ![alt](path), or in HTML, <img src="path">.
PICTURE = r"!\[[^\]]*\]\(([^)\s]+)\)|<img\s[^>]*src=\"([^\"]+)\""
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def test_every_picture_shown_is_a_screenshot_of_the_tests() -> None:
    shown = {
        (page.parent / (found.group(1) or found.group(2))).resolve()
        for page in PAGES
        for found in re.finditer(PICTURE, page.read_text(encoding="utf-8"))
    }
    assert ROOT / "docs/img/board.png" in shown  # the README's <img>, not only Markdown
    assert shown, "no pictures in the README or the guides"
    made = {(IMAGES / name).resolve() for name in SHOTS}
    assert shown <= made, sorted(str(p) for p in shown - made)
    assert all(p.is_file() and p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in shown)


def test_every_screenshot_copied_is_shown_somewhere() -> None:
    text = "".join(page.read_text(encoding="utf-8") for page in PAGES)
    assert [name for name in SHOTS if f"img/{name}" not in text] == []
