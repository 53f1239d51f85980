"""Rendering the console's pages and fragments (Jinja2, every value escaped)."""

from __future__ import annotations

import hashlib
from importlib import resources
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader

from campuswatch.clock import now_ms
from ingest.app import IngestService
from ingest.people.principal import Principal
from ingest.web.console import views
from ingest.web.console.page_text import WORDS, say
from ingest.web.forms import csrf_binding


def _asset_version() -> str:
    """A digest of the script and style sheet: a browser fetches them again when they
    changed (an upgrade), never serving a new page with an old script."""
    digest = hashlib.sha256()
    for name in ("console.js", "console.css"):
        digest.update((resources.files("ingest.web.console") / "static" / name).read_bytes())
    return digest.hexdigest()[:10]


ASSET_VERSION = _asset_version()
# Pages load nothing from another host, run no inline script and cannot be framed.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self';"
        " connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_AGE_KEYS = ("age.never", "age.now", "age.s", "age.min", "age.h", "age.d")


class Pages:
    """The templates of one service, with its language and clock."""

    def __init__(self, service: IngestService) -> None:
        self.service = service
        self.lang = service.config.site.language
        env = Environment(
            loader=PackageLoader("ingest.web.console", "templates"),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.globals.update(
            t=self._t,
            site_name=service.config.site.name or service.config.site.id,
            asset_version=ASSET_VERSION,
            age_words={key: WORDS.say(key, self.lang) for key in _AGE_KEYS},
            silent=lambda card: views.silent(card, now_ms(service.clock)),
            age=lambda seen: views.age(seen, now_ms(service.clock), self.lang),
        )
        self.env = env

    def _t(self, key: str, **values: object) -> str:
        return say(key, self.lang, **values)

    def fragment(self, template: str, /, **context: Any) -> str:
        """A template rendered on its own (a card, a board section)."""
        return self.env.get_template(template).render(now_ms=now_ms(self.service.clock), **context)

    def page(
        self,
        request: Request,
        template: str,
        principal: Principal | None,
        status: int = 200,
        /,
        *,
        binding: str | None = None,
        **context: Any,
    ) -> HTMLResponse:
        """A whole page, with the person, their CSRF token and the security headers
        (``binding``: what the CSRF token is bound to, when not the request's own)."""
        binding = binding or csrf_binding(request, principal)
        csrf = self.service.csrf.token(binding, self.service.clock.time()) if binding else None
        html = self.fragment(template, person=principal, csrf=csrf, **context)
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    def message(
        self,
        request: Request,
        principal: Principal | None,
        status: int,
        title: str,
        message: str,
        tone: str = "alarm",
        back: str | None = None,
    ) -> HTMLResponse:
        """A page that says one thing: why a request was refused, or that it worked."""
        return self.page(
            request,
            "message.html",
            principal,
            status,
            title=title,
            message=message,
            tone=tone,
            back=back,
        )
