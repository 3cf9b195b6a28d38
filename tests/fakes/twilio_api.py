"""A loopback stand-in for Twilio's REST API, speaking its wire format for one resource:
POST /2010-04-01/Accounts/{AccountSid}/Messages.json.

Like the real API it wants HTTP Basic auth (account SID : auth token), form-encoded fields
(To, Body, From or MessagingServiceSid, StatusCallback), and answers with Twilio-shaped JSON:
201 and a Message resource, or an error object {code, message, more_info, status}. Tests
can queue failures (`fail_next(429, 503)`) and mark numbers as unsubscribed (error 21610).
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import email.utils
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

API_VERSION = "2010-04-01"
ERRORS = {
    400: (21604, "A 'To' phone number is required."),
    401: (20003, "Authenticate"),
    404: (20404, "The requested resource was not found"),
    429: (20429, "Too Many Requests"),
    500: (20500, "Internal Server Error"),
    503: (20503, "Service Unavailable"),
}


@dataclass
class Recorded:
    account: str
    form: dict[str, str]
    status: int
    auth_ok: bool
    at: float = field(default_factory=time.monotonic)


@dataclass
class FakeTwilio:
    account_sid: str
    auth_token: str
    requests: list[Recorded] = field(default_factory=list)
    unsubscribed: set[str] = field(default_factory=set)
    _failures: list[int] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    url: str = ""
    delay: float = 0.0
    """Seconds each message creation takes, as a slow API would (before it is recorded)."""
    messages: list[dict[str, Any]] = field(default_factory=list)
    """Every Message resource created, for GET Messages.json."""

    @property
    def sent(self) -> list[dict[str, str]]:
        """The form of every message the API accepted (201), in order."""
        return [r.form for r in self.requests if r.status == 201]

    def fail_next(self, *statuses: int) -> None:
        """Answer the next requests with these HTTP statuses, then succeed again."""
        self._failures.extend(statuses)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post(f"/{API_VERSION}/Accounts/{{account}}/Messages.json", self._create)
        app.router.add_get(f"/{API_VERSION}/Accounts/{{account}}/Messages.json", self._list)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _auth_ok(self, request: web.Request, account: str) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == self.account_sid == account and password == self.auth_token

    async def _create(self, request: web.Request) -> web.Response:
        account = request.match_info["account"]
        form = {k: str(v) for k, v in (await request.post()).items()}
        if self.delay:
            await asyncio.sleep(self.delay)
        auth_ok = self._auth_ok(request, account)
        status, code, extra = 201, None, ""
        if not auth_ok:
            status = 401
        elif self._failures:
            status = self._failures.pop(0)
        elif not form.get("To"):
            status = 400
        elif not (form.get("From") or form.get("MessagingServiceSid")):
            status, code = 400, 21603
            extra = "A 'From' phone number is required."
        elif not form.get("Body"):
            status, code, extra = 400, 21602, "Message body is required."
        elif form["To"] in self.unsubscribed:
            status, code = 400, 21610
            extra = "Attempt to send to unsubscribed recipient"
        self.requests.append(Recorded(account, form, status, auth_ok))
        if status != 201:
            default_code, default_message = ERRORS.get(status, (20500, "Error"))
            return web.json_response(
                {
                    "code": code or default_code,
                    "message": extra or default_message,
                    "more_info": f"https://www.twilio.com/docs/errors/{code or default_code}",
                    "status": status,
                },
                status=status,
            )
        message = self._message(account, form)
        self.messages.append(message)
        return web.json_response(message, status=201)

    async def _list(self, request: web.Request) -> web.Response:
        """GET Messages.json with Twilio's filters To and DateSent> (one page is enough here)."""
        account = request.match_info["account"]
        if not self._auth_ok(request, account):
            return web.json_response(
                {"code": 20003, "message": "Authenticate", "status": 401}, status=401
            )
        to = request.query.get("To")
        after = request.query.get("DateSent>")
        since = dt.datetime.fromisoformat(after.replace("Z", "+00:00")) if after else None
        found = [
            m
            for m in self.messages
            if (to is None or m["to"] == to)
            and (since is None or email.utils.parsedate_to_datetime(m["date_sent"]) >= since)
        ]
        uri = f"/{API_VERSION}/Accounts/{account}/Messages.json"
        return web.json_response(
            {
                "messages": found,
                "end": max(0, len(found) - 1),
                "first_page_uri": f"{uri}?PageSize=50&Page=0",
                "next_page_uri": None,
                "page": 0,
                "page_size": 50,
                "previous_page_uri": None,
                "start": 0,
                "uri": f"{uri}?PageSize=50&Page=0",
            }
        )

    @staticmethod
    def _message(account: str, form: dict[str, str]) -> dict[str, Any]:
        sid = "SM" + secrets.token_hex(16)
        now = email.utils.format_datetime(email.utils.localtime(), usegmt=False)
        uri = f"/{API_VERSION}/Accounts/{account}/Messages/{sid}"
        return {
            "account_sid": account,
            "api_version": API_VERSION,
            "body": form["Body"],
            "date_created": now,
            "date_sent": now,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "accepted" if form.get("MessagingServiceSid") else "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": form["To"],
            "uri": f"{uri}.json",
        }
