"""What several Safar processes for one bot must agree on: the webhook secret, and who polls.

Webhook mode scales out: every replica takes `POST /telegram/webhook`, and Telegram checks
nothing but the secret it echoes back. So the secret must be the same on every replica: it is
TELEGRAM_WEBHOOK_SECRET, or, when that is unset, derived from the bot token (an HMAC with a
fixed label), which every replica has. Random per process, it would break the replicas that
did not call setWebhook last.

Polling mode does not: Telegram gives one `getUpdates` connection per bot, and a second one
makes both fail with 409 Conflict. A lease in Redis (bot/store/lease.py) lets one process poll;
another one in polling mode logs why and keeps its Telegram channel off (the web chat, SMS and
the outbox run as usual), instead of fighting over updates.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
import os
import random
import socket
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from bot.store.lease import Lease

log = logging.getLogger(__name__)

SECRET_LABEL = b"safar telegram webhook secret v1"
LEASE_MS = 15_000
"""A poller that stops renewing (killed) frees the bot for another process after this long."""

REFUSED = (
    "Telegram polling refused: process %s already polls this bot, and Telegram allows one "
    "poller per bot. The Telegram channel of this process is off; the web chat, SMS and the "
    "outbox run. To run several processes, use webhooks (set TELEGRAM_WEBHOOK_URL), or stop "
    "the other process and restart this one."
)


def webhook_secret_for(token: str) -> str:
    """The same on every replica with this token, and only [A-Za-z0-9_-] (Telegram's rule);
    it reveals nothing of the token."""
    digest = hmac.new(token.encode(), SECRET_LABEL, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class PollingLease:
    """One poller per bot across every process on this Redis and prefix."""

    def __init__(self, redis: Redis, *, prefix: str, token: str, ttl_ms: int = LEASE_MS) -> None:
        bot = hashlib.sha256(token.encode()).hexdigest()[:16]  # no token in a key
        owner = f"{socket.gethostname()}:{os.getpid()}:{random.randrange(1 << 30):x}"
        self.lease = Lease(redis, prefix=prefix, name=f"tg-poll:{bot}", owner=owner, ttl_ms=ttl_ms)
        self._task: asyncio.Task[None] | None = None

    async def take(self) -> str | None:
        """None when this process may poll (it holds the lease, or Redis cannot tell: then
        polling beats a bot that answers nobody); else who polls, for the message."""
        held = await self.lease.renew()
        if held is False:
            holder = await self.lease.holder() or "another"
            log.error(REFUSED, holder)
            return holder
        if held is None:
            log.warning("Redis unreachable: polling Telegram without knowing who else does")
        return None

    def keep(self, on_lost: Callable[[str], Awaitable[None]]) -> None:
        """Renew in the background while polling; `on_lost(holder)` if another process took
        the lease meanwhile (this one was cut off from Redis longer than the lease)."""
        self._task = asyncio.create_task(self._renew(on_lost), name="telegram-poll-lease")

    async def _renew(self, on_lost: Callable[[str], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(self.lease.ttl_ms / 3000)
            if await self.lease.renew() is False:
                holder = await self.lease.holder() or "another"
                log.error(REFUSED, holder)
                await on_lost(holder)
                return

    async def release(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
            await self.lease.release()
