"""Who may see the staff pages: whoever knows STAFF_TOKEN, as a login cookie or a bearer token.

- A person logs in once with a form; the cookie then holds not the token but an expiry signed
  with it (HMAC), so a stolen cookie dies in `COOKIE_TTL` and changing STAFF_TOKEN logs
  everyone out. The cookie is HttpOnly, SameSite=Strict and Secure, except on plain http on
  a loopback host (a laptop), where a browser would otherwise drop it.
- Tools send `Authorization: Bearer <STAFF_TOKEN>`.
- Every comparison is constant-time, and an address that fails `FAILURES` times in
  `WINDOW` seconds is refused for the rest of the window, even with the right token.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Literal

from aiohttp import web

from bot.store.base import StoreUnavailable
from bot.store.logins import FailedLogins

log = logging.getLogger(__name__)

COOKIE = "safar_staff"
COOKIE_TTL = 12 * 3600
"""A working day: long enough not to log in twice, short enough for a forgotten laptop."""
FAILURES = 10
WINDOW = 15 * 60

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Verdict = Literal["ok", "missing", "wrong", "blocked"]


class StaffAuth:
    def __init__(self, token: str, logins: Callable[[], FailedLogins]) -> None:
        self._token = token.encode()
        self._logins = logins
        self._key = hashlib.sha256(b"safar-staff-cookie:" + self._token).digest()

    # -- tokens and cookies ------------------------------------------------------------------

    def token_ok(self, given: str) -> bool:
        return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), self._token)

    def cookie_value(self, now: float | None = None) -> str:
        expires = int((time.time() if now is None else now) + COOKIE_TTL)
        return f"{expires}.{self._sign(str(expires))}"

    def cookie_ok(self, value: str, now: float | None = None) -> bool:
        expires, _, signature = value.partition(".")
        if not expires.isdigit() or not hmac.compare_digest(signature, self._sign(expires)):
            return False
        return int(expires) > (time.time() if now is None else now)

    def _sign(self, message: str) -> str:
        return hmac.new(self._key, message.encode(), hashlib.sha256).hexdigest()

    # -- requests ----------------------------------------------------------------------------

    async def check(self, request: web.Request) -> Verdict:
        """'ok' for a valid cookie or bearer token; a wrong bearer token counts as a failure."""
        cookie = request.cookies.get(COOKIE)
        if cookie and self.cookie_ok(cookie):
            return "ok"
        header = request.headers.get("Authorization", "")
        if not header:
            return "missing"
        scheme, _, given = header.partition(" ")
        return await self.attempt(request, given.strip() if scheme.lower() == "bearer" else "")

    async def attempt(self, request: web.Request, given: str) -> Verdict:
        """A login with `given` as the token: 'ok', 'wrong', or 'blocked' after too many."""
        logins = self._logins()
        address = request.remote or "?"
        try:
            if await logins.blocked(address):
                return "blocked"
        except StoreUnavailable:
            log.warning("staff login: failures cannot be counted without Redis; refused")
            return "blocked"  # never let an outage turn the limit off
        if given and self.token_ok(given):
            return "ok"
        try:
            count = await logins.failed(address)
        except StoreUnavailable:
            return "blocked"
        log.warning("staff login failed (%d in the last %d min)", count, WINDOW // 60)
        return "blocked" if count > FAILURES else "wrong"

    def set_cookie(self, request: web.Request, response: web.StreamResponse) -> None:
        response.set_cookie(
            COOKIE,
            self.cookie_value(),
            max_age=COOKIE_TTL,
            path="/staff",
            httponly=True,
            samesite="Strict",
            secure=not is_loopback_http(request),
        )

    @staticmethod
    def clear_cookie(response: web.StreamResponse) -> None:
        response.del_cookie(COOKIE, path="/staff")


def is_loopback_http(request: web.Request) -> bool:
    """Plain http to localhost: the one case where a Secure cookie would never come back."""
    if request.scheme != "http":
        return False
    host = (request.url.host or "").strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
