"""Headless Chromium (Debian's ``chromium``) through Playwright, with every request the
pages make recorded, so a test can tell that nothing came from another host."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    Request,
    sync_playwright,
)

# Without the background-networking flags Chromium tries Google's hosts at every start.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 360, "height": 640}
DESK = {"width": 1280, "height": 800}


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium for the session."""
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is not installed (make setup installs it)"
    playwright: Playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Recorder:
    """The URL of every request a browser context made."""

    urls: list[str] = field(default_factory=list)

    def __call__(self, request: Request) -> None:
        self.urls.append(request.url)


@contextmanager
def phone(browser: Browser, *, desk: bool = False) -> Iterator[tuple[BrowserContext, Recorder]]:
    """A fresh browser profile with a phone's screen (or the duty-room PC's: ``desk``),
    recording its requests."""
    if desk:
        context = browser.new_context(viewport=DESK)
    else:
        context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    recorder = Recorder()
    context.on("request", recorder)
    try:
        yield context, recorder
    finally:
        context.close()


def log_in(page: Page, base: str, login: str, password: str) -> None:
    """Log in through the console's login page and wait for the board."""
    page.goto(f"{base}/login")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
