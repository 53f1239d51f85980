"""deploy/district (SPEC §13): the compose file of three NATS nodes and two ingest
processes is valid and keeps each process to its own state, secrets and InfluxDB; the
processes' config loads as their env files make it and carries the server's rules; the
setup script parses. The node config itself: tests/deploy/test_nats_accounts.py; the
cluster at work: tests/district."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from campuswatch.configfile import load_env_file
from ingest.config import load_config

DEPLOY = Path(__file__).parents[2] / "deploy"
DISTRICT = DEPLOY / "district"


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="needs docker-compose")
def test_the_compose_file_is_valid_and_keeps_each_process_to_its_own(tmp_path: Path) -> None:
    env = tmp_path / "district.env"
    env.write_text("CAMPUSWATCH_HOST=district.example.cn\n")
    result = subprocess.run(
        ["docker-compose", "--env-file", str(env), "-f", str(DISTRICT / "compose.yaml"), "config"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    services = resolved["services"]
    assert {"nats-1", "nats-2", "nats-3", "ingest-east", "ingest-west"} <= set(services)
    named = set(resolved["volumes"])
    for name, service in services.items():
        assert ":" in service["image"], name
        assert not service["image"].endswith(":latest"), name
        assert "healthcheck" in service or name.startswith(("ingest-", "setup")), name
        for mount in service.get("volumes", []):
            source = mount.split(":")[0] if isinstance(mount, str) else mount["source"]
            if source not in named:  # a file of this repository (or of its secrets/)
                assert DEPLOY in Path(source).resolve().parents, f"{name} mounts {source}"
    for node in ("nats-1", "nats-2", "nats-3"):  # the accounts and certificate, no env file
        mounted = [str(m) for m in services[node]["volumes"] if "secrets" in str(m)]
        assert mounted, node
        assert all(str(DISTRICT / "secrets" / "nats") + ":" in m for m in mounted), mounted
    east, west = services["ingest-east"], services["ingest-west"]
    for one, other in ((east, west), (west, east)):
        own = [str(m) for m in one["volumes"] if "state" in str(m)]
        assert own, "no state of its own"
        assert not set(own) & {str(m) for m in other["volumes"]}, "shared state"
        assert all(str(m).endswith(":ro") or "state" in str(m) for m in one["volumes"])
        assert not any("district-ca" in str(m) for m in one["volumes"]), "the CA's key"
        assert [s["source"] for s in one["secrets"]] != [s["source"] for s in other["secrets"]]
    published = [p["published"] for s in services.values() for p in s.get("ports", [])]
    assert len(published) == len(set(published)), published


def _process_env(tmp_path: Path, name: str, sites: list[str]) -> Path:
    """A process's env file as the top of compose.yaml makes it."""
    path = tmp_path / f"{name}.env"
    envfile = [sys.executable, str(DEPLOY / "server" / "envfile.py")]
    url = "https://district.example.cn:8443"
    made = [*envfile, "make", str(path), "--site", sites[0], "--name", f"{name} 区"]
    subprocess.run([*made, "--public-url", url, "--tls-dir", "/unused"], check=True)
    for key, value in (
        ("CAMPUSWATCH_ALSO_SERVES", ",".join(sites[1:])),
        ("MQTT_USER", f"ingest-{name}"),
        ("MQTT_PASSWORD", "from-setup"),
        ("INFLUX_URL", f"http://influx-{name}:8086"),
    ):
        subprocess.run([*envfile, "set", str(path), key, value], check=True)
    return path


def test_each_process_reads_the_one_config_with_its_sites(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (DISTRICT / "ingest.yaml").read_text()
    tls = tmp_path / "tls"
    tls.mkdir()
    for name in ("ca.crt", "server.crt", "server.key"):
        (tls / name).write_text("")
    config_path = tmp_path / "ingest.yaml"
    config_path.write_text(text.replace("/etc/campuswatch/tls", str(tls)))
    served = {"east": ["xx-school-1", "xx-kg-2", "xx-kg-3"], "west": ["xx-school-4"]}
    for name, sites in served.items():
        env_file = _process_env(tmp_path, name, sites)
        for line in env_file.read_text().splitlines():  # put back after the test
            monkeypatch.setenv(line.partition("=")[0], "")
        load_env_file(env_file)
        config = load_config(config_path)
        assert [config.site.id, *config.site.also_serves] == sites
        assert config.mqtt.addresses() == [("nats-1", 8883), ("nats-2", 8883), ("nats-3", 8883)]
        assert config.mqtt.username == config.mqtt.client_id == f"ingest-{name}"
        assert config.influx.url == f"http://influx-{name}:8086"
    server = yaml.safe_load((DEPLOY / "server" / "ingest.yaml").read_text())
    district = yaml.safe_load(text)
    for section in ("rules", "lock_check", "duty", "calendar", "schedules", "channels"):
        assert district[section] == server[section], section


def test_the_setup_script_parses() -> None:
    result = subprocess.run(
        ["sh", "-n", str(DISTRICT / "setup.sh")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
