"""The package-mirror step of both installer's guides, run on copies of the sources
files of a Debian 12 server, a 64-bit and a 32-bit Raspberry Pi OS."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = {
    "sources.list": (
        "deb http://raspbian.raspberrypi.org/raspbian/ bookworm main contrib\n"
        "deb http://deb.debian.org/debian bookworm main\n"
        "deb http://security.debian.org/debian-security bookworm-security main\n"
    ),
    "sources.list.d/raspi.list": "deb http://archive.raspberrypi.org/debian/ bookworm main\n",
    "sources.list.d/debian.sources": "Types: deb\nURIs: http://deb.debian.org/debian\n",
}
MIRRORED = {
    "sources.list": (
        "deb http://mirrors.tuna.tsinghua.edu.cn/raspbian/raspbian/ bookworm main contrib\n"
        "deb http://mirrors.tuna.tsinghua.edu.cn/debian bookworm main\n"
        "deb http://mirrors.tuna.tsinghua.edu.cn/debian-security bookworm-security main\n"
    ),
    "sources.list.d/raspi.list": (
        "deb http://mirrors.tuna.tsinghua.edu.cn/raspberrypi/ bookworm main\n"
    ),
    "sources.list.d/debian.sources": "Types: deb\nURIs: http://mirrors.tuna.tsinghua.edu.cn/debian\n",
}


@pytest.mark.parametrize("guide", ["docs/install.md", "docs/zh/install.md"])
def test_the_mirror_step_rewrites_every_sources_file(guide: str, tmp_path: Path) -> None:
    text = (ROOT / guide).read_text(encoding="utf-8")
    loop = re.search(r"^for f in /etc/apt/.*?^done$", text, re.M | re.S)
    assert loop, f"{guide}: no mirror loop"
    for name, content in SOURCES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(content)
    script = loop.group(0).replace("/etc/apt", str(tmp_path))
    subprocess.run(["bash", "-c", script], check=True)
    assert {name: (tmp_path / name).read_text() for name in SOURCES} == MIRRORED
