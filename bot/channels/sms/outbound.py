"""Messages that are not a direct reply (an answer that was not ready within Twilio's wait, an
operator's answer) go out through Twilio's REST API, with twilio's own client.

The client runs on twilio's AsyncTwilioHttpClient (aiohttp), so a slow Twilio never blocks the
event loop. Retries with exponential backoff and jitter on 429 and 5xx and on network errors;
any other 4xx is final. Error 21610 means the person opted out with the carrier: they go on
our own list too. The opt-out list is checked before every attempt, retries included: a STOP
that arrives while a message waits to be retried wins.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientError
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from bot.privacy import mask
from bot.sms.render import cap

log = logging.getLogger(__name__)

UNSUBSCRIBED = 21610
"""Twilio: "Attempt to send to unsubscribed recipient"."""


@dataclass(frozen=True)
class Sent:
    ok: bool
    sid: str | None = None
    reason: str = ""
    """Why not: "opted out", "twilio 21211: ...", "gave up after 5 attempts"."""
    attempts: int = 0


class Outbound:
    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        sender: str,
        opted_out: Callable[[str], Awaitable[bool]],
        on_unsubscribed: Callable[[str], Awaitable[Any]] | None = None,
        api_url: str | None = None,
        status_callback: str | None = None,
        attempts: int = 5,
        backoff: float = 0.5,
        timeout: float = 10.0,
    ) -> None:
        """`sender` is a phone number or a messaging service SID (MG...); `api_url` replaces
        https://api.twilio.com (tests point it at a loopback server)."""
        self.http = AsyncTwilioHttpClient()
        self.client = Client(account_sid, auth_token, http_client=self.http)
        if api_url:
            # twilio builds every URL from its domain's base_url: one switch moves them all
            self.client.api.base_url = api_url
        self.sender = sender
        self.opted_out = opted_out
        self.on_unsubscribed = on_unsubscribed
        self.status_callback = status_callback
        self.attempts = attempts
        self.backoff = backoff
        self.timeout = timeout

    async def send(self, to: str, body: str) -> Sent:
        """Send `body` (already in the person's script) unless `to` has opted out."""
        sender = (
            {"messaging_service_sid": self.sender}
            if self.sender.startswith("MG")
            else {"from_": self.sender}
        )
        extra = {"status_callback": self.status_callback} if self.status_callback else {}
        reason = ""
        for attempt in range(1, self.attempts + 1):
            if await self.opted_out(to):
                log.info("not sending to %s: opted out", mask(to))
                return Sent(False, reason="opted out", attempts=attempt - 1)
            try:
                # twilio passes no timeout to aiohttp by default: a hung API would hang us
                async with asyncio.timeout(self.timeout):
                    message = await self.client.messages.create_async(
                        to=to, body=cap(body), **sender, **extra
                    )
            except TwilioRestException as exc:
                reason = f"twilio {exc.code or exc.status}: {exc.msg}"
                if exc.code == UNSUBSCRIBED and self.on_unsubscribed is not None:
                    await self.on_unsubscribed(to)
                if exc.status != 429 and exc.status < 500:
                    log.warning("SMS to %s refused: %s", mask(to), reason)
                    return Sent(False, reason=reason, attempts=attempt)
            except (ClientError, TimeoutError) as exc:
                reason = f"network: {type(exc).__name__}"
            else:
                log.info("SMS to %s sent: %s", mask(to), message.sid)
                return Sent(True, sid=message.sid, attempts=attempt)
            if attempt < self.attempts:
                delay = min(30.0, self.backoff * 2 ** (attempt - 1))
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))
        log.error("SMS to %s not sent after %d attempts: %s", mask(to), self.attempts, reason)
        reason = f"gave up after {self.attempts} attempts ({reason})"
        return Sent(False, reason=reason, attempts=self.attempts)

    async def find(self, to: str, body: str, since: float) -> list[str]:
        """The sids of the messages with this text that Twilio has for `to` since `since`:
        asked before sending again a message whose first attempt may have gone through (the
        outbox tells which of them are another message's)."""
        after = dt.datetime.fromtimestamp(since - 60, dt.UTC)
        async with asyncio.timeout(self.timeout):
            found = await self.client.messages.list_async(to=to, date_sent_after=after, limit=200)
        return [m.sid for m in found if m.body == cap(body) and m.sid]

    async def close(self) -> None:
        await self.http.close()
