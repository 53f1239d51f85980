"""Server config: the SPEC example loads; every problem names file, key path and reason."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from campuswatch.errors import ConfigError
from ingest.config import load_config
from ingest.config.rules import ConditionRuleConfig, GatewayOfflineRuleConfig, SilentRuleConfig
from ingest.config.types import IntervalMultiple, parse_duration

EXAMPLE = Path(__file__).resolve().parents[3] / "firmware_configs" / "ingest.example.yaml"


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MQTT_PASSWORD", "s3cret")
    monkeypatch.setenv("GUARD_TOKEN", "guard-token-123")
    monkeypatch.setenv("CAMERA_PASSWORD", "example")  # the example gateways' camera


def test_spec_example_loads_with_every_rule_form() -> None:
    config = load_config(EXAMPLE)
    assert config.mqtt.password == "s3cret"
    assert config.api.tokens[0].token == "guard-token-123"
    rules = {rule.id: rule for rule in config.rules}
    door, fridge, smoke = rules["door-open-after-hours"], rules["fridge-warm"], rules["smoke"]
    silent, offline = rules["sensor-silent"], rules["gateway-offline"]
    assert isinstance(door, ConditionRuleConfig)
    assert door.for_ == timedelta(minutes=5)
    assert door.active is not None
    assert door.active.outside == "school_hours"
    assert isinstance(fridge, ConditionRuleConfig)
    assert fridge.where == {"class": "refrigerator"}
    assert isinstance(smoke, ConditionRuleConfig)
    assert smoke.for_ is None
    assert isinstance(silent, SilentRuleConfig)
    assert silent.silent_for == IntervalMultiple(factor=3)
    assert isinstance(offline, GatewayOfflineRuleConfig)
    assert offline.gateway_offline == timedelta(minutes=2)
    assert config.schedules["school_hours"].from_.hour == 7


def test_the_example_rules_watch_every_device_the_example_gateways_ship() -> None:
    """Each alarm-worthy device of firmware_configs/gateways has a rule that fires on it:
    every building's doors, every cold-store class, smoke, water, panic buttons."""
    from gateway.config import load_gateway_config  # noqa: PLC0415 (the test side only)
    from ingest.rules.state import compile_rule  # noqa: PLC0415

    rules = [
        compile_rule(r) for r in load_config(EXAMPLE).rules if isinstance(r, ConditionRuleConfig)
    ]
    unwatched = []
    for path in sorted((EXAMPLE.parent / "gateways").glob("*.yaml")):
        config, _ = load_gateway_config(path)
        for device in config.devices():
            tags = {**device.tags, "device": device.device, "gateway": config.gateway.id}
            if device.kind in ("electricity", "water", "gateway"):
                continue  # reports, not alarms
            if device.kind == "temperature" and "class" not in tags:
                continue
            if not any(rule.wants(device.kind, tags) for rule in rules):
                unwatched.append(f"{path.stem}: {device.device} ({device.kind}, {tags})")
    assert unwatched == []
    watched = {r.id for r in rules}
    assert {
        "freezer-warm",
        "sample-fridge-warm",
        "medicine-fridge-out",
        "panic",
        "water-leak",
        "motion-after-hours",
        "battery-low",
    } <= watched


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("5m", 300), ("2h", 7200), ("1d", 86400), ("1h30m", 5400)]
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds


def _problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert all(p.startswith(f"{path}: ") for p in info.value.problems)
    return [p.removeprefix(f"{path}: ") for p in info.value.problems]


def test_places_are_names_of_buildings_and_rooms(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        """
site: {id: s1}
places: {main: 主楼, main/101: 小一班教室, "a/b/c": 三层, gate: "", hall: "大厅\\u202e"}
""",
    )
    assert any(p.startswith("places.a/b/c") and "pattern" in p for p in problems), problems
    assert any(p.startswith("places.gate") and "at least 1" in p for p in problems), problems
    assert len(problems) == 3, problems


def test_every_problem_is_reported_with_its_key_path(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        """
site: {id: Sunshine, timezone: Mars/Olympus}
mqtt: {port: 70000, password: "${NOT_SET_ANYWHERE}", colour: blue}
schedules:
  school: {days: [mon, funday], from: "07:00", to: "25:00"}
calendar: {closed: ["2026-10-08..2026-10-01"]}
channels:
  patrol: {type: pager, url: "http://x"}
  mail: {type: email, host: smtp.example.com, sender: a@b.c, to: []}
rules:
  - {id: door, kind: door, when: {field: open, eq: true, ne: false}, for: 5 minutes,
     notify: [nobody], active: {outside: nights}}
  - {id: door, kind: toaster, when: {any: []}}
  - {id: quiet, silent_for: 0x}
  - {id: flat, kind: "*", when: {field: battery, lt: 15}, once_per: 1d, repeat: 1h}
""",
    )
    expected = [
        "mqtt.password: environment variable NOT_SET_ANYWHERE is not set",
        "site.id: String should match pattern",
        "site.timezone: unknown timezone 'Mars/Olympus'",
        "mqtt.port: Input should be less than or equal to 65535",
        "mqtt.colour: unknown key",
        "schedules.school.days[1]: Input should be",
        "schedules.school.to: '25:00' is not a valid time of day",
        "calendar.closed[0]: range '2026-10-08..2026-10-01' ends before it starts",
        "channels.patrol: Input tag 'pager' found using 'type' does not match",
        "channels.mail.to: List should have at least 1 item",
        "rules[0](door).when: give exactly one of eq ne gt ge lt le",
        "rules[0](door).for: '5 minutes' is not a duration",
        "rules[1](door).kind: Input should be",
        "rules[1](door).when.any: List should have at least 1 item",
        "rules[2](quiet).silent_for:",
        "rules[3](flat): once_per cannot be combined with repeat or escalate",
    ]
    for start in expected:
        assert any(p.startswith(start) for p in problems), (start, problems)


def test_references_to_unknown_channels_and_schedules(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        """
site: {id: s}
channels: {patrol: {type: log}}
rules:
  - {id: a, kind: door, when: {field: open, eq: true}, notify: [patrol, nobody],
     active: {during: lessons}, escalate: {after: 30m, notify: [boss]}}
  - {id: a, kind: smoke, when: {field: smoke, eq: true}}
""",
    )
    assert problems == [
        "rules[0](a).notify[1]: no channel named 'nobody'",
        "rules[0](a).escalate.notify[0]: no channel named 'boss'",
        "rules[0](a).active.during: no schedule named 'lessons'",
        "rules[1](a).id: rule id 'a' is used twice",
    ]


def test_on_duty_needs_shifts_and_contacts_need_their_kind_of_channel(tmp_path: Path) -> None:
    rule = "{id: smoke, kind: smoke, when: {field: smoke, eq: true}, notify: [on_duty]}"
    without = _problems(tmp_path, f"site: {{id: s}}\nrules: [{rule}]\n")
    assert without == ["rules[0](smoke).notify[0]: on_duty needs duty.shifts (who is on duty when)"]
    problems = _problems(
        tmp_path,
        f"""
site: {{id: s}}
channels: {{patrol: {{type: log}}}}
rules: [{rule}]
duty:
  shifts: {{night: {{from: "19:00", to: "07:00"}}}}
  fallback: [guardroom]
  contacts: {{wecom: patrol, email: nobody}}
""",
    )
    assert problems == [
        "duty.fallback[0]: no channel named 'guardroom'",
        "duty.contacts.email: no channel named 'nobody'",
        "duty.contacts.wecom: channel 'patrol' is log, not wecom",
    ]
    no_fallback = _problems(
        tmp_path,
        f"""
site: {{id: s}}
channels: {{patrol: {{type: log}}}}
rules: [{rule}]
duty: {{shifts: {{night: {{from: "19:00", to: "07:00"}}}}}}
lock_check: {{at: [{{days: [mon], time: "21:30"}}], notify: [on_duty]}}
""",
    )
    assert [p.split(":")[0] for p in no_fallback] == ["lock_check.notify[0]", "duty.fallback"]
    assert "on_duty is for alert rules" in no_fallback[0]


def test_conditions_on_fields_a_kind_does_not_have_are_refused(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        """
site: {id: s}
rules:
  - {id: fridge, kind: temperature, when: {field: celcius, gt: 8}}
  - {id: door, kind: door, when: {any: [{field: open, eq: 1}, {field: locked, eq: false}]}}
  - {id: power, kind: electricity, when: {all: [{field: power_w, eq: "high"}]}}
  - {id: any-kind, kind: "*", when: {field: whatever, gt: 1}}
  - {id: health, kind: gateway, when: {field: cpu_temp_c, gt: 80}}
""",
    )
    assert problems == [
        "rules[0](fridge).when.field: kind temperature has no field 'celcius'"
        " (known: celsius, humidity)",
        "rules[1](door).when.any[0].eq: open is true/false; compare it with eq or ne true/false",
        "rules[2](power).when.all[0].eq: power_w is a number; compare it with a number",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("site: {id: s}\nsite: {id: t}\n", "duplicate key 'site'"),
        ("site: {id: s\n", "not valid YAML"),
        ("- just\n- a list\n", "(top level): expected a mapping"),
        ("mqtt: {}\n", "site: Field required"),
    ],
)
def test_file_level_problems(tmp_path: Path, text: str, message: str) -> None:
    problems = _problems(tmp_path, text)
    assert any(message in p for p in problems), problems


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ingest.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_check_command_exit_codes(tmp_path: Path) -> None:
    ok = _cli("check", "--config", str(EXAMPLE))
    assert ok.returncode == 0, ok.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("site: {id: s}\nmqtt: {port: x}\n")
    result = _cli("check", "--config", str(bad))
    assert result.returncode == 2
    assert f"{bad}: mqtt.port: Input should be a valid integer" in result.stderr
    missing = _cli("check", "--config", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2
    assert "cannot read the file" in missing.stderr
    assert _cli("run").returncode == 2  # usage error
    assert _cli("run", "--config", str(bad)).returncode == 2


def test_mqtt_hosts_name_the_nodes_of_a_cluster(tmp_path: Path) -> None:
    base = "site: {id: sunshine-kg}\nstate_dir: var\n"
    problems = _problems(tmp_path, base + "mqtt: {hosts: [nats-1:1883, 'nats-2:'], port: 1884}\n")
    assert problems == [
        "mqtt.hosts[1]: 'nats-2:' is not HOST:PORT (e.g. nats-1:1883 or [::1]:1883)",
    ]
    problems = _problems(tmp_path, base + "mqtt: {hosts: [nats-1:1883], port: 1884}\n")
    assert problems == ["mqtt: give hosts, or host and port; not both"]
    path = tmp_path / "ok.yaml"
    path.write_text(base + "mqtt: {hosts: ['nats-1:1883', '[::1]:4222', 10.0.0.3:1883]}\n")
    assert load_config(path).mqtt.addresses() == [
        ("nats-1", 1883),
        ("::1", 4222),
        ("10.0.0.3", 1883),
    ]
    path.write_text(base)
    assert load_config(path).mqtt.addresses() == [("127.0.0.1", 1883)]


def test_the_sites_a_process_also_serves_may_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "site: {id: site-1, also_serves: '${ALSO}'}\nstate_dir: var\n"
    path = tmp_path / "ok.yaml"
    path.write_text(text)
    monkeypatch.setenv("ALSO", " site-2, site-3 ")
    assert load_config(path).site.also_serves == ["site-2", "site-3"]
    monkeypatch.setenv("ALSO", "")
    assert load_config(path).site.also_serves == []
    monkeypatch.setenv("ALSO", "site-2,Site 3")
    assert _problems(tmp_path, text)[0].startswith("site.also_serves[1]: ")
