"""Shift swaps (SPEC §11 roster): asked by the person on the shift, consented by the taker,
approved by an admin — and only then the roster changes, in the approval's transaction;
every other step is refused with its reason."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ingest.app import IngestService
from ingest.config import IngestConfig
from ingest.duty.roster import RosterEntry
from ingest.web.app import create_api
from tests.clock import ManualClock
from tests.ingest.reports.data import local
from tests.ingest.web.console.web import PEOPLE, csrf_of, log_in

NIGHT = date(2026, 12, 8)
SHIFTS = {"day": {"from": "07:00", "to": "19:00"}, "night": {"from": "19:00", "to": "07:00"}}


@pytest.fixture
def web(config: dict[str, Any]) -> Iterator[tuple[IngestService, TestClient]]:
    config["duty"] = {"shifts": SHIFTS}
    clock = ManualClock(local("2026-12-07 10:00").timestamp())
    service = IngestService(IngestConfig.model_validate(config), clock)
    service.start()
    for login, (name, role, password) in PEOPLE.items():
        service.people.add(login, name, role, password)
    service.people.add("zhao", "赵阿姨", "guard", "canteen pass 1")
    service.duty.roster.put([RosterEntry(date=NIGHT, shift="night", people=["zhang"])], "王主任")
    with TestClient(create_api(service)) as client:
        yield service, client
    service.stop()


def _post(client: TestClient, action: str, **fields: str) -> Any:
    token = csrf_of(client.get("/duty/roster").text)
    return client.post(action, data={"csrf": token, **fields}, follow_redirects=False)


def _night(service: IngestService) -> list[str]:
    return service.duty.roster.entries(NIGHT, NIGHT)[1].people


def test_a_swap_needs_the_takers_consent_and_an_admins_approval(
    web: tuple[IngestService, TestClient],
) -> None:
    service, client = web
    log_in(client, "zhang")
    roster = client.get("/duty/roster").text
    assert "申请换班" in roster
    assert f'<option value="{NIGHT}|night">12月8日 夜班</option>' in roster  # as people say it
    asked = _post(client, "/duty/swaps", shift=f"{NIGHT}|night", taker="zhao")
    assert asked.status_code == 303
    [swap] = service.duty.books.all("swaps")
    assert _post(client, f"/duty/swaps/{swap.id}/approve").status_code == 400  # not an admin
    assert _post(client, f"/duty/swaps/{swap.id}/consent").status_code == 400  # not the taker
    log_in(client, "zhao", "canteen pass 1")
    asking = client.get("/duty/roster").text
    assert "同意代班" in asking
    assert "2026-12-08 夜班" in asking  # the swap's line names the shift, not its id
    assert _post(client, f"/duty/swaps/{swap.id}/consent").status_code == 303
    assert _night(service) == ["zhang"]  # not before an admin approves
    again = _post(client, f"/duty/swaps/{swap.id}/consent")
    assert again.status_code == 400
    log_in(client, "wang")
    assert _post(client, f"/duty/swaps/{swap.id}/approve").status_code == 303
    assert _night(service) == ["zhao"]
    assert service.duty.swaps.view(swap)["state"] == "approved"
    roster = service.duty.books.all("roster")
    assert (roster[-1].by, roster[-1].body["people"]) == ("王主任", ["zhao"])
    assert service.duty.books.verify() == []
    refused = _post(client, f"/duty/swaps/{swap.id}/refuse")
    assert refused.status_code == 400
    assert "这次换班已经结束" in refused.text  # the console says why in Chinese


def test_a_swap_of_someone_elses_shift_or_by_a_token_is_refused(
    web: tuple[IngestService, TestClient],
) -> None:
    service, client = web
    log_in(client, "zhao", "canteen pass 1")
    refused = _post(client, "/duty/swaps", shift=f"{NIGHT}|night", taker="li")
    assert refused.status_code == 400
    assert "您不在这个班次上" in refused.text
    token = {"Authorization": "Bearer guard-token-1"}
    body = {"date": str(NIGHT), "shift": "night", "taker": "li"}
    assert client.post("/api/duty/swaps", json=body, headers=token).status_code == 403
    assert service.duty.books.all("swaps") == []
