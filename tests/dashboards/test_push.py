"""``campus-ingest dashboards push`` against a local Grafana stand-in (see fake_grafana)."""

from __future__ import annotations

import subprocess
import sys

from dashboards.build import render_all
from dashboards.model import DATASOURCE_UID
from tests.dashboards.fake_grafana import fake_grafana


def _push(url: str, token: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ingest.cli", "dashboards", "push", "--grafana-url", url,
         "--token", token, "--influx-url", "http://10.0.0.2:8086", *extra],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_push_creates_everything_then_changes_nothing() -> None:
    with fake_grafana() as grafana:
        first = _push(grafana.url, grafana.token)
        assert first.returncode == 0, first.stderr
        assert "created folder 'campuswatch 校园监控'" in first.stdout
        assert f"created data source {DATASOURCE_UID} (http://10.0.0.2:8086)" in first.stdout
        assert first.stdout.count("created dashboard") == len(render_all())
        source = grafana.datasources[DATASOURCE_UID]
        assert (source["type"], source["jsonData"]["version"]) == ("influxdb", "InfluxQL")
        assert {d["meta"]["folderUid"] for d in grafana.dashboards.values()} == {"campuswatch"}
        writes = len(grafana.writes())
        second = _push(grafana.url, grafana.token)
        assert second.returncode == 0, second.stderr
        assert "nothing changed" in second.stdout
        assert len(grafana.writes()) == writes  # idempotent: no request changed anything
        assert {d["dashboard"]["version"] for d in grafana.dashboards.values()} == {1}


def test_push_updates_a_changed_dashboard_and_moves_it_into_the_folder() -> None:
    with fake_grafana() as grafana:
        assert _push(grafana.url, grafana.token).returncode == 0
        patrol = grafana.dashboards["campus-night-patrol"]
        patrol["dashboard"]["title"] = "edited in the UI"
        grafana.dashboards["campus-cold-chain"]["meta"]["folderUid"] = ""
        result = _push(grafana.url, grafana.token, "--folder", "campuswatch 校园监控")
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert "updated dashboard '夜间巡逻 / Night patrol'" in lines
        assert "updated dashboard '食堂冷链 / Canteen cold chain'" in lines
        assert "2 change(s)" in lines
        assert grafana.dashboards["campus-night-patrol"]["dashboard"]["version"] == 2


def test_a_wrong_token_is_a_clear_error() -> None:
    with fake_grafana() as grafana:
        result = _push(grafana.url, "not-the-token")
    assert result.returncode == 1
    assert f"Grafana at {grafana.url} (HTTP 401): Unauthorized" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreachable_grafana_is_a_clear_error() -> None:
    result = _push("http://127.0.0.1:9", "token")
    assert result.returncode == 1
    assert "Grafana at http://127.0.0.1:9" in result.stderr
    assert "Traceback" not in result.stderr
