"""Hand-off tickets in Redis: who waits for an operator, what was said, who answers.

Key layout (the store's prefix, `safar` by default; `<u>` is the person's keyed pseudonym):
  safar:t:seq             the last ticket number
  safar:t:<n>             the ticket (JSON): channel, address, language, queue, status …
  safar:t:<n>:msgs        the conversation with the operator (JSON lines, last 200)
  safar:t:<n>:cb          the phone number of a callback the person asked for
  safar:t:<n>:refs        the staff-chat keys below that point at this ticket
  safar:t:ref:<chat>:<x>  a forum topic ("th<id>") or a bot message ("m<id>") -> ticket
  safar:t:user:<u>        the person's active ticket
  safar:t:of:<u>          every ticket of the person (for /forget)
  safar:t:queue           waiting tickets, urgent first, then oldest first
  safar:t:active          open, waiting and taken tickets

The address (chat id or phone number) is the one thing a relay cannot do without; it lives
only in the ticket and goes with it. Every key expires `retention` seconds after its last
change, a callback number after `callback_ttl`; `/forget` removes all of them at once.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from redis.asyncio import Redis

from bot.engine.types import Handoff
from bot.store.base import SessionKey, guarded

Status = Literal["open", "waiting", "taken", "closed"]
MESSAGES_KEPT = 200
URGENT_FIRST = 10**12
"""Queue score = this for normal tickets + the time opened: urgent ones sort before all."""


@dataclass
class Ticket:
    id: str
    channel: str
    address: str
    user: str
    lang: str
    hotline: str
    queue: str = "normal"
    topic: str | None = None
    reason: str = "asked"
    status: Status = "open"
    opened: float = 0.0
    closed: float | None = None
    out_of_hours: bool = False
    taken_by: str | None = None
    thread: int | None = None
    """The forum topic of this ticket in the staff chat, when the chat is a forum."""
    anchor: int | None = None
    """The first message about this ticket in the staff chat (reply threads hang on it)."""
    first_answer: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def urgent(self) -> bool:
        return self.queue == "urgent"

    def key(self) -> SessionKey:
        return SessionKey(self.channel, self.address)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: bytes | str) -> Ticket:
        data = json.loads(raw)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class Message:
    who: Literal["person", "operator", "bot"]
    text: str
    at: float


# Open a ticket unless the person has one: one round trip, and two processes cannot both open.
_OPEN = """
local existing = redis.call('GET', KEYS[1])
if existing then return {0, existing} end
local n = tostring(redis.call('INCR', KEYS[2]))
redis.call('EXPIRE', KEYS[2], ARGV[3])
local tkey = ARGV[4] .. n
local ticket = string.gsub(ARGV[1], '"id": "%?"', '"id": "' .. n .. '"', 1)
redis.call('SET', tkey, ticket, 'EX', ARGV[3])
redis.call('SET', KEYS[1], n, 'EX', ARGV[3])
redis.call('SADD', KEYS[3], n)
redis.call('EXPIRE', KEYS[3], ARGV[3])
redis.call('ZADD', KEYS[4], ARGV[2], n)
redis.call('EXPIRE', KEYS[4], ARGV[3])
redis.call('SADD', KEYS[5], n)
redis.call('EXPIRE', KEYS[5], ARGV[3])
return {1, n}
"""


@guarded
class TicketStore:
    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = "safar",
        secret: bytes,
        retention: int = 30 * 86400,
        callback_ttl: int = 3 * 86400,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.secret = secret
        self.retention = retention
        self.callback_ttl = callback_ttl
        self._open = redis.register_script(_OPEN)

    # -- keys ------------------------------------------------------------------------------

    def _k(self, *parts: object) -> str:
        return ":".join((self.prefix, "t", *map(str, parts)))

    def _user(self, key: SessionKey) -> str:
        return key.digest(self.secret)

    # -- tickets ---------------------------------------------------------------------------

    async def open(
        self, key: SessionKey, lang: str, handoff: Handoff, now: float | None = None
    ) -> tuple[Ticket, bool]:
        """The person's ticket: a new one (True), or the one they already have (False)."""
        now = time.time() if now is None else now
        user = self._user(key)
        ticket = Ticket(
            id="?",
            channel=key.channel,
            address=key.user,
            user=user,
            lang=lang,
            hotline=handoff.hotline,
            queue=handoff.queue,
            topic=handoff.topic,
            reason=handoff.reason,
            status="open" if handoff.open_now else "waiting",
            opened=now,
            out_of_hours=not handoff.open_now,
        )
        score = now + (0 if ticket.urgent else URGENT_FIRST)
        created, n = await self._open(
            keys=[
                self._k("user", user),
                self._k("seq"),
                self._k("of", user),
                self._k("queue"),
                self._k("active"),
            ],
            args=[ticket.to_json(), score, self.retention, self._k("")],
        )
        found = await self.get(_text(n))
        assert found is not None
        return found, bool(created)

    async def get(self, ticket_id: str) -> Ticket | None:
        raw = await self.redis.get(self._k(ticket_id))
        return Ticket.from_json(raw) if raw else None

    async def active_for(self, key: SessionKey) -> Ticket | None:
        n = await self.redis.get(self._k("user", self._user(key)))
        return await self.get(_text(n)) if n else None

    async def save(self, ticket: Ticket) -> None:
        await self.redis.set(self._k(ticket.id), ticket.to_json(), ex=self.retention)

    async def position(self, ticket: Ticket) -> int:
        rank: Any = await self.redis.zrank(self._k("queue"), ticket.id)
        return 0 if rank is None else int(rank) + 1

    async def take(self, ticket: Ticket, operator: str) -> Ticket:
        ticket.status, ticket.taken_by = "taken", operator
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self._k(ticket.id), ticket.to_json(), ex=self.retention)
            pipe.zrem(self._k("queue"), ticket.id)
            await pipe.execute()
        return ticket

    async def answered(self, ticket: Ticket, now: float | None = None) -> Ticket:
        """An operator wrote: the ticket leaves the queue; the first answer time is kept."""
        if ticket.first_answer is None:
            ticket.first_answer = time.time() if now is None else now
        if ticket.status in ("open", "waiting"):
            ticket.status = "taken"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self._k(ticket.id), ticket.to_json(), ex=self.retention)
            pipe.zrem(self._k("queue"), ticket.id)
            await pipe.execute()
        return ticket

    async def close(self, ticket: Ticket, now: float | None = None) -> Ticket:
        ticket.status, ticket.closed = "closed", time.time() if now is None else now
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self._k(ticket.id), ticket.to_json(), ex=self.retention)
            pipe.zrem(self._k("queue"), ticket.id)
            pipe.srem(self._k("active"), ticket.id)
            pipe.delete(self._k(ticket.id, "cb"))
            user_key = self._k("user", ticket.user)
            await pipe.execute()
        # the person's pointer goes only if it still points here
        if await self.redis.get(user_key) == ticket.id.encode():
            await self.redis.delete(user_key)
        return ticket

    async def active(self) -> list[Ticket]:
        """Open, waiting and taken tickets: urgent first, then oldest first."""
        ids = [_text(i) for i in await self.redis.smembers(self._k("active"))]
        tickets = [t for t in [await self.get(i) for i in ids] if t and t.status != "closed"]
        stale = [i for i in ids if i not in {t.id for t in tickets}]
        if stale:
            await self.redis.srem(self._k("active"), *stale)
        return sorted(tickets, key=lambda t: (not t.urgent, t.opened))

    # -- the conversation --------------------------------------------------------------------

    async def add_message(self, ticket: Ticket, message: Message) -> None:
        key = self._k(ticket.id, "msgs")
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, json.dumps(asdict(message), ensure_ascii=False))
            pipe.ltrim(key, -MESSAGES_KEPT, -1)
            pipe.expire(key, self.retention)
            pipe.expire(self._k(ticket.id), self.retention)
            await pipe.execute()

    async def messages(self, ticket: Ticket, last: int = MESSAGES_KEPT) -> list[Message]:
        raw = await self.redis.lrange(self._k(ticket.id, "msgs"), -last, -1)
        return [Message(**json.loads(r)) for r in raw]

    # -- where a ticket lives in the staff chat --------------------------------------------

    async def link(self, ticket: Ticket, chat: int, ref: str) -> None:
        """`ref` is "th<topic id>" or "m<message id>": an operator's reply there is for us."""
        key = self._k("ref", chat, ref)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(key, ticket.id, ex=self.retention)
            pipe.sadd(self._k(ticket.id, "refs"), key)
            pipe.expire(self._k(ticket.id, "refs"), self.retention)
            await pipe.execute()

    async def linked(self, chat: int, ref: str) -> Ticket | None:
        n = await self.redis.get(self._k("ref", chat, ref))
        return await self.get(_text(n)) if n else None

    # -- callbacks -------------------------------------------------------------------------

    async def set_callback(self, ticket: Ticket, phone: str) -> None:
        await self.redis.set(self._k(ticket.id, "cb"), phone, ex=self.callback_ttl)

    async def callback(self, ticket: Ticket) -> str | None:
        raw = await self.redis.get(self._k(ticket.id, "cb"))
        return _text(raw) if raw else None

    async def callback_done(self, ticket: Ticket) -> bool:
        return bool(await self.redis.delete(self._k(ticket.id, "cb")))

    # -- forgetting --------------------------------------------------------------------------

    async def forget(self, key: SessionKey) -> list[Ticket]:
        """Remove every ticket of this person, their messages, callbacks and staff links."""
        user = self._user(key)
        ids = [_text(i) for i in await self.redis.smembers(self._k("of", user))]
        tickets = [t for t in [await self.get(i) for i in ids] if t is not None]
        doomed = [self._k("of", user), self._k("user", user)]
        for n in ids:
            refs = [_text(r) for r in await self.redis.smembers(self._k(n, "refs"))]
            doomed += [self._k(n), self._k(n, "msgs"), self._k(n, "cb"), self._k(n, "refs"), *refs]
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(*doomed)
            if ids:
                pipe.zrem(self._k("queue"), *ids)
                pipe.srem(self._k("active"), *ids)
            await pipe.execute()
        return tickets


def _text(value: bytes | str | int) -> str:
    if isinstance(value, bytes):
        return value.decode()
    return str(value)
