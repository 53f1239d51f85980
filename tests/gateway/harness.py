"""Gateway processes for tests: configs and a ``campus-gateway run`` child process."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path
from typing import Any

from tests.harness import ChildProcess, wait_for

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware_configs"


def gateway_config(
    workdir: Path, broker_port: int, topic_root: str, sources: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    """A gateway config publishing to the test broker, its buffer under ``workdir``."""
    doc: dict[str, Any] = {
        "gateway": {"id": "gw-canteen", "site": "sunshine-kg"},
        "uplink": {"host": "127.0.0.1", "port": broker_port, "topic_root": topic_root},
        "buffer": {"path": str(workdir / "buffer" / "gw-canteen.db"), "max_mb": 64},
        "sources": sources,
        "modbus_profiles": str(FIRMWARE / "modbus"),
    }
    doc.update(extra)
    return doc


def simulated(devices: int, every_s: float, kind: str = "temperature") -> dict[str, Any]:
    """A simulated source of ``devices`` devices reporting every ``every_s``."""
    return {
        "type": "simulated",
        "seed": 7,
        "every_s": every_s,
        "devices": [
            {"device": f"sim-{i}", "kind": kind, "tags": {"class": "refrigerator"}}
            for i in range(devices)
        ],
    }


class GatewayProcess(ChildProcess):
    """``campus-gateway run`` as a child process."""

    module = "gateway.cli"

    def __init__(self, config: dict[str, Any], workdir: Path) -> None:
        super().__init__(config, workdir, "gateway")

    def start(self) -> None:
        """Start and wait until it logs that it started."""
        starts = self.log_text().count(" started: ")
        self.spawn()
        wait_for(lambda: self._alive() and self.log_text().count(" started: ") > starts, 30)

    def _alive(self) -> bool:
        assert self.proc is not None
        assert self.proc.poll() is None, self.log_text()
        return True

    def stop(self) -> int:
        """SIGTERM; returns the number of readings it read in this run (from its log)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(60) == 0, self.log_text()[-3000:]
        self.proc = None
        counts = re.findall(r"stopped: (\d+) reading\(s\) read", self.log_text())
        return int(counts[-1])


class Collector:
    """An ``emit`` for sources run in the test process: keeps readings with arrival times."""

    def __init__(self) -> None:
        self.readings: list[dict[str, Any]] = []
        self.arrived: list[float] = []

    def __call__(self, reading: dict[str, Any]) -> None:
        self.readings.append(reading)
        self.arrived.append(time.monotonic())

    def of(self, device: str) -> list[dict[str, Any]]:
        """The readings of one device, oldest first."""
        return [r for r in self.readings if r["device"] == device]

    def count_since(self, device: str, since: float) -> int:
        """Readings of ``device`` that arrived after monotonic time ``since``."""
        return sum(
            1
            for r, t in zip(self.readings, self.arrived, strict=True)
            if r["device"] == device and t >= since
        )
