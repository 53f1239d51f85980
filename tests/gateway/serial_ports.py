"""Real serial ports for tests: a pseudo-terminal pair joined by ``socat``."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from demo.services import find_program


class PtyPair:
    """Two linked pseudo-terminals: what is written to one is read from the other."""

    def __init__(self, directory: Path) -> None:
        self.device = str(directory / "ttyDEVICE")  # the meter simulator's end
        self.gateway = str(directory / "ttyGATEWAY")  # the gateway's end
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start socat and wait until both ends exist."""
        self._proc = subprocess.Popen(
            [
                find_program("socat"),
                f"pty,raw,echo=0,link={self.device}",
                f"pty,raw,echo=0,link={self.gateway}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not (Path(self.device).exists() and Path(self.gateway).exists()):
            assert self._proc.poll() is None, "socat exited"
            assert time.monotonic() < deadline, "socat made no pseudo-terminals"
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop socat (both ends disappear)."""
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(10)
            self._proc = None
