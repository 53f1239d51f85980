"""The short report messages sent to chat groups: the key figures and the hints."""

from __future__ import annotations

from ingest.reports.messages import cold_chain_message, weekly_message
from ingest.reports.models import ColdChainDay, ColdChainDevice, MeterUsage, WeeklyUsage


def _meter(
    device: str, kind: str, now: float | None, before: float | None, *hints: str
) -> MeterUsage:
    return MeterUsage(
        device=device,
        kind=kind,
        name=None,
        unit="kWh" if kind == "electricity" else "m³",
        building=None,
        consumption=now,
        previous=before,
        change_pct=None,
        average_4w=None,
        night_baseline=None,
        daily=[None] * 7,
        anomalies=list(hints),
    )


def test_weekly_message_sums_kinds_and_lists_hints() -> None:
    report = WeeklyUsage(
        week="2026-W47",
        start="2026-11-16T00:00:00+08:00",
        end="2026-11-23T00:00:00+08:00",
        complete=True,
        days=[],
        buildings=[],
        meters=[
            _meter("m1", "electricity", 110.0, 100.0),
            _meter("m2", "electricity", 55.0, 50.0, "比上周增加 10%"),
            _meter("w1", "water", 3.0, None, "疑似漏水"),
            _meter("m3", "electricity", None, None, "本周没有收到读数"),
        ],
        totals={"electricity_kwh": 165.0, "water_m3": 3.0, "cost": 120.5},
        currency="CNY",
    )
    title, text = weekly_message(report, "zh")
    assert title == "一周一反馈 2026年第47周（11月16日–22日）"
    assert text.splitlines() == [
        "用电 165.0 kWh（上周 150.0，+10.0%）",
        "用水 3.0 m³",
        "费用 120.50 CNY",
        "提示 3 条：",
        "· m2: 比上周增加 10%",
        "· w1: 疑似漏水",
        "· m3: 本周没有收到读数",
    ]
    assert weekly_message(report, "en")[1].startswith("Electricity 165.0 kWh (last week 150.0")


def test_cold_chain_message_names_the_stores_out_of_range() -> None:
    def store(device: str, minutes: int, readings: int, alerts: int) -> ColdChainDevice:
        return ColdChainDevice.model_validate(
            {
                "device": device,
                "name": f"{device} 柜",
                "building": None,
                "class": "refrigerator",
                "limits": (0, 8),
                "min": 2.0 if readings else None,
                "max": 9.5 if readings else None,
                "mean": 4.0,
                "minutes_out_of_range": minutes,
                "readings": readings,
                "alerts": alerts,
            }
        )

    day = ColdChainDay(
        date="2026-11-23",
        devices=[store("a", 12, 2880, 1), store("b", 0, 2880, 0), store("c", 0, 0, 0)],
    )
    title, text = cold_chain_message(day, "zh")
    assert title == "冷链记录 11月23日"
    assert text.splitlines() == [
        "3 台冷藏/冷冻设备，1 台有超限，告警 1 次",
        "· a 柜：超限 12 分钟，最低 2.0°C，最高 9.5°C",
        "· c 柜：全天无读数",
    ]
