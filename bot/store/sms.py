"""What the SMS channel keeps in Redis besides sessions: the opt-out list, the replies already
given (for Twilio's retries) and delivery failures; and the two scripts an SMS turn is made of.

Key layout (the store's prefix, `safar` by default; `<id>` is the same keyed hash of the phone
number that names the person's session, so no key holds a number):
  safar:sms:optout:<id>    the person sent STOP. No expiry: an opt-out is a legal request and
                           holds until they send START.
  safar:sms:r:<id>         the person's latest messages, newest first, one entry each:
                           `<tag>\tp<ms>` while it is being answered (claimed until <ms>, 6 s,
                           renewed while it is), then `<tag>\ta<reply>`; only the newest
                           KEEP_BODIES keep their reply text. <tag> is a short hash of the
                           MessageSid. REPLY_TTL after the last message; goes with /forget.
  safar:sms:msg:<sid>      the reply to a message whose turn forgot the person (nothing of
                           theirs is left to keep it under), for Twilio's retries, REPLY_TTL
  safar:sms:failed         the last 1,000 delivery failures (JSON, number hashed), 30 days
  safar:sms:failed:codes   Twilio error code -> count, 30 days

An SMS turn is two round trips: `begin` takes the person's number in the turn order, claims the
MessageSid, reads the opt-out list and the session in one script; `commit` saves the session
(if nobody changed it meanwhile), the reply for Twilio's retries and the turn-order mark in
another, with the day's counters in the same pipeline.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from bot.engine.types import Session
from bot.store.base import SessionKey, guarded
from bot.store.order import TTL as ORDER_TTL
from bot.store.order import Ticket
from bot.store.stats import COUNT_LUA, Counts, Stage, merged

if TYPE_CHECKING:
    from bot.store.order import TurnOrder
    from bot.store.redis import RedisStore

CHANNEL = "sms"
PENDING_TTL = 6
"""The claim is renewed every 2 s while the answer is being made (`hold`), so it outlives a
slow turn but not the process: after a crash it runs out within seconds, and Twilio's retry
(which comes after its 15 s wait) is answered instead of waiting for an answer that never
comes."""
REPLY_TTL = 600
"""Seconds a reply is kept for Twilio's retries. Twilio repeats a failed or timed-out webhook
only within its connection limits: up to 5 retries (`#rc`) inside a total time (`#tt`) of 15 s
by default; a message is never retried minutes later. Ten minutes covers a raised `#tt`, a slow
answer sent by REST and clocks a little apart, and keeps what a person asked out of Redis
sooner than the hour (and the day before it) did."""
KEEP_BODIES = 2
"""Replies kept in full per person: a retry comes within seconds, before the person has sent
much more; older messages keep only the mark that they were answered (a retry of one gets an
empty reply, never a second answer). Two replies of up to ~480 characters keep a person's
Redis under 2 KB after a 16-message conversation (tests/channels/test_sms.py)."""
KEEP_ENTRIES = 32
"""Messages remembered per person within REPLY_TTL: more than anyone texts in Twilio's 15 s."""
FAILURES_KEPT = 1000
FAILURES_TTL = 30 * 86400

Claim = Literal["claimed", "pending", "done"]


def session_key(phone: str) -> SessionKey:
    return SessionKey(CHANNEL, phone)


def tag(sid: str) -> str:
    """A MessageSid in 16 characters: 64 bits tell a person's few recent messages apart."""
    return hashlib.blake2b(sid.encode(), digest_size=8).hexdigest()


_LIB = """
local function entry_of(list, tag)
  local items = redis.call('LRANGE', list, 0, -1)
  local head = tag .. '\t'
  for i, v in ipairs(items) do
    if string.sub(v, 1, #head) == head then return i - 1, string.sub(v, #head + 1), items end
  end
  return nil, nil, items
end
local function answer(list, tag, reply, ttl, keep, most)
  local at, _, items = entry_of(list, tag)
  local entry = tag .. '\ta' .. reply
  local kept = 1
  for i, v in ipairs(items) do
    local state = string.sub(v, #tag + 2)
    if i - 1 ~= at and string.sub(state, 1, 1) == 'a' and #state > 1 then
      kept = kept + 1
      if kept > tonumber(keep) then redis.call('LSET', list, i - 1, string.sub(v, 1, #tag + 2)) end
    end
  end
  if at then redis.call('LSET', list, at, entry) else
    redis.call('LPUSH', list, entry)
    redis.call('LTRIM', list, 0, tonumber(most) - 1)
  end
  redis.call('EXPIRE', list, ttl)
end
"""

# KEYS: queue, done, replies, orphan reply, session, prefs, opt-out (1 or 2)
# ARGV: number ('' to take one, '-' for the claim only), order ttl, tag ('' for none), now ms,
#       claim ms, reply ttl, most entries
_BEGIN = (
    _LIB
    + """
local number = 0
if ARGV[1] == '' then
  number = redis.call('INCR', KEYS[1])
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  if number > 1 and tonumber(redis.call('GET', KEYS[2]) or '0') < number - 1 then
    return {number, 0}
  end
elseif ARGV[1] ~= '-' then
  number = tonumber(ARGV[1])
end
if ARGV[3] ~= '' then
  local now = tonumber(ARGV[4])
  local at, state = entry_of(KEYS[3], ARGV[3])
  if not state then
    local orphan = redis.call('GET', KEYS[4])
    if orphan then return {number, 1, 'done', orphan} end
  elseif string.sub(state, 1, 1) == 'a' then
    return {number, 1, 'done', string.sub(state, 2)}
  elseif tonumber(string.sub(state, 2)) > now then
    return {number, 1, 'pending', ''}
  end
  local entry = ARGV[3] .. '\tp' .. (now + tonumber(ARGV[5]))
  if at then redis.call('LSET', KEYS[3], at, entry) else
    redis.call('LPUSH', KEYS[3], entry)
    redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[7]) - 1)
  end
  redis.call('EXPIRE', KEYS[3], ARGV[6])
end
if ARGV[1] == '-' then return {number, 1, 'claimed', ''} end
local opted = 0
for i = 7, #KEYS do opted = opted + redis.call('EXISTS', KEYS[i]) end
local session = redis.call('GET', KEYS[5])
local prefs = redis.call('GET', KEYS[6])
return {number, 1, 'claimed', '', opted, session or '', prefs or ''}
"""
)

# KEYS: session, prefs, replies, queue, done; then the day's three counter keys, if counted
# ARGV: session as read ('' none, else '=' .. it), new session, session ttl, prefs ('' none),
#       prefs ttl, tag ('' none), reply, reply ttl, keep bodies, most entries, number ('' none),
#       order ttl; then the arguments of count_day (bot/store/stats.py)
_COMMIT = (
    _LIB
    + COUNT_LUA
    + """
local now = redis.call('GET', KEYS[1])
if (now and ('=' .. now) or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
if ARGV[4] ~= '' then redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[5]) end
if ARGV[6] ~= '' then answer(KEYS[3], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10]) end
if ARGV[11] ~= '' and redis.call('EXISTS', KEYS[4]) == 1 then
  if tonumber(redis.call('GET', KEYS[5]) or '0') < tonumber(ARGV[11]) then
    redis.call('SET', KEYS[5], ARGV[11], 'EX', ARGV[12])
  end
end
if #KEYS > 5 then count_day(KEYS[6], KEYS[7], KEYS[8], ARGV, 13) end
return 1
"""
)

# KEYS: replies. ARGV: tag, reply, reply ttl, keep bodies, most entries
_REMEMBER = _LIB + "answer(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])"

# KEYS: replies. ARGV: tag, '' to give the claim back, else the new claim's end (ms)
_CLAIM = (
    _LIB
    + """
local at, state = entry_of(KEYS[1], ARGV[1])
if not at or string.sub(state, 1, 1) ~= 'p' then return 0 end
if ARGV[2] == '' then
  redis.call('LREM', KEYS[1], 1, ARGV[1] .. '\t' .. state)
else
  redis.call('LSET', KEYS[1], at, ARGV[1] .. '\tp' .. ARGV[2])
end
return 1
"""
)


@dataclass
class Begun:
    """What the first round trip of an SMS turn found."""

    ticket: Ticket
    claim: Claim = "claimed"
    reply: str | None = None
    """The reply given already ("done"): the SMS text, "" for none."""
    opted_out: bool = False
    session: Session | None = None
    read: str = ""
    """The session as it was read ("" none, "=" + the JSON): `commit` saves only over it."""


@guarded
class SmsState:
    def __init__(
        self, store: RedisStore, order: TurnOrder, *, old_secret: bytes | None = None
    ) -> None:
        self.store = store
        """Sessions: a turn reads and saves the person's in the same scripts as its SMS keys."""
        self.order = order
        """The turn order: `begin` takes the person's number, `commit` marks it done."""
        self.redis: Redis = store.redis
        self.prefix = store.prefix
        self.secret = store.secret
        self.old_secret = old_secret
        """SAFAR_SECRET_OLD after a rotation: an opt-out kept under it still counts."""
        self._shas: dict[str, str] = {}

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

    def replies_key(self, phone: str) -> str:
        return f"{self.prefix}:sms:r:{self.user_id(phone)}"

    # -- opt-out ---------------------------------------------------------------------------

    async def opted_out(self, phone: str) -> bool:
        return bool(await self.redis.exists(*self.optout_keys(phone)))

    async def opt_out(self, phone: str) -> bool:
        """Put the number on the list; True if it was not on it already."""
        return bool(await self.redis.set(self.optout_key(phone), int(time.time()), nx=True))

    async def opt_in(self, phone: str) -> bool:
        """Take the number off the list; True if it was on it."""
        return bool(await self.redis.delete(*self.optout_keys(phone)))

    # -- one turn: two round trips ---------------------------------------------------------

    async def begin(self, phone: str, sid: str, ticket: Ticket | None = None) -> Begun:
        """The first round trip of a turn: take the person's number in the turn order (unless
        `ticket` holds it already), then, if no earlier message of theirs is still being
        answered, claim `sid` ("" for none), read the opt-out list and the session. A ticket
        that is not `ready` found someone ahead: wait for them, then call again with it."""
        key = session_key(phone)
        queue, done = self.order.keys(key)
        skey, pkey = self.store.keys_for(key)
        keys = [queue, done, self.replies_key(phone), self.message_key(sid), skey, pkey]
        args = [
            "" if ticket is None else (ticket.number or ""),
            ORDER_TTL,
            tag(sid) if sid else "",
            int(time.time() * 1000),
            PENDING_TTL * 1000,
            REPLY_TTL,
            KEEP_ENTRIES,
        ]
        raw = await self._run("begin", _BEGIN, [*keys, *self.optout_keys(phone)], args)
        if ticket is None:
            ticket = Ticket(int(raw[0]), ready=bool(raw[1]))
            if not ticket.ready:
                return Begun(ticket)
        ticket.ready = True
        claim: Claim = _text(raw[2])  # type: ignore[assignment]
        if claim != "claimed":
            return Begun(ticket, claim, _text(raw[3]) if claim == "done" else None)
        session_raw, prefs = raw[5] or None, raw[6] or None
        session, _ = self.store._decode(session_raw, prefs)
        read = "" if session_raw is None else "=" + (_text(session_raw) or "")
        return Begun(ticket, "claimed", None, bool(raw[4]), session, read)

    async def commit(
        self,
        phone: str,
        begun: Begun,
        session: Session,
        *,
        sid: str,
        reply: str | None,
        also: Sequence[Stage] = (),
    ) -> bool:
        """The second round trip: save `session` if it is still as `begin` read it, `reply`
        for Twilio's retries of `sid` (None: nothing to keep), the turn-order mark and the
        day's counters, in one script; any other stage of `also` in the same pipeline. False
        when the session changed meanwhile: nothing was written (nor counted) and the turn
        should run again."""
        key = session_key(phone)
        skey, pkey = self.store.keys_for(key)
        queue, done = self.order.keys(key)
        data, prefs = self.store.encode(session)
        number = begun.ticket.number
        keys = [skey, pkey, self.replies_key(phone), queue, done]
        args: list[Any] = [
            begun.read,
            data,
            self.store.session_ttl,
            prefs or "",
            self.store.prefs_ttl,
            tag(sid) if sid and reply is not None else "",
            reply or "",
            REPLY_TTL,
            KEEP_BODIES,
            KEEP_ENTRIES,
            "" if number is None else number,
            ORDER_TTL,
        ]
        stages = merged(also)
        counts = stages[0] if stages else None
        if isinstance(counts, Counts):  # counted inside the script, if saved
            stages.pop(0)
            keys += counts.keys
            args += counts.args()
        if not stages:  # one command: redis-py's pipeline costs more than its round trip
            saved = await self._run("commit", _COMMIT, keys, args)
            begun.ticket.done = bool(saved) and number is not None
            return bool(saved)
        sha = self._sha("commit", _COMMIT)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.evalsha(sha, len(keys), *keys, *args)
            for stage in stages:
                stage(pipe)
            results = await pipe.execute(raise_on_error=False)
        saved = results[0]
        if isinstance(saved, NoScriptError):  # Redis restarted: the counters went through
            saved = await self._run("commit", _COMMIT, keys, args)
        elif isinstance(saved, Exception):
            raise saved
        if saved:
            begun.ticket.done = number is not None
        return bool(saved)

    async def claim(self, phone: str, sid: str) -> tuple[Claim, str | None]:
        """Who answers message `sid`: us ("claimed"), someone busy with it ("pending"), or
        nobody, because it was answered already ("done", with the reply given then)."""
        keys = [
            *self.order.keys(session_key(phone)),
            self.replies_key(phone),
            self.message_key(sid),
        ]
        args = ["-", ORDER_TTL, tag(sid), int(time.time() * 1000), PENDING_TTL * 1000]
        raw = await self._run("begin", _BEGIN, keys, [*args, REPLY_TTL, KEEP_ENTRIES])
        claim: Claim = _text(raw[2])  # type: ignore[assignment]
        return claim, (_text(raw[3]) if claim == "done" else None)

    async def hold(self, phone: str, sid: str) -> None:
        """Renew our claim on `sid` while its answer is still being made."""
        until = int(time.time() * 1000) + PENDING_TTL * 1000
        await self._run("claim", _CLAIM, [self.replies_key(phone)], [tag(sid), until])

    async def release(self, phone: str, sid: str) -> None:
        """Give a claim back after a failure, so Twilio's retry gets a real answer."""
        await self._run("claim", _CLAIM, [self.replies_key(phone)], [tag(sid), ""])

    async def remember(self, phone: str, sid: str, reply: str, *, forgotten: bool = False) -> None:
        """The reply (SMS text, "" for none) given for `sid`, for Twilio's retries. After a
        turn that forgot the person it is kept under the MessageSid, tied to nobody."""
        if forgotten:
            await self.redis.set(self.message_key(sid), reply, ex=REPLY_TTL)
            return
        args = [tag(sid), reply, REPLY_TTL, KEEP_BODIES, KEEP_ENTRIES]
        await self._run("remember", _REMEMBER, [self.replies_key(phone)], args)

    async def reply_for(self, phone: str, sid: str) -> str | None:
        """The reply given for `sid`, or None while it is still pending (or unknown)."""
        head = tag(sid) + "\t"
        for raw in await self.redis.lrange(self.replies_key(phone), 0, -1):
            entry = _text(raw) or ""
            if entry.startswith(head):
                state = entry[len(head) :]
                return state[1:] if state.startswith("a") else None
        return _text(await self.redis.get(self.message_key(sid)))

    def _sha(self, name: str, script: str) -> str:
        sha = self._shas.get(name)
        if sha is None:
            sha = self._shas[name] = hashlib.sha1(script.encode()).hexdigest()
        return sha

    async def _run(self, name: str, script: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """EVALSHA, loading the script the first time (or after a Redis restart)."""
        sha = self._sha(name, script)
        try:
            return await self.redis.evalsha(sha, len(keys), *keys, *args)
        except NoScriptError:
            await self.redis.script_load(script)
            return await self.redis.evalsha(sha, len(keys), *keys, *args)

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
