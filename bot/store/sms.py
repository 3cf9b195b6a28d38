"""What the SMS channel keeps in Redis besides sessions: the opt-out list, the replies already
given (for Twilio's retries) and delivery failures.

Key layout (the store's prefix, `safar` by default; `<id>` is the same keyed hash of the phone
number that names the person's session, so no key holds a number):
  safar:sms:optout:<id>    the person sent STOP. No expiry: an opt-out is a legal request and
                           holds until they send START.
  safar:sms:msg:<sid>      the TwiML given for Twilio message <sid>: "…pending" while it is
                           being answered (6 s, renewed while it is), then the reply (1 day)
  safar:sms:failed         the last 1,000 delivery failures (JSON, number hashed), 30 days
  safar:sms:failed:codes   Twilio error code -> count, 30 days
"""

from __future__ import annotations

import json
import time
from typing import Any, Literal

from redis.asyncio import Redis

from bot.store.base import SessionKey, guarded

CHANNEL = "sms"
PENDING = "\x00pending"
PENDING_TTL = 6
"""The claim is renewed every 2 s while the answer is being made (`hold`), so it outlives a
slow turn but not the process: after a crash it runs out within seconds, and Twilio's retry
(which comes after its 15 s wait) is answered instead of waiting for an answer that never
comes."""
REPLY_TTL = 3600
"""Twilio retries a webhook within seconds to minutes: an hour covers it, not a day."""
FAILURES_KEPT = 1000
FAILURES_TTL = 30 * 86400

Claim = Literal["claimed", "pending", "done"]


def session_key(phone: str) -> SessionKey:
    return SessionKey(CHANNEL, phone)


@guarded
class SmsState:
    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = "safar",
        secret: bytes,
        old_secret: bytes | None = None,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.secret = secret
        self.old_secret = old_secret
        """SAFAR_SECRET_OLD after a rotation: an opt-out kept under it still counts."""

    def user_id(self, phone: str) -> str:
        """The pseudonym of a phone number, the same one the session store uses."""
        return session_key(phone).digest(self.secret)

    def optout_key(self, phone: str) -> str:
        return f"{self.prefix}:sms:optout:{self.user_id(phone)}"

    def optout_keys(self, phone: str) -> list[str]:
        """The opt-out key under the secret, and under the old one while a rotation is on."""
        keys = [self.optout_key(phone)]
        if self.old_secret:
            old = session_key(phone).digest(self.old_secret)
            keys.append(f"{self.prefix}:sms:optout:{old}")
        return keys

    def message_key(self, sid: str) -> str:
        return f"{self.prefix}:sms:msg:{sid}"

    # -- opt-out ---------------------------------------------------------------------------

    async def opted_out(self, phone: str) -> bool:
        return bool(await self.redis.exists(*self.optout_keys(phone)))

    async def opt_out(self, phone: str) -> bool:
        """Put the number on the list; True if it was not on it already."""
        return bool(await self.redis.set(self.optout_key(phone), int(time.time()), nx=True))

    async def opt_in(self, phone: str) -> bool:
        """Take the number off the list; True if it was on it."""
        return bool(await self.redis.delete(*self.optout_keys(phone)))

    # -- one reply per Twilio message --------------------------------------------------------

    async def claim(self, sid: str) -> tuple[Claim, str | None]:
        """Who answers message `sid`: us ("claimed"), someone busy with it ("pending"), or
        nobody, because it was answered already ("done", with the reply given then)."""
        key = self.message_key(sid)
        if await self.redis.set(key, PENDING, nx=True, ex=PENDING_TTL):
            return "claimed", None
        value = await self.redis.get(key)
        if value is None:  # expired between the two calls: try once more
            if await self.redis.set(key, PENDING, nx=True, ex=PENDING_TTL):
                return "claimed", None
            value = await self.redis.get(key)
        text = _text(value)
        if text is None or text == PENDING:
            return "pending", None
        return "done", text

    async def hold(self, sid: str) -> None:
        """Renew our claim on `sid` while its answer is still being made."""
        await self.redis.set(self.message_key(sid), PENDING, xx=True, ex=PENDING_TTL)

    async def reply_for(self, sid: str) -> str | None:
        """The reply given for `sid`, or None while it is still pending (or unknown)."""
        text = _text(await self.redis.get(self.message_key(sid)))
        return None if text is None or text == PENDING else text

    async def remember(self, sid: str, twiml: str) -> None:
        await self.redis.set(self.message_key(sid), twiml, ex=REPLY_TTL)

    async def release(self, sid: str) -> None:
        """Give a claim back after a failure, so Twilio's retry gets a real answer."""
        key = self.message_key(sid)
        if _text(await self.redis.get(key)) == PENDING:
            await self.redis.delete(key)

    # -- delivery failures -----------------------------------------------------------------

    async def record_failure(
        self, *, sid: str, status: str, code: str | None, phone: str | None
    ) -> None:
        entry = {
            "sid": sid,
            "status": status,
            "code": code,
            "user": self.user_id(phone) if phone else None,
            "at": int(time.time()),
        }
        key, codes = f"{self.prefix}:sms:failed", f"{self.prefix}:sms:failed:codes"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lpush(key, json.dumps(entry))
            pipe.ltrim(key, 0, FAILURES_KEPT - 1)
            pipe.expire(key, FAILURES_TTL)
            pipe.hincrby(codes, code or "none", 1)
            pipe.expire(codes, FAILURES_TTL)
            await pipe.execute()

    async def failures(self, limit: int = 100) -> list[dict[str, Any]]:
        """The latest failures first."""
        raw = await self.redis.lrange(f"{self.prefix}:sms:failed", 0, limit - 1)
        return [json.loads(item) for item in raw]

    async def failure_codes(self) -> dict[str, int]:
        raw = await self.redis.hgetall(f"{self.prefix}:sms:failed:codes")
        return {_text(k) or "": int(v) for k, v in raw.items()}


def _text(value: bytes | str | None) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8") if isinstance(value, bytes) else value
