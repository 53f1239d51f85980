"""The live feed ends with the session (issue 20, item 6): a disabled or logged-out
person's ``/events`` stream once went on for 15 s more (26 events reached a disabled
account in 30 s). Against the real web server: the stream ends before the next event."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from ingest.app import IngestService
from ingest.config import IngestConfig
from ingest.web.server import make_server
from tests.harness import Publisher, wait_for
from tests.ingest.web.console.web import PEOPLE, log_in, meta, smoke

Cut = Callable[[IngestService, httpx.Client], None]


@contextlib.contextmanager
def _serving(config: dict[str, Any]) -> Iterator[tuple[IngestService, str]]:
    config["rules"] = []
    service = IngestService(IngestConfig.model_validate(config))
    service.start()
    name, role, password = PEOPLE["zhang"]
    service.people.add("zhang", name, role, password)
    server = make_server(service)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, 10)
    try:
        yield service, f"http://127.0.0.1:{config['api']['port']}"
    finally:
        server.should_exit = True
        thread.join(15)
        service.stop()


@pytest.fixture
def served(config: dict[str, Any]) -> Iterator[tuple[IngestService, str]]:
    with _serving(config) as both:
        yield both


def _disable(service: IngestService, _web: httpx.Client) -> None:
    service.people.set_disabled("zhang", True)


def _log_out(service: IngestService, web: httpx.Client) -> None:
    session = service.people.session(web.cookies["cw_session"])
    assert session is not None
    service.people.log_out(session.token)


@pytest.mark.parametrize("cut", [_disable, _log_out], ids=["disabled", "logged out"])
def test_the_stream_ends_when_the_session_does(
    served: tuple[IngestService, str], config: dict[str, Any], publisher: Publisher, cut: Cut
) -> None:
    service, url = served
    lines: list[str] = []
    ended = threading.Event()
    with httpx.Client(base_url=url, timeout=30) as web:
        assert log_in(web, "zhang").status_code == 303

        def listen() -> None:
            try:
                with web.stream("GET", "/events") as stream:
                    for line in stream.iter_lines():
                        lines.append(line)
            except httpx.HTTPError:
                return  # the test is over and closed the client: not an end by the server
            ended.set()

        meta(publisher, config, [{"device": "smoke-1", "kind": "smoke", "name": "厨房烟感"}])
        threading.Thread(target=listen, daemon=True).start()
        wait_for(lambda: any(line.startswith("event: hello") for line in lines), 10)
        smoke(publisher, config, 1, on=False)
        wait_for(lambda: any(line.startswith("event: board") for line in lines), 10)
        cut(service, web)
        started = time.monotonic()
        for seq in range(2, 6):
            smoke(publisher, config, seq, on=False)
            time.sleep(0.3)
        assert ended.wait(5), "the stream went on after the session ended"
        assert time.monotonic() - started < 5
    assert sum(line.startswith("event: board") for line in lines) <= 2


def test_the_stream_outlives_the_request_body_timeout(
    config: dict[str, Any], publisher: Publisher, caplog: pytest.LogCaptureFixture
) -> None:
    """The body timeout is for a request's body: a live stream (whose request has none)
    once ended after it, every time, with an ASGI error in the log."""
    config["api"]["body_timeout"] = "1s"
    lines: list[str] = []
    with _serving(config) as (_service, url), httpx.Client(base_url=url, timeout=30) as web:
        assert log_in(web, "zhang").status_code == 303

        def listen() -> None:
            with contextlib.suppress(httpx.HTTPError), web.stream("GET", "/events") as stream:
                for line in stream.iter_lines():
                    lines.append(line)

        meta(publisher, config, [{"device": "smoke-1", "kind": "smoke", "name": "厨房烟感"}])
        threading.Thread(target=listen, daemon=True).start()
        wait_for(lambda: any(line.startswith("event: hello") for line in lines), 10)
        time.sleep(2.5)  # well past the body timeout
        smoke(publisher, config, 1, on=False)
        wait_for(lambda: any(line.startswith("event: board") for line in lines), 10)
    assert "ASGI callable returned without completing" not in caplog.text
