"""Counters of what people ask, for `safar report` and /staff/report: no personal data.

Nothing here can be traced to a person: keys carry a day and counters, never a user id; the
only words kept are the questions the bot could not answer, masked (bot/staff/mask.py) and kept
only SAFAR_REPORT_TEXT_DAYS days. Every key has a TTL; aggregates are kept `keep_days`.

Key layout (prefix `safar` by default, `<day>` an ISO date in UTC):
  safar:stats:<day>:n     hash of counters, fields "<what>|<channel>|<lang>" and a few totals
  safar:stats:<day>:art   sorted set: article id -> times shown
  safar:stats:<day>:miss  sorted set: masked unanswered question -> times asked (short TTL)

Recording never fails a turn: a Redis error is logged and the numbers are a little low.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.engine.types import Inbound, Turn
from bot.staff.mask import mask_text

log = logging.getLogger(__name__)

KEEP_DAYS = 400
"""Aggregates are kept a year and a month, so a month can be compared with the year before."""
MISS_KEEP = 2000
"""Distinct unanswered texts kept per day (the most asked); a flood cannot grow a key."""
MISS_CHARS = 200
"""An unanswered question is kept to this length: the question is in the first words."""

_DIGITS_ONLY = re.compile(r"^\s*\d{1,2}\s*[.)]?\s*$")
_SPACES = re.compile(r"\s+")

# counter names in the day hash
MESSAGES = "msg"
QUESTIONS = "q"
UNANSWERED = "miss"
HANDOFFS = "ho"
OUT_OF_HOURS = "ooh"
WAIT_COUNT = "wait_n"
WAIT_SECONDS = "wait_s"
SMS_MESSAGES = "sms_n"
SMS_SEGMENTS = "sms_seg"


Stage = Callable[[Any], None]
"""Adds a turn's counters to a pipeline that carries other work (an SMS turn's commit): the
counters then cost no round trip of their own. Errors of its commands are not the turn's."""


@dataclass
class Counts:
    """A Stage of the day's counters: one script, and several of them add up to one."""

    keys: tuple[str, str, str]
    ttl: int
    counters: dict[str, int]
    articles: tuple[str, ...] = ()
    miss: tuple[str, int, int] | None = None
    """The masked unanswered text, when it expires, how many such texts a day keeps."""

    def __call__(self, pipe: Any) -> None:
        pipe.eval(_COUNT, len(self.keys), *self.keys, *self.args())

    def args(self) -> list[str | int]:
        """The arguments of `count_day` (COUNT_LUA)."""
        args: list[str | int] = [self.ttl, len(self.counters)]
        for name, n in self.counters.items():
            args += [name, n]
        return [*args, len(self.articles), *self.articles, *(self.miss or ("", 0, 0))]


def merged(stages: Sequence[Stage]) -> list[Stage]:
    """The same stages, the counters of one day in one script: a pipeline parses every reply
    in Python, so each command saved is CPU saved."""
    out: list[Stage] = []
    for stage in stages:
        last = out[-1] if out else None
        if (
            isinstance(stage, Counts)
            and isinstance(last, Counts)
            and last.keys == stage.keys
            and not (last.miss and stage.miss)
        ):
            counters = dict(last.counters)
            for name, n in stage.counters.items():
                counters[name] = counters.get(name, 0) + n
            both = (*last.articles, *stage.articles)
            out[-1] = Counts(last.keys, last.ttl, counters, both, last.miss or stage.miss)
        else:
            out.append(stage)
    return out


COUNT_LUA = """
local function count_day(counts, shown_key, miss_key, argv, i)
  local ttl = argv[i]
  local n = tonumber(argv[i + 1])
  i = i + 2
  for _ = 1, n do
    redis.pcall('HINCRBY', counts, argv[i], argv[i + 1])
    i = i + 2
  end
  redis.pcall('EXPIRE', counts, ttl)
  local shown = tonumber(argv[i])
  for j = 1, shown do redis.pcall('ZINCRBY', shown_key, 1, argv[i + j]) end
  if shown > 0 then redis.pcall('EXPIRE', shown_key, ttl) end
  i = i + shown + 1
  if argv[i] ~= '' then
    redis.pcall('ZINCRBY', miss_key, 1, argv[i])
    redis.pcall('ZREMRANGEBYRANK', miss_key, 0, -tonumber(argv[i + 2]) - 1)
    redis.pcall('EXPIREAT', miss_key, argv[i + 1])
  end
end
"""
"""`count_day(...)` adds a `Counts` to the day's keys, for any script to call (bot/store/sms.py
saves an SMS turn and counts it in one): `redis.pcall`, so a counter never fails that script.
`argv` from `i`: the counters' ttl, how many counters, then name and increment of each; how
many articles, the articles; the masked unanswered text ('' none), when it expires, how many
such texts a day keeps."""
_COUNT = COUNT_LUA + "count_day(KEYS[1], KEYS[2], KEYS[3], ARGV, 1)\nreturn 1"


class StatsUnavailable(Exception):
    """The numbers cannot be read now (Redis is down); the message says so in plain words."""


def day_of(now: float) -> dt.date:
    return dt.datetime.fromtimestamp(now, dt.UTC).date()


@dataclass
class DayStats:
    """One day's numbers as read back; `counts` keys are (what, channel, lang)."""

    day: dt.date
    counts: dict[tuple[str, str, str], int] = field(default_factory=dict)
    totals: dict[str, float] = field(default_factory=dict)
    articles: list[tuple[str, int]] = field(default_factory=list)
    unanswered: list[tuple[str, int]] = field(default_factory=list)

    def total(self, what: str) -> int:
        return sum(n for (w, _, _), n in self.counts.items() if w == what)


def is_question(inbound: Inbound, turn: Turn) -> bool:
    """A person wrote words and the bot searched: answered with an article or was unsure.
    A digit, a button, a command, or "more" (a later page) is navigation, not a question."""
    if inbound.choice is not None or inbound.command is not None:
        return False
    if not inbound.text.strip() or _DIGITS_ONLY.match(inbound.text):
        return False
    return any(r.kind == "unsure" or (r.kind == "article" and r.page == 0) for r in turn.replies)


class Stats:
    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = "safar",
        text_days: int = 30,
        keep_days: int = KEEP_DAYS,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.text_days = text_days
        self.keep_days = keep_days

    def key(self, day: dt.date, kind: str) -> str:
        return f"{self.prefix}:stats:{day.isoformat()}:{kind}"

    # -- recording ---------------------------------------------------------------------------

    async def record_turn(
        self, channel: str, inbound: Inbound, turn: Turn, now: float | None = None
    ) -> None:
        """Called by Conversations.handle after every turn: one round trip, never raises."""
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                self.staged_turn(channel, inbound, turn, now)(pipe)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("stats not recorded (%s)", type(exc).__name__)

    def staged_turn(
        self, channel: str, inbound: Inbound, turn: Turn, now: float | None = None
    ) -> Counts:
        """`record_turn` as commands for someone else's pipeline."""
        now = time.time() if now is None else now
        day = day_of(now)
        lang = turn.session.lang or "-"
        fields = {MESSAGES: 1}
        question = is_question(inbound, turn)
        unanswered = question and any(r.kind == "unsure" for r in turn.replies)
        if question:
            fields[QUESTIONS] = 1
        if unanswered:
            fields[UNANSWERED] = 1
        shown = [r.article for r in turn.replies if r.kind == "article" and r.page == 0]

        counters = {f"{what}|{channel}|{lang}": n for what, n in fields.items()}
        articles = [article for article in shown if article]
        miss = inbound.text if unanswered and self.text_days > 0 else ""
        return self._staged(day, counters, articles, miss)

    def _staged(
        self, day: dt.date, counters: dict[str, int], articles: Sequence[str], miss: str
    ) -> Counts:
        """All of a turn's counters as one script: a pipeline parses every reply in Python,
        and a turn's eight commands cost more than the rest of its Redis work."""
        masked = _SPACES.sub(" ", mask_text(miss)).strip()[:MISS_CHARS] if miss else ""
        keys = (self.key(day, "n"), self.key(day, "art"), self.key(day, "miss"))
        kept = (masked, self._until(day, self.text_days), MISS_KEEP) if masked else None
        return Counts(keys, self._keep(day, self.keep_days), counters, tuple(articles), kept)

    async def record_handoff(
        self, channel: str, lang: str | None, *, out_of_hours: bool, now: float | None = None
    ) -> None:
        """Call when a hand-off to a person is opened (a ticket is created)."""
        where = f"{channel}|{lang or '-'}"
        await self._add(now, {f"{HANDOFFS}|{where}": 1, f"{OUT_OF_HOURS}|{where}": out_of_hours})

    async def record_handoff_answered(self, waited: float, now: float | None = None) -> None:
        """Call when an operator first answers a hand-off: `waited` seconds since it opened."""
        await self._add(now, {WAIT_COUNT: 1, WAIT_SECONDS: max(0.0, float(waited))})

    async def record_sms(self, segments: int, now: float | None = None) -> None:
        """Call for every SMS sent (replies and REST sends alike) with its segment count."""
        await self._add(now, {SMS_MESSAGES: 1, SMS_SEGMENTS: max(0, int(segments))})

    def staged_sms(self, segments: int, now: float | None = None) -> Counts:
        """`record_sms` as commands for someone else's pipeline (a reply's commit)."""
        counters = {SMS_MESSAGES: 1, SMS_SEGMENTS: max(0, int(segments))}
        return self._staged(day_of(time.time() if now is None else now), counters, [], "")

    # -- reading -----------------------------------------------------------------------------

    async def days(self, first: dt.date, last: dt.date, top: int = 50) -> list[DayStats]:
        """Every day from `first` to `last`, oldest first; days without data are empty."""
        span = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for day in span:
                    pipe.hgetall(self.key(day, "n"))
                    pipe.zrevrange(self.key(day, "art"), 0, top - 1, withscores=True)
                    pipe.zrevrange(self.key(day, "miss"), 0, top - 1, withscores=True)
                raw = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise StatsUnavailable(f"Redis is unreachable ({type(exc).__name__})") from None
        out = []
        for i, day in enumerate(span):
            counts, articles, missed = raw[3 * i : 3 * i + 3]
            stats = DayStats(day, articles=_pairs(articles), unanswered=_pairs(missed))
            for name, value in counts.items():
                parts = _text(name).split("|")
                if len(parts) == 3:
                    stats.counts[(parts[0], parts[1], parts[2])] = int(float(value))
                else:
                    stats.totals[parts[0]] = float(value)
            out.append(stats)
        return out

    # -- helpers -----------------------------------------------------------------------------

    @staticmethod
    def _until(day: dt.date, days: int) -> int:
        """The moment `days` days after the start of `day` (UTC): a text written on `day` is
        gone at most `days` days after it was written, however late in the day it came."""
        start = dt.datetime.combine(day, dt.time(), dt.UTC)
        return int((start + dt.timedelta(days=days)).timestamp())

    def _keep(self, day: dt.date, days: int) -> int:
        return max(60, self._until(day, days) - int(time.time()))

    async def _add(self, now: float | None, increments: dict[str, float]) -> None:
        """Add to counters of the day of `now` in one round trip; never raises."""
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                self._stage(pipe, now, increments)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("stats not recorded (%s)", type(exc).__name__)

    def _stage(self, pipe: Any, now: float | None, increments: dict[str, float]) -> None:
        day = day_of(time.time() if now is None else now)
        counts = self.key(day, "n")
        for name, value in increments.items():
            if isinstance(value, float):
                pipe.hincrbyfloat(counts, name, value)
            else:
                pipe.hincrby(counts, name, int(value))
        pipe.expire(counts, self._keep(day, self.keep_days))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _pairs(rows: Sequence[tuple[bytes | str, float]]) -> list[tuple[str, int]]:
    return [(_text(member), int(score)) for member, score in rows]


@contextlib.asynccontextmanager
async def open_stats(
    redis_url: str | None, data_dir: Path, *, prefix: str, text_days: int
) -> AsyncIterator[Stats]:
    """Stats for a command-line tool: REDIS_URL; else the embedded Redis of a running
    `safar serve` (its socket in the data dir); else that data started just for this call."""
    from bot.store.embedded import EmbeddedRedis

    embedded: EmbeddedRedis | None = None
    url = redis_url
    if url is None:
        socket = data_dir / "redis" / "redis.sock"
        if socket.exists() and await _alive(f"unix://{socket.resolve()}"):
            url = f"unix://{socket.resolve()}"
        else:
            embedded = EmbeddedRedis(data_dir / "redis")
            url = await embedded.astart()
    redis = Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    try:
        yield Stats(redis, prefix=prefix, text_days=text_days)
    finally:
        await redis.aclose()
        if embedded is not None:
            await embedded.astop()


async def _alive(url: str) -> bool:
    redis = Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    try:
        return bool(await redis.ping())
    except (RedisError, OSError):
        return False
    finally:
        await redis.aclose()
