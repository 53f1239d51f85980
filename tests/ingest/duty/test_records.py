"""Food samples and visitors through the API (SPEC §11), on the real broker and database:
a sample carries its fridge's temperatures over its 48 hours; a visitor carries the gate
camera's picture and a masked phone; saved records are never changed, only added to."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from campuswatch.protocol import DeviceRef
from ingest.app import IngestService
from ingest.config import IngestConfig
from ingest.web.app import create_api
from tests.harness import Publisher, count_points, envelope, reading, wait_for
from tests.ingest.web.console.web import meta
from tests.receivers import HttpReceiver, http_receiver

ADMIN = {"Authorization": "Bearer admin-token-1"}
GUARD = {"Authorization": "Bearer guard-token-1"}
VIEWER = {"Authorization": "Bearer viewer-token-1"}
MINUTE = 60_000
FRIDGE = {
    "device": "sample-fridge",
    "kind": "temperature",
    "name": "留样柜",
    "interval_s": 60,
    "tags": {"building": "canteen", "class": "sample_fridge"},
}
JPEG = b"\xff\xd8\xff\xe0" + b"gate" * 100 + b"\xff\xd9"


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with http_receiver() as rx:
        yield rx


@pytest.fixture
def books(
    config: dict[str, Any], receiver: HttpReceiver
) -> Iterator[tuple[IngestService, TestClient]]:
    config["duty"] = {"visitor_camera": "cam-gate"}
    config["channels"] = {"canteen": {"type": "webhook", "url": receiver.url()}}
    config["rules"] = [{"id": "sample-warm", "sample_excursion": True, "notify": ["canteen"]}]
    service = IngestService(IngestConfig.model_validate(config))
    service.start()
    assert service.wait_ready()
    with TestClient(create_api(service)) as api:
        yield service, api
    service.stop()


def _dish(grams: int, name: str = "番茄炒蛋") -> dict[str, Any]:
    return {"name": name, "grams": grams}


def test_a_sample_carries_its_fridge_log(
    books: tuple[IngestService, TestClient],
    publisher: Publisher,
    config: dict[str, Any],
    receiver: HttpReceiver,
) -> None:
    service, api = books
    meta(publisher, config, [FRIDGE])
    now = int(time.time() * 1000) // MINUTE * MINUTE
    taken = now - 30 * MINUTE
    # A reading a minute over the sample's half hour; 9 °C for 5 minutes (0-8 °C allowed).
    readings = [
        reading(
            "sample-fridge", "temperature", taken + i * MINUTE, celsius=9.0 if 10 <= i < 15 else 3.5
        )
        for i in range(30)
    ]
    root = f"{config['mqtt']['topic_root']}/sunshine-kg/gw-main/readings"
    publisher.publish(root, envelope("gw-main", 1, readings))
    wait_for(lambda: count_points(service.influx, "temperature", "celsius") == 30, 20)
    wait_for(lambda: service.registry.device_info("sunshine-kg", "gw-main", "sample-fridge"), 10)
    body = {
        "meal": "lunch",
        "dishes": [_dish(150), _dish(130, "米饭")],
        "fridge": "sample-fridge",
        "taken_at": taken,
    }
    saved = api.post("/api/duty/samples", json=body, headers=GUARD)
    assert saved.status_code == 201, saved.text
    sample = saved.json()
    assert sample["by"] == "值班室"
    assert sample["discard_after"] == taken + 48 * 3600_000
    assert sample["fridge"]["device"] == "sample-fridge"
    assert (sample["fridge"]["min"], sample["fridge"]["max"]) == (3.5, 9.0)
    assert sample["fridge"]["out_of_range_minutes"] == 5
    assert (
        api.get(f"/api/duty/samples/{sample['id']}", headers=VIEWER).json()["fridge"]
        == sample["fridge"]
    )
    listed = api.get("/api/duty/samples", headers=VIEWER).json()
    assert [s["id"] for s in listed] == [sample["id"]]
    # The duty timer's check: the sample is marked for good, the canteen is alerted.
    service.duty.samples.watch(service.engine.on_sample, set)
    marked = api.get(f"/api/duty/samples/{sample['id']}", headers=VIEWER).json()["excursion"]
    assert (marked["out_of_range_minutes"], marked["max"], marked["by"]) == (5, 9.0, "系统")
    told = wait_for(lambda: next(iter(receiver.bodies()), None), 10)
    assert (told["rule"], told["device"], told["title"]) == (
        "sample-warm",
        "sample-fridge",
        "留样柜温度超出范围",
    )
    assert "1 份留样受影响（午餐）" in told["message"]  # the meal as the canteen says it
    assert [a.device for a in service.alerts.active()] == ["sample-fridge"]
    service.engine.on_meta("sunshine-kg", "gw-main", set())  # a gateway's meta again
    assert [a.device for a in service.alerts.active()] == ["sample-fridge"]  # still firing
    # The next check: marked once only; the fridge's last reading (3.5 °C) is in range,
    # so its alert ends.
    service.duty.samples.watch(service.engine.on_sample, set)
    assert len(service.duty.books.all("samples.excursion")) == 1
    wait_for(lambda: not service.alerts.active(), 10)
    early = api.post(f"/api/duty/samples/{sample['id']}/discard", headers=GUARD)
    assert early.status_code == 409
    assert "must be kept until its 48 hours are over" in early.text
    old = api.post(
        "/api/duty/samples", json={**body, "taken_at": now - 49 * 3600_000}, headers=GUARD
    ).json()
    thrown = api.post(f"/api/duty/samples/{old['id']}/discard", headers=GUARD)
    assert thrown.status_code == 201
    assert thrown.json()["discarded_by"] == "值班室"
    twice = api.post(f"/api/duty/samples/{old['id']}/discard", headers=GUARD)
    assert twice.status_code == 409
    ended = wait_for(lambda: len(receiver.bodies()) >= 2 and receiver.bodies(), 10)
    assert [b["state"] for b in ended] == ["firing", "resolved"]
    # Out of range again with the samples hit before still kept: the canteen is told again.
    warm = [reading("sample-fridge", "temperature", now + 30 * MINUTE, celsius=9.5)]
    publisher.publish(root, envelope("gw-main", 2, warm))
    fridge = ("sunshine-kg", "gw-main", "sample-fridge")
    wait_for(lambda: service.registry.device(*fridge).values.get("celsius") == 9.5, 10)  # type: ignore[union-attr]
    service.duty.samples.watch(service.engine.on_sample, set)
    assert [a.device for a in service.alerts.active()] == ["sample-fridge"]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"dishes": [_dish(50)]}, "番茄炒蛋 is 50 g; a sample needs at least 125 g"),
        ({"dishes": [_dish(-1)]}, "greater than 0"),
        ({"dishes": []}, "at least 1"),
        ({"taken_at": int(time.time() * 1000) + 3600_000}, "in the future"),
        ({"fridge": "no-such-fridge"}, "no temperature device 'no-such-fridge'"),
        ({"dishes": [{"name": "<b>汤</b>\n", "grams": 200}], "extra": 1}, "extra"),
        ({"dishes": [{"name": "汤\u202e饭米", "grams": 200}]}, "U+202E"),
    ],
)
def test_a_bad_sample_is_refused_and_nothing_is_kept(
    books: tuple[IngestService, TestClient], change: dict[str, Any], why: str
) -> None:
    service, api = books
    body = {
        "meal": "lunch",
        "dishes": [_dish(150)],
        "fridge": "sample-fridge",
        "taken_at": 1,
        **change,
    }
    refused = api.post("/api/duty/samples", json=body, headers=GUARD)
    assert refused.status_code == 422
    assert why in refused.text
    assert service.duty.books.all("samples") == []


def test_a_visitor_signs_in_with_the_gate_picture_and_out_once(
    books: tuple[IngestService, TestClient],
) -> None:
    service, api = books
    service.snapshots.save(DeviceRef("sunshine-kg", "gw-gate", "cam-gate"), "s1", JPEG)
    visitor = {
        "name": "<script>x</script>",
        "phone": "13812345678",
        "visiting": "小一班 王老师",
        "approved_by": "李园长",
    }
    saved = api.post("/api/duty/visitors", json=visitor, headers=GUARD)
    assert saved.status_code == 201, saved.text
    record = saved.json()
    assert record["phone"] == "138****5678"  # a guard sees it masked
    assert record["snapshot"] is True
    assert service.duty.visitors.picture_path(record["id"]).read_bytes() == JPEG
    assert record["out_at"] is None
    assert (
        api.get(f"/api/duty/visitors/{record['id']}", headers=ADMIN).json()["phone"]
        == "13812345678"
    )
    assert [r.id for r in service.duty.visitors.still_in()] == [record["id"]]
    out = api.post(f"/api/duty/visitors/{record['id']}/out", headers=GUARD)
    assert out.status_code == 201
    assert out.json()["out_by"] == "值班室"
    again = api.post(f"/api/duty/visitors/{record['id']}/out", headers=GUARD)
    assert again.status_code == 409
    assert "signed out already by 值班室" in again.text
    assert service.duty.visitors.still_in() == []
    assert api.post("/api/duty/visitors/999/out", headers=GUARD).status_code == 404


def test_a_visitor_name_with_a_newline_or_bidi_mark_is_refused(
    books: tuple[IngestService, TestClient],
) -> None:
    service, api = books
    for name, why in (("张\u202e三", "U+202E"), ("张三\n王五", "U+000A")):
        visitor = {"name": name, "visiting": "食堂", "approved_by": "李园长"}
        refused = api.post("/api/duty/visitors", json=visitor, headers=GUARD)
        assert refused.status_code == 422
        assert why in refused.text
    assert service.duty.books.all("visitors") == []


def test_saved_records_are_never_changed_only_added_to(
    books: tuple[IngestService, TestClient],
) -> None:
    service, api = books
    visitor = {"name": "张三", "visiting": "食堂", "approved_by": "李园长"}
    rid = api.post("/api/duty/visitors", json=visitor, headers=GUARD).json()["id"]
    path = f"/api/duty/visitors/{rid}"
    for method in ("PUT", "PATCH", "DELETE"):
        assert api.request(method, path, json=visitor, headers=ADMIN).status_code == 405
    fix = {"reason": "写错了姓名", "text": "访客应为 张山"}
    added = api.post(f"{path}/addenda", json=fix, headers=GUARD)
    assert added.status_code == 201
    assert api.get(path, headers=VIEWER).json()["addenda"] == [
        {**fix, "of": rid, "id": 1, "at": added.json()["at"], "by": "值班室"}
    ]
    assert api.get(path, headers=VIEWER).json()["name"] == "张三"  # the record stands
    assert api.post(f"{path}/addenda", json=fix, headers=VIEWER).status_code == 403
    assert api.post("/api/duty/samples/1/addenda", json=fix, headers=GUARD).status_code == 404
    assert service.duty.books.verify() == []
