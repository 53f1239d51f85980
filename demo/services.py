"""Run real ``mosquitto`` and ``influxd`` servers as child processes (demo and tests).

Each server runs from the configuration shipped in ``deploy/``, rewritten only where a
local run must differ: the listening port, the data directories and the user. The
servers can be stopped, killed and restarted in place so tests can inject faults.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

log = logging.getLogger(__name__)

DEPLOY_DIR = Path(__file__).resolve().parent.parent / "deploy"
# What a local run sets itself; the rest of the shipped broker config is kept as it is.
_MOSQUITTO_LOCAL_KEYS = (
    "listener",
    "allow_anonymous",
    "password_file",
    "acl_file",
    "use_username_as_clientid",
    "cafile",
    "certfile",
    "keyfile",
    "tls_version",
    "persistence_location",
    "log_dest",
    "pid_file",
    "user",
)


@dataclass(frozen=True)
class BrokerSecurity:
    """Accounts and TLS for a broker run as deployed: password file, ACL, TLS files."""

    passwd: Path
    acl: Path
    ca: Path
    cert: Path
    key: Path


class ServiceError(RuntimeError):
    """A development server could not be started."""


def free_port() -> int:
    """Return a TCP port that is free on the loopback interface right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def find_program(name: str) -> str:
    """Return the path of a server program, looking in the sbin folders too."""
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin:/sbin")
    if path is None:
        raise ServiceError(f"{name} is not installed (Debian: apt-get install {name})")
    return path


class ManagedProcess:
    """A server child process with start, stop (SIGTERM), kill (SIGKILL) and restart."""

    name = "server"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / f"{self.name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        """The command line that runs the server."""
        raise NotImplementedError

    def wait_ready(self, deadline: float) -> None:
        """Block until the server answers, or raise ServiceError at ``deadline``."""
        raise NotImplementedError

    def start(self, timeout: float = 30.0) -> None:
        """Start the server and wait until it accepts requests."""
        with self.log_path.open("ab") as logfile:
            # A session of its own: a Ctrl-C meant for the demo (or a test run) must not
            # take the broker away before the gateways have said they stopped.
            self.proc = subprocess.Popen(
                self.command(),
                stdout=logfile,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                start_new_session=True,
            )
        try:
            self.wait_ready(time.monotonic() + timeout)
        except ServiceError:
            self.kill()
            raise

    def _check_alive(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-2000:]
            raise ServiceError(f"{self.name} exited during start-up; log:\n{tail}")

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the server gracefully (SIGTERM), killing it if it does not exit."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash would."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        """Stop, then start again with the same data."""
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        """True while the child process is alive."""
        return self.proc is not None and self.proc.poll() is None


class MosquittoServer(ManagedProcess):
    """Mosquitto with ``deploy/mosquitto/mosquitto.conf``, on a free loopback port."""

    name = "mosquitto"

    def __init__(
        self, workdir: Path, port: int | None = None, security: BrokerSecurity | None = None
    ) -> None:
        super().__init__(workdir)
        self.port = port or free_port()
        self.security = security
        self.tls_port = free_port() if security else None
        self.config_path = workdir / "mosquitto.conf"
        (workdir / "data").mkdir(exist_ok=True)
        self.config_path.write_text(self._config())

    def _config(self) -> str:
        shipped = (DEPLOY_DIR / "mosquitto" / "mosquitto.conf").read_text()
        kept = [
            line
            for line in shipped.splitlines()
            if line.split(" ", 1)[0] not in _MOSQUITTO_LOCAL_KEYS
        ]
        # Run as the current user: started as root Mosquitto would switch to the
        # "mosquitto" user and then silently fail to save persistence in our directory.
        user = "root" if os.geteuid() == 0 else os.environ.get("USER", "nobody")
        local = [
            f"persistence_location {self.workdir / 'data'}/",
            "log_dest stderr",
            f"user {user}",
        ]
        security = self.security
        if security is None:  # the demo's and most tests': no accounts
            local += [f"listener {self.port} 127.0.0.1", "allow_anonymous true"]
        else:  # as deployed: accounts, ACL, a plain and a TLS listener
            local += [
                "allow_anonymous false",
                f"password_file {security.passwd}",
                f"acl_file {security.acl}",
                f"listener {self.port} 127.0.0.1",
                "use_username_as_clientid true",
                f"listener {self.tls_port} 127.0.0.1",
                "use_username_as_clientid true",
                f"cafile {security.ca}",
                f"certfile {security.cert}",
                f"keyfile {security.key}",
                "tls_version tlsv1.2",
            ]
        return "\n".join(kept + local) + "\n"

    def reload(self) -> None:
        """SIGHUP: Mosquitto reads its password file and ACL again."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGHUP)

    def command(self) -> list[str]:
        """Mosquitto with the rewritten shipped config."""
        return [find_program("mosquitto"), "-c", str(self.config_path)]

    def wait_ready(self, deadline: float) -> None:
        """Wait until the port accepts TCP connections."""
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise ServiceError(f"mosquitto did not listen on port {self.port}")


class InfluxServer(ManagedProcess):
    """influxd 1.x with ``deploy/influxdb/influxdb.conf``, data in ``workdir``."""

    name = "influxd"

    def __init__(self, workdir: Path, port: int | None = None, *, auth: bool = False) -> None:
        super().__init__(workdir)
        self.port = port or free_port()
        self.rpc_port = free_port()
        self.auth = auth
        # With auth, the first start makes this admin (InfluxDB lets the first one in).
        self.admin = ("admin", secrets.token_urlsafe(12))
        self.config_path = workdir / "influxdb.conf"
        self.config_path.write_text(self._config())

    def start(self, timeout: float = 30.0) -> None:
        """Start, and with auth make the admin account when there is none yet."""
        super().start(timeout)
        if self.auth:
            user, password = self.admin
            httpx.post(
                f"{self.url}/query",
                data={"q": f"CREATE USER {user} WITH PASSWORD '{password}' WITH ALL PRIVILEGES"},
                auth=(user, password),
                timeout=10,
            )

    def query(self, statement: str) -> httpx.Response:
        """Run an InfluxQL statement as the admin."""
        return httpx.post(
            f"{self.url}/query", data={"q": statement}, auth=self.admin if self.auth else None
        )

    @property
    def url(self) -> str:
        """Base URL of the HTTP API."""
        return f"http://127.0.0.1:{self.port}"

    def _config(self) -> str:
        text = (DEPLOY_DIR / "influxdb" / "influxdb.conf").read_text()
        text = text.replace("/var/lib/influxdb", str(self.workdir))
        text = text.replace('"127.0.0.1:8088"', f'"127.0.0.1:{self.rpc_port}"')
        text = text.replace('"127.0.0.1:8086"', f'"127.0.0.1:{self.port}"')
        if not self.auth:  # the demo's and most tests' database is open on loopback
            text = text.replace("auth-enabled = true", "auth-enabled = false")
        # Tests and the demo need little cache; a Pi deployment keeps the shipped size.
        return text.replace('"512m"', '"128m"')

    def command(self) -> list[str]:
        """influxd with the rewritten shipped config."""
        return [find_program("influxd"), "-config", str(self.config_path)]

    def wait_ready(self, deadline: float) -> None:
        """Wait until ``/ping`` answers 204."""
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                if httpx.get(f"{self.url}/ping", timeout=0.5).status_code == 204:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise ServiceError(f"influxd did not answer on {self.url}")
