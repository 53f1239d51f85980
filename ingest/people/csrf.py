"""CSRF tokens: every state-changing form (and every cookie-authenticated API write) must
carry one made for the same browser, so another site cannot make a person's browser act.

A token is bound to the browser's session token (logged in) or to its anonymous cookie
(the login and ack-link forms), carries the time it was made and is signed with the link
key: ``ISSUED.SIG``. It is valid for ``valid_s`` seconds.
"""

from __future__ import annotations

import hmac
import secrets

from ingest.links import LinkKeyError, LinkSigner, mac

ANON_COOKIE = "cw_anon"


class Csrf:
    """Makes and checks CSRF tokens of one service."""

    def __init__(self, signer: LinkSigner, valid_s: int) -> None:
        self.signer = signer
        self.valid_s = valid_s
        # While the link key is unusable (a health problem) forms still work: they are
        # signed with a key of this process (the forms open then fail once after a restart).
        self._spare_key = secrets.token_bytes(32)

    def token(self, binding: str, now_s: float) -> str:
        """A token for forms of the browser identified by ``binding``."""
        issued = str(int(now_s))
        return f"{issued}.{self._signature(binding, issued)}"

    def _signature(self, binding: str, issued: str) -> str:
        try:
            return self.signer.signature("csrf", binding, issued)
        except LinkKeyError:
            return mac(self._spare_key, "csrf", binding, issued)

    def check(self, token: str | None, binding: str | None, now_s: float) -> bool:
        """True when ``token`` was made for ``binding`` and has not expired."""
        if not token or not binding or token.count(".") != 1:
            return False
        issued, sig = token.split(".")
        if not issued.isdigit() or not 0 <= now_s - int(issued) <= self.valid_s:
            return False
        return hmac.compare_digest(self._signature(binding, issued).encode(), sig.encode())


def new_anonymous_id() -> str:
    """A random id for a browser that is not logged in (the anonymous cookie)."""
    return secrets.token_urlsafe(24)
