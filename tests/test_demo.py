"""``campus-ingest demo`` (what ``make demo`` runs) starts everything and shows data."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from demo.services import free_port


def test_demo_runs_stores_readings_and_stops_cleanly(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ingest.cli",
            "demo",
            "--dir",
            str(tmp_path),
            "--duration",
            "50",
            "--port",
            str(free_port()),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "token:" in result.stdout
    assert "deploy/grafana/provisioning" in result.stdout  # no Grafana here: where to look
    counts = [int(n) for n in re.findall(r"(\d+) points stored", result.stdout)]
    assert counts
    assert counts[-1] > 0
    assert re.search(r"(\d+)/\1 devices online", result.stdout)
    assert "stopping" in result.stderr
    # The scenario's alerts appear: room 101's back door and the canteen fridge.
    assert re.search(r"ALERT #\d+ 门未(关闭|上锁): 后门 \(firing\)", result.stdout), result.stdout
    assert re.search(r"ALERT #\d+ 温度超限: 冷藏柜 1 \(firing\)", result.stdout), result.stdout
    # The gate camera (OpenCV on a drawn video) saw someone walk past: alert and snapshot.
    assert re.search(r"ALERT #\d+ 门口有人: 大门摄像头 \(firing\)", result.stdout), result.stdout
    snapshots = list((tmp_path / "ingest" / "snapshots").glob("*/*.jpg"))
    assert snapshots, "the gate camera's snapshot reached the server"
    # Weeks of history were seeded, so the reports already tell something.
    assert "points of simulated history (6 weeks)" in result.stdout
    weekly = (tmp_path / "reports" / "weekly-usage.html").read_text()
    assert "总水表" in weekly
    assert "疑似漏水" in weekly  # the seeded leak
    assert "data:image/png;base64," in weekly
    cold = (tmp_path / "reports" / "cold-chain.html").read_text()
    assert "冷藏柜 1" in cold
    assert (tmp_path / "reports" / "daily-readings.html").exists()
    # The readings came through real gateway processes, which stopped cleanly.
    for gateway in ("gw-gate", "gw-canteen", "gw-main"):
        log = (tmp_path / "gateways" / f"{gateway}.log").read_text()
        assert "uplink connected" in log
        assert re.search(r"stopped: \d+ reading\(s\) read, 0 waiting in the buffer", log), log
