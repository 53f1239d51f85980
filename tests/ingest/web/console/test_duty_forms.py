"""The duty pages' forms (SPEC §11) against the running service: each saves what it says,
refuses bad input with the field and the reason and saves nothing, shows what people
typed as text, and lets a viewer read but not write."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from ingest.app import IngestService
from ingest.config import IngestConfig
from ingest.people.contacts import Contacts
from ingest.web.app import create_api
from tests.ingest.web.console.web import PEOPLE, csrf_of, log_in

HOSTILE = "<script>alert(1)</script>"
DUTY = {
    "shifts": {"day": {"from": "07:00", "to": "19:00"}, "night": {"from": "19:00", "to": "07:00"}},
    "checkpoints": [{"id": "gate", "name": "大门", "place": "gate"}],
    "rounds": [{"id": "night-round", "at": ["21:00"], "checkpoints": ["gate"]}],
}


@pytest.fixture
def web(config: dict[str, Any]) -> Iterator[tuple[IngestService, TestClient]]:
    config["duty"] = DUTY
    service = IngestService(IngestConfig.model_validate(config))
    service.start()
    for login, (name, role, password) in PEOPLE.items():
        service.people.add(login, name, role, password)
    with TestClient(create_api(service)) as client:
        yield service, client
    service.stop()


def _post(web: TestClient, page: str, action: str, **fields: str) -> Any:
    token = csrf_of(web.get(page).text)
    return web.post(action, data={"csrf": token, **fields}, follow_redirects=False)


def test_every_duty_page_opens_for_every_role(web: tuple[IngestService, TestClient]) -> None:
    _service, client = web
    pages = ["/duty", "/duty/handover", "/duty/samples", "/duty/visitors", "/duty/workorders"]
    pages += ["/duty/roster", "/duty/rounds"]
    for login in ("li", "zhang", "wang"):
        log_in(client, login)
        for path in pages:
            assert client.get(path).status_code == 200, (login, path)
        codes = client.get("/duty/checkpoints").status_code
        assert codes == (200 if login == "wang" else 403)
    assert '<a href="/duty">值班</a>' in client.get("/").text


def test_visitors_repairs_and_handover_through_their_forms(
    web: tuple[IngestService, TestClient],
) -> None:
    service, client = web
    log_in(client, "zhang")
    fields = {"name": HOSTILE, "phone": "", "visiting": "食堂", "approved_by": "王园长"}
    assert _post(client, "/duty/visitors", "/duty/visitors", **fields).status_code == 303
    page = client.get("/duty/visitors").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert HOSTILE not in page
    [visitor] = service.duty.visitors.still_in()
    out = f"/duty/visitors/{visitor.id}/out"
    assert _post(client, "/duty/visitors", out).status_code == 303
    twice = _post(client, "/duty/visitors", out)
    assert twice.status_code == 400
    assert "这位访客已由 张师傅 登记离开" in twice.text
    bad = _post(client, "/duty/visitors", "/duty/visitors", **{**fields, "phone": "call me"})
    assert bad.status_code == 400
    assert "电话：格式不对" in bad.text  # the field and why, in Chinese

    report = {"title": "厨房灯不亮", "device": "", "note": "", "mute_hours": ""}
    assert _post(client, "/duty/workorders", "/duty/workorders", **report).status_code == 303
    [order] = service.duty.books.all("workorders")
    state = f"/duty/workorders/{order.id}/state"
    assert _post(client, "/duty/workorders", state, state="done").status_code == 303
    again = _post(client, "/duty/workorders", state, state="done")
    assert again.status_code == 400
    assert "这个维修单现在是“已完成”，不能再改成“已完成”" in again.text

    assert _post(client, "/duty/handover", "/duty/handover", note="一切正常").status_code == 303
    [handover] = service.duty.books.all("handovers")
    confirm = f"/duty/handovers/{handover.id}/confirm"
    own = _post(client, "/duty/handover", confirm)
    assert own.status_code == 400
    assert "这是您自己交的班，要由接班的人确认" in own.text
    log_in(client, "wang")
    assert _post(client, "/duty/handover", confirm, note="已接班").status_code == 303
    ledger = client.get(f"/duty/handovers/{handover.id}/print").text
    assert "张师傅" in ledger
    assert "王主任" in ledger
    assert "onclick" not in ledger  # printing without inline script (the page's CSP)


def test_the_roster_page_saves_copies_and_imports_for_admins_only(
    web: tuple[IngestService, TestClient],
) -> None:
    service, client = web
    log_in(client, "zhang")
    page = "/duty/roster?from=2026-12-07"
    assert 'name="cell.' not in client.get(page).text  # a guard reads it
    refused = _post(
        client, page, "/duty/roster", **{"from": "2026-12-07", "cell.2026-12-07.night": "zhang"}
    )
    assert refused.status_code == 403
    log_in(client, "wang")
    cells = re.findall(r'name="(cell\.[^"]+)"', client.get(page).text)
    assert len(cells) == 28  # 14 days, 2 shifts
    saved = _post(
        client, page, "/duty/roster", **{"from": "2026-12-07", "cell.2026-12-07.night": "zhang，li"}
    )
    assert saved.headers["location"] == "/duty/roster?from=2026-12-07&saved=1"
    copied = _post(client, page, "/duty/roster/copy", **{"from": "2026-12-14"})
    assert copied.status_code == 303
    week = {
        (e.date.isoformat(), e.shift): e.people
        for e in service.duty.roster.entries(*_days("2026-12-14"))
    }
    assert week[("2026-12-14", "night")] == ["zhang", "li"]
    bad = _post(
        client, page, "/duty/roster/import", lines="2026-12-21,night,li\n2026-12-22,night,nobody"
    )
    assert bad.status_code == 400
    assert "没有登录名为 nobody 的人" in bad.text
    assert service.duty.roster.entries(*_days("2026-12-21"))[1].people == []  # all or nothing
    good = _post(client, page, "/duty/roster/import", lines="2026-12-21,night,li")
    assert good.status_code == 303
    assert service.duty.roster.entries(*_days("2026-12-21"))[1].people == ["li"]


def test_people_get_their_contacts_on_the_people_page(
    web: tuple[IngestService, TestClient],
) -> None:
    service, client = web
    log_in(client, "wang")
    done = _post(
        client, "/people", "/people/zhang/contacts", wecom_userid="zhangsan", phone="13812345678"
    )
    assert done.status_code == 303
    assert service.people.contacts(["zhang"])["zhang"] == Contacts(
        phone="13812345678", wecom_userid="zhangsan"
    )
    assert "13812345678 · zhangsan" in client.get("/people").text
    refused = _post(client, "/people", "/people/zhang/contacts", wecom_userid="@all")
    assert refused.status_code == 400
    assert "wecom_userid must be" in refused.text


def _days(first: str) -> tuple[date, date]:
    start = date.fromisoformat(first)
    return start, start + timedelta(days=6)


def _jpeg(width: int, height: int) -> bytes:
    image = Image.effect_noise((width, height), 64).convert("RGB")  # a photo's bytes
    out = io.BytesIO()
    info = Image.Exif()
    info[0x010F] = "PhoneMaker"  # Make
    info[0x8825] = {1: "N", 2: (31.0, 14.0, 0.0)}  # GPS
    image.save(out, "JPEG", exif=info.tobytes())
    return out.getvalue()


def test_a_repair_with_a_photo_from_the_phone(web: tuple[IngestService, TestClient]) -> None:
    service, client = web
    log_in(client, "zhang")
    token = csrf_of(client.get("/duty/workorders").text)
    fields = {"csrf": token, "title": "门锁坏了", "device": "", "note": "", "mute_hours": ""}
    shot = _jpeg(4000, 3000)
    assert len(shot) > 64 << 10  # more than any other form may send (api.max_body_kb)
    photo = {"photo": ("IMG_0001.jpg", shot, "image/jpeg")}
    done = client.post("/duty/workorders", data=fields, files=photo, follow_redirects=False)
    assert done.status_code == 303, done.text
    [order] = service.duty.books.all("workorders")
    assert order.body["photo"] is True
    kept = Image.open(service.duty.photos.path(order.id))
    assert max(kept.size) == 1600  # shrunk
    assert not kept.getexif()  # where and with what it was taken is not kept
    page = client.get("/duty/workorders").text
    assert f'src="/duty/workorders/{order.id}/photo"' in page
    assert client.get(f"/duty/workorders/{order.id}/photo").headers["content-type"] == "image/jpeg"
    bad = {"photo": ("x.jpg", b"<html>not a photo</html>", "image/jpeg")}
    refused = client.post("/duty/workorders", data=fields, files=bad, follow_redirects=False)
    assert refused.status_code == 400
    assert "这不是能识别的照片" in refused.text
    assert len(service.duty.books.all("workorders")) == 1  # nothing kept of a refused one
    big = client.post("/duty/visitors", data={"csrf": token}, files=photo, follow_redirects=False)
    assert big.status_code == 413  # only a repair's form takes a photo
    log_in(client, "li")  # a viewer may not send one: refused before it is read
    viewer = client.post("/duty/workorders", data=fields, files=photo, follow_redirects=False)
    assert viewer.status_code == 413
    log_in(client, "zhang")
    anonymous = TestClient(client.app)
    assert anonymous.get(
        f"/duty/workorders/{order.id}/photo", follow_redirects=False
    ).status_code in (303, 401)
