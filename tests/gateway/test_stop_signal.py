"""A stop signal stops the gateway whichever of its threads the kernel hands it to (a
SIGTERM taken by a worker thread once left the gateway running until systemd killed it,
losing the readings read since the last commit)."""

from __future__ import annotations

import ctypes
import os
import signal
from pathlib import Path

from demo.services import MosquittoServer
from tests.gateway.harness import GatewayProcess, gateway_config
from tests.harness import unique

_LIBC = ctypes.CDLL(None, use_errno=True)


def _signal_thread(pid: int, tid: int, sig: int) -> None:
    """Send ``sig`` to one thread of ``pid`` (tgkill), not to the process as a whole."""
    if _LIBC.tgkill(pid, tid, sig) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))


def test_a_sigterm_taken_by_a_worker_thread_stops_the_gateway(
    tmp_path: Path, broker: MosquittoServer
) -> None:
    zigbee = {
        "type": "zigbee2mqtt",
        "broker": {"host": "127.0.0.1", "port": broker.port},
        "base_topic": unique("z2m"),
        "devices": [{"device": "smoke-kitchen", "kind": "smoke", "friendly_name": "smoke"}],
    }
    gateway = GatewayProcess(gateway_config(tmp_path, broker.port, unique("t"), [zigbee]), tmp_path)
    gateway.start()
    proc = gateway.proc
    assert proc is not None
    workers = sorted(int(t) for t in os.listdir(f"/proc/{proc.pid}/task") if int(t) != proc.pid)
    assert workers, "the gateway runs worker threads"
    _signal_thread(proc.pid, workers[-1], signal.SIGTERM)
    assert proc.wait(20) == 0, gateway.log_text()[-3000:]
    assert " stopped: " in gateway.log_text()
    gateway.proc = None
