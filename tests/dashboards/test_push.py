"""``campus-ingest dashboards push`` against a local Grafana stand-in (see fake_grafana)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from dashboards.build import render_all
from dashboards.model import DATASOURCE_UID
from tests.dashboards.fake_grafana import fake_grafana


def _push(url: str, token: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "ingest.cli",
            "dashboards",
            "push",
            "--grafana-url",
            url,
            "--token",
            token,
            "--influx-url",
            "http://10.0.0.2:8086",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


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


def _panel(dashboard: dict[str, Any], title: str) -> dict[str, Any]:
    return next(p for p in dashboard["panels"] if p["title"] == title)


def test_push_with_the_config_draws_this_campus(tmp_path: Path) -> None:
    """Timezone, the console's address and the class limits come from the service config."""
    config = tmp_path / "ingest.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "site": {"id": "hill-school", "timezone": "Asia/Urumqi"},
                "api": {"public_url": "https://campus.example/"},
                "reports": {
                    "classes": {"freezer": {"max": -20}, "medicine_fridge": {"min": 2, "max": 6}}
                },
                "state_dir": str(tmp_path / "state"),
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    with fake_grafana() as grafana:
        result = _push(grafana.url, grafana.token, "--config", str(config))
        assert result.returncode == 0, result.stderr
        boards = {uid: d["dashboard"] for uid, d in grafana.dashboards.items()}
    patrol, cold = boards["campus-night-patrol"], boards["campus-cold-chain"]
    constants = {
        v["name"]: v["query"] for v in patrol["templating"]["list"] if v["type"] == "constant"
    }
    assert constants == {"tz": "Asia/Urumqi", "console": "https://campus.example"}
    assert {b["timezone"] for b in boards.values()} == {"Asia/Urumqi"}
    [link] = next(
        p["value"]
        for o in _panel(patrol, "未恢复的告警 / Active alerts")["fieldConfig"]["overrides"]
        for p in o["properties"]
        if p["id"] == "links"
    )
    assert link["url"] == "${console}/alerts/${__data.fields.alert_id}"
    steps = _panel(cold, "冷冻柜 / Freezers")["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [s["value"] for s in steps] == [None, -20.0]
    medicine = _panel(cold, "药品冰箱 / Medicine fridges")["fieldConfig"]["defaults"]
    assert [s["value"] for s in medicine["thresholds"]["steps"]] == [None, 2.0, 6.0]


def test_a_bad_config_is_refused_with_its_key_path(tmp_path: Path) -> None:
    config = tmp_path / "ingest.yaml"
    config.write_text("site: {id: x, timezone: Mars/Olympus}\n", encoding="utf-8")
    with fake_grafana() as grafana:
        result = _push(grafana.url, grafana.token, "--config", str(config))
        assert grafana.dashboards == {}
    assert result.returncode == 2
    assert "site.timezone" in result.stderr
