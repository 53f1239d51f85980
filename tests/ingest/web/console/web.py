"""Helpers for the console's tests: a service with people and a smoke rule, logging in
through the real form, and raising alarms over MQTT."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import orjson
from fastapi.testclient import TestClient

from tests.harness import SMOKE_RULE, Publisher, envelope, reading
from tests.receivers import HttpReceiver

PEOPLE = {
    "zhang": ("张师傅", "guard", "guard password 1"),
    "wang": ("王主任", "admin", "admin password 1"),
    "li": ("李老师", "viewer", "viewer password 1"),
}
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def alerting_config(config: dict[str, Any], receiver: HttpReceiver) -> dict[str, Any]:
    """The test config with the patrol's webhook and the smoke rule."""
    config["channels"] = {"patrol": {"type": "webhook", "url": receiver.url()}}
    config["rules"] = [SMOKE_RULE]
    return config


def csrf_of(html: str) -> str:
    """The CSRF token of a page's first form."""
    found = _CSRF.search(html)
    assert found, html[:2000]
    return found.group(1)


def page_csrf(html: str) -> str:
    """The page's CSRF token for scripts (``<meta name="csrf-token">``)."""
    found = _META.search(html)
    assert found, html[:2000]
    return found.group(1)


def log_in(
    client: TestClient | httpx.Client, login: str, password: str | None = None
) -> httpx.Response:
    """Log in through the form; the client keeps the session cookie."""
    form = client.get("/login")
    password = password if password is not None else PEOPLE[login][2]
    data = {"csrf": csrf_of(form.text), "login": login, "password": password, "next": "/"}
    return client.post("/login", data=data, follow_redirects=False)


def smoke(
    publisher: Publisher, config: dict[str, Any], seq: int, on: bool, device: str = "smoke-1"
) -> None:
    """A smoke detector's reading over MQTT, now."""
    root = config["mqtt"]["topic_root"]
    now = int(time.time() * 1000)
    payload = envelope("gw-main", seq, [reading(device, "smoke", now, smoke=on)])
    publisher.publish(f"{root}/sunshine-kg/gw-main/readings", payload)


def meta(publisher: Publisher, config: dict[str, Any], devices: list[dict[str, Any]]) -> None:
    """The gateway's retained device list."""
    root = config["mqtt"]["topic_root"]
    doc = {"v": 1, "gateway": "gw-main", "devices": devices}
    publisher.publish(f"{root}/sunshine-kg/gw-main/meta", orjson.dumps(doc), retain=True)
