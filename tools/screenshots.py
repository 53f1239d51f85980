"""Copy the browser tests' screenshots that the guides show into ``docs/img``.

``make screenshots`` runs the demo's browser test (``tests/test_demo.py``: the real demo
in headless Chromium on a 360 px phone, which saves them in ``var/artefacts``) and then
this; ``tests/docs/test_images.py`` checks that every picture a guide shows is one of
these and is there.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTEFACTS = ROOT / "var" / "artefacts"
IMAGES = ROOT / "docs" / "img"
# docs/img name: the browser test's screenshot it is a copy of.
SHOTS = {
    "board.png": "demo-board-360x640.png",
    "ack-link.png": "demo-ack-link-360x640.png",
    "checkpoint.png": "demo-checkpoint-360x640.png",
    "weekly-report.png": "demo-weekly-console-360x640.png",
}


def main() -> int:
    """Copy each screenshot; exit 1 naming those the tests did not make."""
    missing = [shot for shot in SHOTS.values() if not (ARTEFACTS / shot).exists()]
    if missing:
        print(f"not in {ARTEFACTS}: {', '.join(missing)} (run the demo's browser test)")
        return 1
    IMAGES.mkdir(parents=True, exist_ok=True)
    for name, shot in SHOTS.items():
        shutil.copyfile(ARTEFACTS / shot, IMAGES / name)
        print(f"docs/img/{name} <- var/artefacts/{shot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
