"""Signed links: a key that is never empty or partial (even when four processes make it at
once), links that expire, ``campus-ingest links rotate`` revoking every link sent, and
forged signatures of any shape answered with a 4xx."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from ingest.app import IngestService
from ingest.config import IngestConfig
from ingest.links import KEY_BYTES, LinkKeyError, LinkSigner, load_or_make_key
from ingest.web.app import create_api
from tests.clock import ManualClock

VIEWER = {"Authorization": "Bearer viewer-token-1"}


def _first_start(path: str) -> bytes:
    return load_or_make_key(Path(path))


def test_four_processes_starting_at_once_share_one_full_key(tmp_path: Path) -> None:
    paths = [str(tmp_path / f"start-{i}" / "links.key") for i in range(60)]
    with ProcessPoolExecutor(4) as pool:
        keys = list(pool.map(_first_start, [p for p in paths for _ in range(4)]))
    for i, path in enumerate(paths):
        made = keys[i * 4 : i * 4 + 4]
        assert len(set(made)) == 1, f"{path}: the processes signed with different keys"
        assert len(made[0]) == KEY_BYTES
        assert bytes.fromhex(Path(path).read_text()) == made[0]
        assert Path(path).stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("content", ["", "\n", "abcd", "not hex at all", "\xff\xfe"])
def test_an_empty_or_short_key_is_a_health_problem_not_a_dead_service(
    config: dict[str, Any], content: str
) -> None:
    """Refusing to start would stop every alarm; the service runs, says why in health,
    and refuses to sign (or open) links with a key it cannot trust."""
    state = Path(config["state_dir"])
    state.mkdir(parents=True)
    (state / "links.key").write_text(content, errors="surrogateescape")
    service = IngestService(IngestConfig.model_validate(config))
    service.start()
    try:
        health = service.health()
        assert health["status"] == "degraded"
        assert any(p.startswith("links:") and "links.key" in p for p in health["problems"])
        with pytest.raises(LinkKeyError):
            service.links.signature("x")
        assert not service.links.check("0" * 32, "x")
    finally:
        service.stop()


def test_links_expire(tmp_path: Path, config: dict[str, Any]) -> None:
    clock = ManualClock(1_800_000_000)
    config["state_dir"] = str(tmp_path)
    signer = LinkSigner(IngestConfig.model_validate(config), clock)
    url = signer.url("/api/x", {}, "report", "2026-W47", valid_s=3600)
    sig = url.split("sig=")[1]
    assert signer.check_link(sig, "report", "2026-W47")
    assert not signer.check_link(sig, "report", "2026-W48")  # opens what it was made for
    expires, mac = sig.split(".")
    assert not signer.check_link(f"{int(expires) + 86_400}.{mac}", "report", "2026-W47")
    clock.advance(3600)
    assert not signer.check_link(sig, "report", "2026-W47")


@pytest.mark.parametrize(
    "sig", ["中文", "1800000000.中文", "٢٠٣٠٠٠٠٠٠٠.abc", "9" * 400, ".", "", "1.2.3"]
)
def test_forged_signatures_of_any_shape_get_401(service: IngestService, sig: str) -> None:
    params = {"week": "2026-W47", "format": "html", "sig": sig}
    with TestClient(create_api(service)) as api:
        answer = api.get("/api/reports/weekly-usage", params=params)
        assert answer.status_code == 401
        ack = api.get(f"/ack/1/1.1800000000.{sig}.{sig}")
        assert 400 <= ack.status_code < 500


def test_rotating_the_key_revokes_the_links_sent(
    service: IngestService, config: dict[str, Any], tmp_path: Path
) -> None:
    link = service.reports.link("weekly-usage", "2026-W47")
    path = link[link.index("/api/") :]
    with TestClient(create_api(service)) as api:
        assert api.get(path).status_code == 200
        config_path = tmp_path / "ingest.yaml"
        config_path.write_text(yaml.safe_dump(config, allow_unicode=True))
        rotated = subprocess.run(
            [sys.executable, "-m", "ingest.cli", "links", "rotate", "--config", str(config_path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert rotated.returncode == 0, rotated.stderr
        assert "no longer opens" in rotated.stdout
        assert api.get(path).status_code == 401  # the running service took the new key
        assert api.get(path, headers=VIEWER).status_code == 200
        fresh = service.reports.link("weekly-usage", "2026-W47")
        assert api.get(fresh[fresh.index("/api/") :]).status_code == 200
