"""The ``reports:`` config section: every mistake is named with its key path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from campuswatch.errors import ConfigError
from ingest.config import load_config


def _problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "ingest.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    prefix = f"{path}: "
    assert all(p.startswith(prefix) for p in caught.value.problems)
    return [p.removeprefix(prefix) for p in caught.value.problems]


BAD = """
site: {id: s}
channels: {director: {type: log}}
reports:
  weekly_usage: {day: monday, at: "7:30", notify: [director]}
  cold_chain: {at: "24:10", notify: [canteen]}
  jump_pct: -5
  tariffs:
    electricity:
      bands:
        - {name: 峰, from: "08:30", to: "11:00", price: 1.0}
        - {name: 平, from: "09:00", to: "12:00", price: 0.6}
    water: -1
  classes:
    refrigerator: {min: 8, max: 0}
    Wine: {min: 10}
"""


def test_every_report_problem_is_named(tmp_path: Path) -> None:
    problems = _problems(tmp_path, BAD)
    expected = [
        "reports.weekly_usage.day: Input should be 'mon'",
        "reports.cold_chain.at: '24:10' is not a valid time of day",
        "reports.jump_pct: Input should be greater than 0",
        "reports.tariffs.electricity.bands[0]: from 08:30 is not on the hour",
        "reports.tariffs.water: Input should be greater than or equal to 0",
        "reports.classes.refrigerator: min 8.0 must be below max 0.0",
        "reports.classes.Wine.[key]: String should match pattern",
    ]
    for start in expected:
        assert any(p.startswith(start) for p in problems), (start, problems)


def test_band_overlap_uncovered_hours_and_unknown_channels(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        """
site: {id: s}
reports:
  tariffs:
    electricity:
      bands:
        - {name: 峰, from: "08:00", to: "12:00", price: 1.0}
        - {name: 平, from: "11:00", to: "13:00", price: 0.6}
""",
    )
    assert any("bands 峰 and 平 both cover 11:00" in p for p in problems), problems
    problems = _problems(
        tmp_path,
        """
site: {id: s}
reports:
  tariffs: {electricity: {bands: [{name: 峰, from: "08:00", to: "20:00", price: 1.0}]}}
""",
    )
    assert problems == [
        "reports.tariffs.electricity: 00:00-08:00, 20:00-24:00 has no band:"
        " add bands or a default price"
    ]
    problems = _problems(tmp_path, "site: {id: s}\nreports: {cold_chain: {notify: [canteen]}}")
    assert problems == ["reports.cold_chain.notify[0]: no channel named 'canteen'"]


def test_check_exits_2_on_a_bad_reports_section(tmp_path: Path) -> None:
    path = tmp_path / "ingest.yaml"
    path.write_text(BAD)
    result = subprocess.run(
        [sys.executable, "-m", "ingest.cli", "check", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "reports.tariffs.electricity.bands[0]" in result.stderr


def test_a_band_crossing_midnight_prices_every_hour() -> None:
    from ingest.config.reports import ElectricityTariffConfig  # noqa: PLC0415

    tariff = ElectricityTariffConfig.model_validate(
        {"bands": [{"name": "谷", "from": "23:00", "to": "07:00", "price": 0.3}], "default": 0.6}
    )
    prices = tariff.price_by_hour()
    assert prices[23] == prices[0] == prices[6] == 0.3
    assert prices[7] == prices[22] == 0.6
