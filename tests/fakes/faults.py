"""The fault scenarios of issue 11, shared by `bench/faults.py` (full size) and
`tests/test_faults.py` (a few dozen calls each).

Everything runs against real `safar serve` processes on loopback: two of them on one
redis-server this module starts (so it can SIGSTOP and SIGKILL it), the loopback Bot API and
Twilio emulators, and, for the crash scenario, one process with its own embedded Redis. Each
scenario returns a `Row`: what was tried, and what was lost, duplicated, answered with a 5xx or
leaked. "Lost" is a message that was acknowledged (2xx) and never answered; "duplicated" a
reply given twice or a session moved twice; "leaks" anything that got past a check that should
have stopped it (a forged call let in, a key left behind, a phone number in a log).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import os
import random
import re
import signal
import string
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from redis.asyncio import Redis
from twilio.request_validator import RequestValidator

from bot.store.base import SessionKey
from bot.store.embedded import EmbeddedRedis
from tests.fakes.serve import ACCOUNT, SAFAR_NUMBER, TOKEN, Serve
from tests.fakes.telegram_api import BotAPI, Group, Person
from tests.fakes.twilio_api import FakeTwilio

SECRET = "fault-bench-secret-for-pseudonyms-0123456789"
HOOK_SECRET = "fault-bench-hook-secret"
PREFIX = "faults"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MESSAGE = re.compile(r"<Message>(.*?)</Message>", re.S)
NOBODYS = re.compile(r":(stats|outbox|purge|t:seq|rate:web-addr)(:|$)")
"""Keys that name nobody and may stay after a forget (as in tests/test_forget.py)."""
SMS_SCRIPT = ["Salom", "1", "patent", "1", "MORE", "0", "2", "rahmat"]
TG_SCRIPT = ["/start", "как получить патент", "спасибо", "/menu", "регистрация", "ок"]


@dataclass
class Row:
    scenario: str
    tried: int = 0
    expected: str = ""
    lost: int = 0
    duplicated: int = 0
    server_errors: int = 0
    leaks: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.server_errors or self.leaks)

    def line(self) -> str:
        result = "ok" if self.ok else "FAIL"
        if self.notes:
            result += " (" + "; ".join(self.notes) + ")"
        return (
            f"| {self.scenario} | {self.tried:,} | {self.expected} | {self.lost} | "
            f"{self.duplicated} | {self.server_errors} | {self.leaks} | {result} |"
        )


def table(rows: Iterable[Row]) -> str:
    head = (
        "| scenario | tried | expected | lost | duplicated | 5xx | leaks | result |\n"
        "|---|---:|---|---:|---:|---:|---:|---|"
    )
    return "\n".join([head, *(r.line() for r in rows)])


def replies(twiml: str) -> list[str]:
    return [html.unescape(m) for m in MESSAGE.findall(twiml)]


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def redis_servers_on(data_dir: Path) -> list[int]:
    """redis-server processes whose command line names `data_dir` (as --dir)."""
    want = str(data_dir.resolve()).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            if b"redis-server" in cmdline and want in cmdline and state not in ("Z", "X"):
                found.append(int(entry.name))
    return found


# -- the rig ----------------------------------------------------------------------------------


class Rig:
    """Two `safar serve` processes (the first logging at INFO, the second at DEBUG) on one
    redis-server of our own, the Bot API and Twilio emulators, and an HTTP client."""

    def __init__(self, tmp: Path, prefix: str = PREFIX) -> None:
        self.tmp = tmp
        self.prefix = prefix
        self.redis_server = EmbeddedRedis(tmp / "redis")
        self.api = BotAPI()
        self.twilio = FakeTwilio(ACCOUNT, TOKEN)
        self.validator = RequestValidator(TOKEN)
        self.serves: list[Serve] = []
        self.staff: Group | None = None
        self._redis: Redis | None = None
        self._http: aiohttp.ClientSession | None = None
        self._ids = iter(range(10**9))

    async def start(self) -> None:
        url = self.redis_server.start()
        await self.api.start()
        await self.twilio.start()
        self.staff = self.api.staff_group(forum=True)
        self._redis = Redis.from_url(url)
        self._http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=64), timeout=aiohttp.ClientTimeout(total=60)
        )
        env = {**self.env(), "REDIS_URL": url}
        self.serves = [
            Serve({**env, "SAFAR_LOG_LEVEL": level}, self.tmp) for level in ("INFO", "DEBUG")
        ]
        await asyncio.gather(*(s.start() for s in self.serves))

    def env(self) -> dict[str, str]:
        assert self.staff is not None
        keep = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TELEGRAM_", "TWILIO_", "SAFAR_", "REDIS_"))
        }
        return {
            **keep,
            "SAFAR_REDIS_PREFIX": self.prefix,
            "SAFAR_SECRET": SECRET,
            "SAFAR_LOG_LEVEL": "INFO",
            "SAFAR_TRUSTED_PROXIES": "127.0.0.1/32",
            "SAFAR_CONTENT_WATCH": "false",
            "TELEGRAM_MAX_RATE": "0",
            "TELEGRAM_BOT_TOKEN": self.api.token,
            "TELEGRAM_API_URL": self.api.url,
            "TELEGRAM_WEBHOOK_SECRET": HOOK_SECRET,
            "TELEGRAM_OPERATOR_CHAT_ID": str(self.staff.id),
            "TWILIO_ACCOUNT_SID": ACCOUNT,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "TWILIO_FROM": SAFAR_NUMBER,
            "TWILIO_API_URL": self.twilio.url,
        }

    async def close(self) -> None:
        for serve in self.serves:
            serve.stop()
        if self._http is not None:
            await self._http.close()
        if self._redis is not None:
            await self._redis.aclose()
        await self.api.close()
        await self.twilio.stop()
        self.redis_server.stop()

    @property
    def redis(self) -> Redis:
        assert self._redis is not None
        return self._redis

    @property
    def http(self) -> aiohttp.ClientSession:
        assert self._http is not None
        return self._http

    def sid(self) -> str:
        return f"SM{next(self._ids):032d}"

    def number(self) -> str:
        return f"+99655{random.randrange(10**7):07d}"

    # -- calls ---------------------------------------------------------------------------------

    def form(self, number: str, body: str, sid: str | None = None) -> dict[str, str]:
        return {
            "MessageSid": sid or self.sid(),
            "AccountSid": ACCOUNT,
            "From": number,
            "To": SAFAR_NUMBER,
            "Body": body,
        }

    def sign(self, serve: Serve, form: dict[str, str]) -> str:
        return str(self.validator.compute_signature(f"{serve.url}/sms/twilio", form))

    async def sms(
        self,
        serve: Serve,
        form: dict[str, str],
        signature: str | None = None,
        headers: dict[str, str] | None = None,
        data: bytes | None = None,
    ) -> tuple[int, str]:
        """POST a Twilio webhook; (0, "") when the process did not answer at all."""
        sig = self.sign(serve, form) if signature is None else signature
        head = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        if sig:
            head["X-Twilio-Signature"] = sig
        body = urlencode(form).encode() if data is None else data
        try:
            async with self.http.post(f"{serve.url}/sms/twilio", data=body, headers=head) as r:
                return r.status, await r.text(errors="replace")
        except (aiohttp.ClientError, TimeoutError):
            return 0, ""

    async def telegram(
        self, serve: Serve, update: Any, secret: str | None = HOOK_SECRET, path: str = ""
    ) -> int:
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        body = update if isinstance(update, bytes) else json.dumps(update).encode()
        headers["Content-Type"] = "application/json"
        try:
            async with self.http.post(
                f"{serve.url}/telegram/webhook{path}", data=body, headers=headers
            ) as r:
                await r.read()
                return r.status
        except (aiohttp.ClientError, TimeoutError):
            return 0

    async def chat(
        self, serve: Serve, body: Any, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        head = {"Content-Type": "application/json", **(headers or {})}
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        try:
            async with self.http.post(f"{serve.url}/api/chat", data=data, headers=head) as r:
                text = await r.text(errors="replace")
                try:
                    return r.status, json.loads(text)
                except ValueError:
                    return r.status, text
        except (aiohttp.ClientError, TimeoutError):
            return 0, None

    async def raw(self, serve: Serve, head: bytes, body: bytes) -> int:
        """One request written byte for byte (headers no client library would send)."""
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", serve.port)
            writer.write(
                head + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body
            )
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), 30)
            writer.close()
        except (OSError, TimeoutError):
            return 0
        try:
            return int(answer.split(b" ", 2)[1])
        except (IndexError, ValueError):
            return 0

    # -- what Redis holds --------------------------------------------------------------------

    async def snapshot(self) -> dict[bytes, bytes | None]:
        """Every key under the prefix with its value (DUMP: any type)."""
        out: dict[bytes, bytes | None] = {}
        async for key in self.redis.scan_iter(f"{self.prefix}:*", count=1000):
            if await self.redis.type(key) == b"stream":  # its consumer group moves by itself
                out[key] = repr(await self.redis.xrange(key)).encode()
            else:
                out[key] = await self.redis.dump(key)
        return out

    async def turns(self, channel: str, user: str) -> int:
        digest = SessionKey(channel, user).digest(SECRET)
        raw = await self.redis.get(f"{self.prefix}:s:{digest}")
        return int(json.loads(raw).get("turns", 0)) if raw else 0

    def log_mark(self) -> list[int]:
        return [s.log.stat().st_size if s.log.exists() else 0 for s in self.serves]

    def logs_since(self, mark: list[int]) -> str:
        parts = []
        for serve, offset in zip(self.serves, mark, strict=True):
            with serve.log.open("rb") as f:
                f.seek(offset)
                parts.append(f.read().decode("utf-8", "replace"))
        return "\n".join(parts)


def seen_texts(person: Person) -> list[str]:
    return [s.text for s in person.chat.seen]


async def settle(probe: Callable[[], int], quiet: float = 1.5, within: float = 60.0) -> None:
    """Wait until `probe()` stops changing for `quiet` seconds."""
    deadline = time.monotonic() + within
    last, since = probe(), time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        now = probe()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return


async def bounded(n: int, jobs: Iterable[Awaitable[None]]) -> None:
    """Run the jobs with at most `n` at a time."""
    gate = asyncio.Semaphore(n)

    async def one(job: Awaitable[None]) -> None:
        async with gate:
            await job

    await asyncio.gather(*(one(j) for j in jobs))


# -- 1. forged webhooks -----------------------------------------------------------------------


async def forged(rig: Rig, n: int) -> Row:
    """`n` forged Twilio and `n` forged Telegram webhook calls: every one a 403, Redis as it was,
    nothing sent."""
    row = Row("forged webhooks (Twilio + Telegram)", 2 * n, "all 403, Redis unchanged")
    before = await rig.snapshot()
    sent_before = len(rig.twilio.requests), len(rig.api.calls_to("sendMessage"))
    statuses: Counter[int] = Counter()
    number = rig.number()

    async def twilio_call(i: int) -> None:
        serve = rig.serves[i % 2]
        form = rig.form(number, "1")
        good = rig.sign(serve, form)
        kind = i % 8
        if kind == 0:  # no signature at all
            status, _ = await rig.sms(serve, form, signature="")
        elif kind == 1:  # a wrong one
            status, _ = await rig.sms(serve, form, signature="bm90IGEgc2lnbmF0dXJl")
        elif kind == 2:  # signed, then the body changed
            status, _ = await rig.sms(serve, {**form, "Body": "STOP"}, signature=good)
        elif kind == 3:  # signed, then the sender changed
            status, _ = await rig.sms(serve, {**form, "From": rig.number()}, signature=good)
        elif kind == 4:  # signed for another URL
            other = rig.validator.compute_signature("https://evil.example/sms/twilio", form)
            status, _ = await rig.sms(serve, form, signature=other)
        elif kind == 5:  # signed with another account's token
            status, _ = await rig.sms(
                serve,
                form,
                signature=RequestValidator("x" * 32).compute_signature(
                    f"{serve.url}/sms/twilio", form
                ),
            )
        elif kind == 6:  # a signature that is not ASCII, written byte for byte
            body = "&".join(f"{k}={v}" for k, v in form.items()).replace("+", "%2B").encode()
            status = await rig.raw(
                serve,
                b"POST /sms/twilio HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                b"X-Twilio-Signature: \xff\xfe\xd0\x9f" + good.encode()[:8] + b"\r\n",
                body,
            )
        else:  # the right signature for a query string that was then dropped
            signed = rig.validator.compute_signature(f"{serve.url}/sms/twilio?x=1", form)
            status, _ = await rig.sms(serve, form, signature=signed)
        statuses[status] += 1

    async def telegram_call(i: int) -> None:
        serve = rig.serves[i % 2]
        person = rig.api.person()
        update = person.text_update("/start")
        kind = i % 7
        if kind == 0:
            status = await rig.telegram(serve, update, secret=None)
        elif kind == 1:
            status = await rig.telegram(serve, update, secret="wrong-" + HOOK_SECRET)
        elif kind == 2:
            status = await rig.telegram(serve, update, secret=HOOK_SECRET[:-1])
        elif kind == 3:
            status = await rig.telegram(serve, update, secret=HOOK_SECRET.upper())
        elif kind == 4:  # not ASCII, not even UTF-8
            status = await rig.raw(
                serve,
                b"POST /telegram/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\n"
                + SECRET_HEADER.encode()
                + b": \xff\xfe"
                + HOOK_SECRET.encode()
                + b"\r\n",
                json.dumps(update).encode(),
            )
        elif kind == 5:  # UTF-8, not ASCII
            status = await rig.raw(
                serve,
                b"POST /telegram/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\n"
                + SECRET_HEADER.encode()
                + ": секрет".encode()
                + b"\r\n",
                json.dumps(update).encode(),
            )
        else:  # another bot's secret, on a query string
            status = await rig.telegram(serve, update, secret="x" * 32, path="?secret=1")
        statuses[status] += 1

    await bounded(16, (twilio_call(i) for i in range(n)))
    await bounded(16, (telegram_call(i) for i in range(n)))
    await asyncio.sleep(1.0)  # anything let in would have reached Redis by now
    after = await rig.snapshot()
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    sent = len(rig.twilio.requests) - sent_before[0]
    sent += len(rig.api.calls_to("sendMessage")) - sent_before[1]
    row.leaks = sum(c for s, c in statuses.items() if s != 403) + len(changed) + sent
    row.server_errors = sum(c for s, c in statuses.items() if s >= 500 or s == 0)
    if changed:
        row.notes.append(f"changed keys: {sorted(k.decode() for k in changed)[:5]}")
    if set(statuses) != {403}:
        row.notes.append(f"statuses {dict(statuses)}")
    return row


# -- 2. replayed deliveries -------------------------------------------------------------------


async def replayed(rig: Rig, deliveries: int) -> Row:
    """Each message delivered 2-5 times, some copies at once, to either process: every copy of
    an SMS gets the same reply, a Telegram update is answered once, and each conversation (and
    its session's turn count) is what one delivery of each message gives."""
    row = Row(
        "replayed deliveries (2–5×, concurrent, 2 processes)",
        expected="0 duplicate replies, 0 double moves",
    )
    rng = random.Random(2)
    # references: one delivery of each message, in order
    control_phone = rig.number()
    control_sms: list[list[str]] = []
    for body in SMS_SCRIPT:
        _, twiml = await rig.sms(rig.serves[0], rig.form(control_phone, body))
        control_sms.append(replies(twiml))
    control_sms_turns = await rig.turns("sms", control_phone)
    control_tg = rig.api.person()
    for text in TG_SCRIPT:
        update = control_tg.text_update(text)
        assert await rig.telegram(rig.serves[0], update) == 200
        await settle(lambda: len(control_tg.chat.seen), quiet=0.3, within=10)
    await settle(lambda: len(control_tg.chat.seen), quiet=1.0)
    control_tg_turns = await rig.turns("telegram", str(control_tg.id))
    per_sms_person = len(SMS_SCRIPT) * 3.5
    per_tg_person = len(TG_SCRIPT) * 3.5
    half = deliveries // 2
    phones = [rig.number() for _ in range(max(1, round(half / per_sms_person)))]
    people = [rig.api.person() for _ in range(max(1, round(half / per_tg_person)))]
    tried = 0
    mismatched = 0
    why: Counter[str] = Counter()
    errors = 0

    async def copies(send: Callable[[Serve], Awaitable[Any]]) -> list[Any]:
        nonlocal tried
        n = rng.randint(2, 5)
        tried += n
        order = [rig.serves[rng.randrange(2)] for _ in range(n)]
        if rng.random() < 0.5:  # all at once
            return list(await asyncio.gather(*(send(s) for s in order)))
        out = [await send(order[0])]  # one, then the rest at once
        out += await asyncio.gather(*(send(s) for s in order[1:]))
        return out

    async def phone_story(number: str) -> None:
        nonlocal mismatched, errors
        for i, body in enumerate(SMS_SCRIPT):
            form = rig.form(number, body)
            answers = await copies(lambda s, f=form: rig.sms(s, f))  # type: ignore[misc]
            errors += sum(1 for status, _ in answers if status >= 500 or status == 0)
            texts = {tuple(replies(t)) for status, t in answers if status == 200}
            answered = {t for t in texts if t}  # a copy may get empty TwiML: that sends nothing
            if len(answered) > 1:
                row.duplicated += 1  # two different answers to one message
                why["SMS answered twice differently"] += 1
            elif not answered:
                row.lost += 1
            elif tuple(control_sms[i]) not in answered:
                mismatched += 1
                why["SMS reply not the sequential one"] += 1

    async def person_story(person: Person) -> None:
        nonlocal errors
        for text in TG_SCRIPT:
            update = person.text_update(text)
            answers = await copies(lambda s, u=update: rig.telegram(s, u))  # type: ignore[misc]
            errors += sum(1 for status in answers if status >= 500 or status == 0)

    await asyncio.gather(
        bounded(24, (phone_story(p) for p in phones)),
        bounded(24, (person_story(p) for p in people)),
    )
    await settle(lambda: len(rig.api.calls_to("sendMessage")), quiet=2.0)
    reference = seen_texts(control_tg)
    for person in people:
        got = seen_texts(person)
        if got != reference:
            extra = len(got) - len(reference)
            row.duplicated += max(0, extra)
            row.lost += max(0, -extra)
            why[f"Telegram chat {'longer' if extra > 0 else 'shorter' if extra else 'other'}"] += 1
            if len(why) == 1 or not any(w.startswith("e.g.") for w in why):
                more = [t[:40] for t in (Counter(got) - Counter(reference))][:2]
                why[f"e.g. extra {more}"] += 1
            if extra == 0:
                mismatched += 1
        if await rig.turns("telegram", str(person.id)) != control_tg_turns:
            row.duplicated += 1
            why["Telegram session turns"] += 1
    for number in phones:
        if await rig.turns("sms", number) != control_sms_turns:
            row.duplicated += 1
            why["SMS session turns"] += 1
    rest = [m for m in rig.twilio.sent if m.get("To") in set(phones)]
    row.duplicated += len(rest)  # every one was answered in its webhook: a REST send is a second
    if rest:
        why["SMS sent by REST too"] += len(rest)
    row.tried = tried
    row.server_errors = errors
    row.duplicated += mismatched
    row.notes.append(f"{len(phones)} phones, {len(people)} Telegram people")
    row.notes.extend(f"{what}: {count}" for what, count in why.most_common())
    return row


# -- 3. fuzzed inputs -------------------------------------------------------------------------

ODD = [
    "\u200f\u202e",  # right-to-left marks and overrides
    "\u200b\u200d\ufeff",  # zero-width
    "e\u0301\u0301\u0301",  # combining marks
    "👩‍👩‍👧‍👦🏳️‍🌈",  # emoji sequences
    "\x00\x01\x1b[31m",  # control characters
    "𝕊𝕒𝕗𝕒𝕣",
    "ﷺ",
    "<script>alert(1)</script>",
    "{{7*7}}%s%n%x",
    "Ёжик Патент Қазақ Тоҷикӣ",
    "' OR 1=1 --",
    "\\ud800",
    "/start@other_bot",
    "STOP",
    "OPERATOR",
]


def odd_text(rng: random.Random) -> str:
    choice = rng.random()
    if choice < 0.05:
        return rng.choice(string.printable) * rng.choice([5000, 50_000, 300_000])
    if choice < 0.1:
        return "".join(chr(rng.randrange(0x20, 0x2FFFF)) for _ in range(rng.randrange(1, 400)))
    return " ".join(rng.choice(ODD) for _ in range(rng.randrange(1, 5)))


def odd_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 2**63, 10**100, 1.5, float("1e308")])
    if kind == 3:
        return odd_text(rng)
    if kind == 4:
        return str(rng.randrange(100))
    if kind == 5:
        return ""
    if kind == 6:
        return [odd_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {odd_text(rng)[:20]: odd_value(rng, depth + 1) for _ in range(rng.randrange(4))}


def nested(rng: random.Random) -> bytes:
    depth = rng.choice([50, 1000, 5000, 100_000])
    if rng.random() < 0.5:
        return b"[" * depth + b"]" * depth
    return b'{"user":"fuzz-nested-01","text":' + b'{"a":' * depth + b"1" + b"}" * depth + b"}"


def web_body(rng: random.Random) -> tuple[bytes, dict[str, str]]:
    user = f"fuzz-{rng.randrange(10**8):08d}"
    headers = {"X-Forwarded-For": f"10.{rng.randrange(256)}.{rng.randrange(256)}.1"}
    kind = rng.randrange(10)
    if kind == 0:
        return nested(rng), headers
    if kind == 1:  # not JSON, or not UTF-8
        return rng.choice([b"\xff\xfe\x00", b"{", b"user=x", b"", b"null", b"[]"]), headers
    if kind == 2:  # a charset that does not exist, or another type
        headers["Content-Type"] = rng.choice(
            ["application/json; charset=bogus", "text/plain", "application/json; charset=utf-7"]
        )
        return json.dumps({"user": user, "text": "salom"}).encode(), headers
    if kind == 3:  # wrong types
        body = {k: odd_value(rng) for k in rng.sample(["user", "text", "choice", "command"], 3)}
        return json.dumps(body).encode(), headers
    if kind == 4:
        headers["Sec-Fetch-Site"] = rng.choice(["cross-site", "same-origin", "garbage"])
    if kind == 5:
        headers["Origin"] = rng.choice(["https://evil.example", "null", "http://127.0.0.1"])
    body = {"user": user}
    pick = rng.randrange(4)
    if pick == 0:
        body["text"] = odd_text(rng)
    elif pick == 1:
        body["choice"] = rng.choice(["1", "2", "99", "0", "-1", "١", "1.5"])
    elif pick == 2:
        body["command"] = rng.choice(["start", "menu", "back", "lang", "forget", "rm -rf"])
    else:
        body["lang_hint"] = odd_text(rng)[:30]
        body["text"] = odd_text(rng)[:4000]
    return json.dumps(body, ensure_ascii=rng.random() < 0.5).encode(
        "utf-8", "surrogatepass"
    ), headers


def sms_form(rig: Rig, rng: random.Random) -> dict[str, str]:
    form = rig.form(rig.number(), odd_text(rng)[: rng.choice([10, 160, 1600, 20_000])])
    if rng.random() < 0.2:
        form["MessageSid"] = rng.choice(["", "x", "SM" + "é" * 30, "SM" + "1" * 200])
    if rng.random() < 0.2:
        form["From"] = rng.choice(["", " ", "+", "whatsapp:+996555000111", odd_text(rng)[:40]])
    if rng.random() < 0.2:
        form["NumMedia"] = rng.choice(["1", "-5", "abc", "99999999999999999999"])
    if rng.random() < 0.1:
        form["OptOutType"] = rng.choice(["STOP", "START", "HELP", "", "ÄÖ"])
    if rng.random() < 0.1:
        form[odd_text(rng)[:20] or "x"] = odd_text(rng)[:50]
    return {_clean(k): _clean(v) for k, v in form.items()}


def _clean(text: str) -> str:
    """What a form can carry: no NUL, no lone surrogates."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode()


def tg_update(rig: Rig, rng: random.Random) -> Any:
    person = rng.randrange(10**6, 10**9)
    chat: dict[str, Any] = {
        "id": person,
        "type": rng.choice(["private", "private", "group", "supergroup", "channel", "weird"]),
    }
    user = {"id": person, "is_bot": rng.random() < 0.1, "first_name": odd_text(rng)[:30]}
    if rng.random() < 0.5:
        user["language_code"] = rng.choice(["ru", "ky", "tg", "en", "xx", odd_text(rng)[:10]])
    message: dict[str, Any] = {
        "message_id": rng.randrange(1, 10**6),
        "date": int(time.time()),
        "chat": chat,
        "from": user,
    }
    kind = rng.randrange(8)
    if kind <= 2:
        message["text"] = odd_text(rng)[:5000]
    elif kind == 3:
        message["text"] = "/" + rng.choice(["start", "menu", "lang", "forget", "help", "x" * 70])
        message["entities"] = [
            {"type": "bot_command", "offset": 0, "length": len(message["text"])}
        ]
    elif kind == 4:
        message["photo"] = [{"file_id": "a", "file_unique_id": "b", "width": 1, "height": 1}]
    update: dict[str, Any] = {"update_id": rng.randrange(1, 2**31)}
    if kind == 5:
        update["callback_query"] = {
            "id": str(rng.randrange(10**9)),
            "from": user,
            "chat_instance": "1",
            "data": odd_text(rng)[:64],
            "message": {**message, "text": "menu"},
        }
    elif kind == 6:  # a field of the wrong type somewhere
        message[rng.choice(["chat", "from", "text", "date", "message_id"])] = odd_value(rng)
        update["message"] = message
    elif kind == 7:
        update[rng.choice(["message", "edited_message", "my_chat_member", "poll", "x"])] = (
            odd_value(rng)
        )
    else:
        update[rng.choice(["message", "message", "edited_message"])] = message
    if rng.random() < 0.03:
        update["update_id"] = odd_value(rng)
    return update


async def fuzzed(rig: Rig, n: int, seed: int = 3) -> Row:
    """`n` odd inputs spread over the web chat, the signed SMS webhook and the Telegram webhook:
    no 5xx, no traceback in the logs, the memory of each process bounded."""
    row = Row("fuzzed inputs (web chat, signed SMS, Telegram)", n, "0 5xx, 0 tracebacks")
    rng = random.Random(seed)
    mark = rig.log_mark()
    rss_before = [rss_kb(s.proc.pid) for s in rig.serves if s.proc]
    statuses: Counter[int] = Counter()

    async def one(i: int) -> None:
        serve = rig.serves[i % 2]
        which = i % 3
        if which == 0:
            body, headers = web_body(rng)
            status, _ = await rig.chat(serve, body, headers)
        elif which == 1:
            form = sms_form(rig, rng)
            if rng.random() < 0.05:  # signed, with a charset no codec knows
                raw = urlencode(form).encode()
                status, _ = await rig.sms(
                    serve,
                    form,
                    headers={"Content-Type": "application/x-www-form-urlencoded; charset=bogus"},
                    data=raw,
                )
            else:
                status, _ = await rig.sms(serve, form)
        else:
            update = tg_update(rig, rng)
            body = nested(rng) if rng.random() < 0.02 else json.dumps(update).encode()
            status = await rig.telegram(serve, body)
        statuses[status] += 1

    await bounded(32, (one(i) for i in range(n)))
    rss_after = [rss_kb(s.proc.pid) for s in rig.serves if s.proc]
    logs = rig.logs_since(mark)
    row.server_errors = sum(c for s, c in statuses.items() if s >= 500 or s == 0)
    tracebacks = logs.count("Traceback")
    row.leaks = tracebacks
    growth = [(a - b) // 1024 for a, b in zip(rss_after, rss_before, strict=True)]
    if any(g > 200 for g in growth):
        row.leaks += 1
    row.notes.append(
        "RSS MB "
        + ", ".join(f"{b // 1024}→{a // 1024}" for b, a in zip(rss_before, rss_after, strict=True))
    )
    row.notes.append("statuses " + " ".join(f"{s}×{c}" for s, c in sorted(statuses.items())))
    if tracebacks:
        first = logs[logs.index("Traceback") :][:600]
        row.notes.append(f"{tracebacks} tracebacks, first: {first!r}")
    return row


# -- 4. Redis stopped, killed, back -----------------------------------------------------------


async def redis_outage(rig: Rig, seconds: float) -> Row:
    """Load on all three channels while Redis is stopped (SIGSTOP), then killed, then started
    again on its data dir: no 5xx, nothing to the number that said STOP, answers again by
    themselves once Redis is back, and every SMS that got a 200 answered (or empty while the
    opt-out list could not be read)."""
    row = Row("Redis SIGSTOP → SIGKILL → back", expected="safe replies, no text after STOP")
    stopped_number = rig.number()
    status, twiml = await rig.sms(rig.serves[0], rig.form(stopped_number, "STOP"))
    assert status == 200, (status, twiml)
    sent_before = len(rig.twilio.requests)
    phase = "before"
    windows: dict[str, float] = {}
    sms_results: list[tuple[str, float, int, list[str], str]] = []
    tg_results: list[tuple[Person, int]] = []
    web_results: list[tuple[str, int, Any]] = []
    optout_texts = 0
    stop = asyncio.Event()
    rng = random.Random(4)

    async def sms_load() -> None:
        nonlocal optout_texts
        while not stop.is_set():
            serve = rig.serves[rng.randrange(2)]
            number = rig.number()
            sent_at = time.monotonic()
            status, twiml = await rig.sms(serve, rig.form(number, rng.choice(SMS_SCRIPT)))
            sms_results.append((phase, sent_at, status, replies(twiml), number))
            status, twiml = await rig.sms(serve, rig.form(stopped_number, "patent"))
            if replies(twiml):
                optout_texts += 1
            await asyncio.sleep(0.05)

    async def telegram_load() -> None:
        while not stop.is_set():
            person = rig.api.person()
            status = await rig.telegram(rig.serves[rng.randrange(2)], person.text_update("/start"))
            tg_results.append((person, status))
            await asyncio.sleep(0.1)

    async def web_load() -> None:
        while not stop.is_set():
            user = f"outage-{rng.randrange(10**8):08d}"
            status, body = await rig.chat(
                rig.serves[rng.randrange(2)],
                {"user": user, "command": "start"},
                {"X-Forwarded-For": f"10.9.{rng.randrange(256)}.{rng.randrange(256)}"},
            )
            web_results.append((phase, status, body))
            await asyncio.sleep(0.05)

    loads = [asyncio.create_task(f()) for f in (sms_load, sms_load, telegram_load, web_load)]
    proc = rig.redis_server.proc
    assert proc is not None
    await asyncio.sleep(seconds / 4)
    phase, windows["stopped"] = "stopped", time.monotonic()
    proc.send_signal(signal.SIGSTOP)
    await asyncio.sleep(seconds / 2)
    phase = "killed"
    proc.send_signal(signal.SIGKILL)
    await asyncio.to_thread(proc.wait)
    rig.redis_server.stop()  # the dead server's lock and pid file
    await asyncio.sleep(seconds / 4)
    await asyncio.to_thread(rig.redis_server.start)
    phase, windows["back"] = "back", time.monotonic()
    # recovery: a person's language is remembered again (their session is stored)
    recovered_after: float | None = None
    deadline = time.monotonic() + 30
    probe = 0
    while time.monotonic() < deadline:
        probe += 1
        user = f"recovery-{probe:08d}"
        await rig.chat(
            rig.serves[0], {"user": user, "command": "start"}, {"X-Forwarded-For": "10.8.0.1"}
        )
        await rig.chat(
            rig.serves[1], {"user": user, "choice": "2"}, {"X-Forwarded-For": "10.8.0.1"}
        )
        _, body = await rig.chat(
            rig.serves[0], {"user": user, "command": "start"}, {"X-Forwarded-For": "10.8.0.1"}
        )
        if isinstance(body, dict) and body.get("lang") == "ru":
            recovered_after = time.monotonic() - windows["back"]
            break
        await asyncio.sleep(0.2)
    await asyncio.sleep(2.0)
    stop.set()
    await asyncio.gather(*loads)
    await settle(lambda: len(rig.api.calls_to("sendMessage")) + len(rig.twilio.requests))

    row.tried = len(sms_results) * 2 + len(tg_results) + len(web_results)
    # 5xx on any channel
    row.server_errors = sum(1 for r in sms_results if r[2] >= 500 or r[2] == 0)
    row.server_errors += sum(1 for _, s in tg_results if s >= 500 or s == 0)
    row.server_errors += sum(1 for _, s, _ in web_results if s >= 500 or s == 0)
    # web: a reply with something in it, all the way through
    empty_web = sum(
        1 for _, s, b in web_results if s == 200 and not (isinstance(b, dict) and b.get("replies"))
    )
    outage_web = [b for p, s, b in web_results if p in ("stopped", "killed") and s == 200]
    with_112 = sum(1 for b in outage_web if "112" in json.dumps(b, ensure_ascii=False))
    # SMS acknowledged: answered in the TwiML, or later by REST, or empty by design while the
    # opt-out list could not be read (Redis stopped or gone, and a few seconds after)
    rest_to = Counter(m.get("To") for m in rig.twilio.sent[sent_before:] if m.get("To"))
    for _, sent_at, status, texts, number in sms_results:
        if status != 200 or texts or rest_to[number]:
            continue
        in_outage = windows["stopped"] - 0.5 <= sent_at <= windows["back"] + 5
        if not in_outage:
            row.lost += 1
            offset = sent_at - windows["back"]
            row.notes.append(f"SMS with an empty reply {offset:+.1f} s after Redis was back")
    # Telegram acknowledged: answered
    tg_lost = sum(1 for p, s in tg_results if 200 <= s < 300 and not p.chat.seen)
    if tg_lost:
        row.notes.append(f"{tg_lost} Telegram updates acknowledged, never answered")
    if empty_web:
        row.notes.append(f"{empty_web} web replies empty")
    row.lost += tg_lost + empty_web
    row.leaks = optout_texts + sum(
        1 for m in rig.twilio.sent[sent_before:] if m.get("To") == stopped_number
    )
    if recovered_after is None:
        row.lost += 1
        row.notes.append("did not recover within 30 s")
    else:
        row.notes.append(f"recovered {recovered_after:.1f} s after Redis was back")
    row.notes.append(f"web replies with 112 during the outage: {with_112}/{len(outage_web)}")
    return row


# -- 5. the Bot API failing -------------------------------------------------------------------


async def bot_api_down(rig: Rig, people: int, failures: int) -> Row:
    """sendMessage answers 502 `failures` times, then works again: each person's conversation
    is what it is when nothing fails, every update answered exactly once."""
    row = Row(
        f"Bot API 502 ×{failures}, then back",
        expected="every update answered once",
    )
    control = rig.api.person()
    for text in TG_SCRIPT:
        await control.send(text)
        await settle(lambda: len(control.chat.seen), quiet=0.3, within=10)
    await settle(lambda: len(control.chat.seen), quiet=1.0)
    reference = seen_texts(control)
    rig.api.fail("sendMessage", code=502, times=failures)
    crowd = [rig.api.person() for _ in range(people)]

    async def story(person: Person) -> None:
        for text in TG_SCRIPT:
            await person.send(text)
            await asyncio.sleep(0.05)

    await asyncio.gather(*(story(p) for p in crowd))
    row.tried = people * len(TG_SCRIPT)
    want = people * len(reference)
    started = time.monotonic()
    with contextlib.suppress(AssertionError):
        await rig.api.wait_for(
            lambda: sum(len(p.chat.seen) for p in crowd) >= want, 120, "every reply"
        )
    took = time.monotonic() - started
    await settle(lambda: sum(len(p.chat.seen) for p in crowd), quiet=2.0)  # nothing more
    for person in crowd:
        got = seen_texts(person)
        row.lost += sum((Counter(reference) - Counter(got)).values())
        row.duplicated += sum((Counter(got) - Counter(reference)).values())
        if sorted(got) == sorted(reference) and got != reference:
            row.notes.append("out of order")
    errors = [s for _, s in rig.api.webhook_deliveries if s is None or s >= 500]
    row.server_errors = len(errors)
    left = len(rig.api._failures.pop("sendmessage", ()))  # none left for the next scenario
    row.notes.append(
        f"{want} replies expected, {failures - left} sends failed, "
        + (f"all in within {took:.1f} s" if not row.lost else f"waited {took:.0f} s")
    )
    return row


# -- 6. safar serve SIGKILLed -----------------------------------------------------------------


async def serve_killed(
    tmp: Path,
    api: BotAPI,
    twilio: FakeTwilio,
    env: dict[str, str],
    phones: int,
    people: int,
    lines: int,
    kill_after: int | None = None,
) -> Row:
    """One `safar serve` with its embedded Redis, SIGKILLed while SMS, Telegram and a hand-off
    are under way, and started again. What got no answer is retried the way Twilio (same
    MessageSid) and Telegram (same update, the staff chat's too) retry it. Every message that
    got a 2xx is answered or relayed exactly once, and one redis-server works on the data dir.

    By default the kill comes 1 s into the load, wherever that finds the operator's lines;
    with `kill_after` it comes right after that many of them were acknowledged, and the
    operator writes the rest while the process is down."""
    row = Row("safar serve SIGKILL mid-load and mid-hand-off", expected="each 2xx answered once")
    staff = api.staff_group(forum=True)
    env = {
        **{k: v for k, v in env.items() if k not in ("REDIS_URL", "SAFAR_DATA_DIR")},
        "TELEGRAM_OPERATOR_CHAT_ID": str(staff.id),
        "SAFAR_REDIS_PREFIX": PREFIX + "-kill",
    }
    serve = Serve(env, tmp)
    data_dir = tmp / f"data-{serve.port}"
    validator = RequestValidator(TOKEN)
    http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
    sids = iter(range(10**9))
    try:
        await serve.start()

        async def text(number: str, body: str, sid: str) -> tuple[int, list[str]]:
            form = {
                "MessageSid": sid,
                "AccountSid": ACCOUNT,
                "From": number,
                "To": SAFAR_NUMBER,
                "Body": body,
            }
            url = f"{serve.url}/sms/twilio"
            headers = {"X-Twilio-Signature": validator.compute_signature(url, form)}
            try:
                async with http.post(url, data=form, headers=headers) as r:
                    return r.status, replies(await r.text())
            except (aiohttp.ClientError, TimeoutError):
                return 0, []

        def new_sid() -> str:
            return f"SMKILL{next(sids):026d}"

        # the reference conversation, before anything fails
        control = api.person()
        for t in TG_SCRIPT:
            await control.send(t)
            await settle(lambda: len(control.chat.seen), quiet=0.3, within=10)
        await settle(lambda: len(control.chat.seen), quiet=1.0)
        reference = seen_texts(control)
        # a ticket open by SMS, operators writing in it
        owner = f"+996555{random.randrange(10**6):06d}"
        assert (await text(owner, "1", new_sid()))[0] == 200
        assert (await text(owner, "OPERATOR", new_sid()))[0] == 200
        [alert] = await staff.wait_posts(1, within=30)
        assert alert.thread is not None
        operator = staff.member("Nigora", "ru")
        twilio.delay = 0.2  # slow deliveries: the kill finds some on their way
        written = lines if kill_after is None else kill_after
        op_updates = [
            await operator.send(f"operator line {i}", thread=alert.thread) for i in range(written)
        ]

        numbers = [f"+99677{random.randrange(10**7):07d}" for _ in range(phones)]
        crowd = [api.person() for _ in range(people)]
        updates: dict[int, list[dict[str, Any]]] = {p.id: [] for p in crowd}
        unanswered: list[tuple[str, str, str]] = []  # no 200: Twilio retries these
        acked: list[tuple[str, list[str]]] = []

        async def phone_story(number: str) -> None:
            for body in SMS_SCRIPT:
                sid = new_sid()
                status, got = await text(number, body, sid)
                if status != 200:
                    unanswered.append((number, body, sid))
                    return  # the rest of the script waits for the person to see an answer
                acked.append((number, got))
                await asyncio.sleep(0.05)

        async def person_story(person: Person) -> None:
            for t in TG_SCRIPT:
                updates[person.id].append(await person.send(t))
                await asyncio.sleep(0.15)

        async def handoff_story() -> None:
            for i in range(lines):
                status, got = await text(owner, f"person line {i}", sid := new_sid())
                if status != 200:
                    unanswered.append((owner, f"person line {i}", sid))
                else:
                    acked.append((owner, got))
                await asyncio.sleep(0.05)

        def acknowledged() -> set[int]:
            return {u for u, s in api.webhook_deliveries if s is not None and 200 <= s < 300}

        async def killer() -> None:
            if kill_after is None:
                await asyncio.sleep(1.0)
                serve.kill()
                return
            want = {u["update_id"] for u in op_updates}
            while not want <= acknowledged():  # noqa: ASYNC110 (a list, not an event)
                await asyncio.sleep(0.005)
            serve.kill()
            for i in range(kill_after, lines):  # Telegram holds these until we are back
                op_updates.append(await operator.send(f"operator line {i}", thread=alert.thread))

        await asyncio.gather(
            *(phone_story(n) for n in numbers),
            *(person_story(p) for p in crowd),
            handoff_story(),
            killer(),
        )
        deadline = time.monotonic() + 15  # a redelivery of one still on its way is a repeat
        while api._tasks and time.monotonic() < deadline:  # noqa: ASYNC110 (no event for it)
            await asyncio.sleep(0.05)
        deadline = time.monotonic() + 10  # PR_SET_PDEATHSIG: the child's SIGTERM, its exit
        while redis_servers_on(data_dir) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)  # (/proc has no event to wait for)
        orphans = len(redis_servers_on(data_dir))
        twilio.delay = 0.0
        await serve.start()
        servers = len(redis_servers_on(data_dir))
        for number, body, sid in unanswered:  # Twilio's retry: the same message again
            status, got = await text(number, body, sid)
            if status == 200:
                acked.append((number, got))
            else:
                row.lost += 1
        answered = acknowledged()
        redelivered = staff_redelivered = 0
        # Telegram's redelivery, in order, of what got no 2xx: the people's and the operator's
        for chat_updates in (*updates.values(), op_updates):
            for update in chat_updates:
                if update["update_id"] not in answered:
                    redelivered += 1
                    staff_redelivered += chat_updates is op_updates
                    await api.push(update)
        # quiet for longer than the dead sender's lease and the idle time before its entries
        # are taken over (5 s each): until then the new process may not send them
        await settle(
            lambda: len(api.calls_to("sendMessage")) + len(twilio.sent), quiet=6.0, within=90
        )
        row.tried = len(acked) + people * len(TG_SCRIPT) + lines
        counted: list[tuple[str, int, int]] = []

        def tally(what: str) -> None:
            """What this part added to lost and duplicated, for the notes."""
            lost, dup = row.lost - sum(c[1] for c in counted), row.duplicated
            dup -= sum(c[2] for c in counted)
            counted.append((what, lost, dup))

        # SMS: an acknowledged message is answered in its TwiML, or (slow) by REST
        empty = Counter(number for number, got in acked if not got and number != owner)
        rest = Counter(m.get("To") for m in twilio.sent)
        for number in numbers:
            row.lost += max(0, empty[number] - rest[number])
            row.duplicated += max(0, rest[number] - empty[number])
        tally("SMS")
        # Telegram: each conversation as when nothing failed
        for person in crowd:
            got = seen_texts(person)
            row.lost += sum((Counter(reference) - Counter(got)).values())
            row.duplicated += sum((Counter(got) - Counter(reference)).values())
        tally("Telegram")
        # the hand-off both ways, each line exactly once
        op_lines = [
            m["Body"]
            for m in twilio.sent
            if m.get("To") == owner and "operator line" in m.get("Body", "")
        ]
        row.lost += sum(1 for i in range(lines) if f"Operator: operator line {i}" not in op_lines)
        row.duplicated += len(op_lines) - len(set(op_lines))
        tally("operator→person")
        person_lines = [
            line
            for post in staff.posts(alert.thread)
            for line in post.text.split("\n")
            if line.startswith("person line")
        ]
        row.lost += sum(1 for i in range(lines) if f"person line {i}" not in person_lines)
        row.duplicated += len(person_lines) - len(set(person_lines))
        tally("person→operator")
        row.notes += [f"{w}: {lo} lost, {d} duplicated" for w, lo, d in counted if lo or d]
        if servers != 1 or orphans:
            row.leaks += 1
        # Telegram cannot say whether a send cut short by the kill arrived: it goes again
        again = serve.log.read_text(errors="replace").count("cut short by a crash is sent again")
        row.notes.append(
            f"{len(unanswered)} SMS retried, {redelivered} updates redelivered "
            f"({staff_redelivered} in the staff chat), {again} Bot API sends cut short and "
            f"sent again; redis-servers on the data dir after the kill {orphans}, after the "
            f"restart {servers}"
        )
    finally:
        serve.stop()
        await http.close()
    return row


# -- 7. privacy -------------------------------------------------------------------------------


async def privacy(rig: Rig, people: int) -> Row:
    """People on all three channels write something only they would write, through the INFO
    and the DEBUG process, then ask to be forgotten: no number, chat id or text of theirs in
    any log, a TTL on every key but the opt-out list, and none of their keys left."""
    row = Row("privacy (logs at INFO + DEBUG, TTLs, forget)", expected="0 leaks")
    rng = random.Random(7)
    mark = rig.log_mark()
    before = set(await rig.snapshot())
    secrets: list[str] = []
    keep: set[str] = set()  # the reply to the very message that asked to forget (documented)

    async def sms_person(i: int) -> None:
        number = rig.number()
        canary = f"kanareyka{rng.randrange(16**8):08x}"
        secrets.extend([number, number[1:], canary])
        serve = rig.serves[i % 2]
        for body in ["1", f"patent {canary}", "MORE", "FORGET", "1"]:  # "1": yes, forget me
            form = rig.form(number, body)
            status, _ = await rig.sms(serve, form)
            row.tried += 1
            if status >= 500:
                row.server_errors += 1
        keep.add(f"{rig.prefix}:sms:msg:{form['MessageSid']}")

    async def telegram_person(i: int) -> None:
        person = rig.api.person()
        canary = f"канарейка{rng.randrange(16**8):08x}"
        secrets.extend([str(person.id), canary])
        serve = rig.serves[i % 2]
        for t in ["/start", f"патент {canary}", "2", "/forget", "1"]:
            update = person.text_update(t)
            status = await rig.telegram(serve, update)
            row.tried += 1
            if status >= 500:
                row.server_errors += 1
        # the done-marker of the update that confirmed the forget (bot id + update id only)
        keep.add(f"{rig.prefix}:once:tg-update:{rig.api.bot_id}:{update['update_id']}")

    async def web_person(i: int) -> None:
        user = f"privacy{rng.randrange(16**12):012x}"
        canary = f"canary{rng.randrange(16**8):08x}"
        secrets.extend([user, canary])
        serve = rig.serves[i % 2]
        for body in [
            {"command": "start"},
            {"choice": "2"},
            {"text": f"как получить патент {canary}"},
            {"command": "forget"},
            {"choice": "1"},
        ]:
            status, _ = await rig.chat(
                serve, {"user": user, **body}, {"X-Forwarded-For": "10.7.0.1"}
            )
            row.tried += 1
            if status >= 500:
                row.server_errors += 1

    await asyncio.gather(
        *(sms_person(i) for i in range(people)),
        *(telegram_person(i) for i in range(people)),
        *(web_person(i) for i in range(people)),
    )
    await settle(lambda: len(rig.api.calls_to("sendMessage")), quiet=2.0)
    logs = rig.logs_since(mark)
    whole = rig.logs_since([0] * len(rig.serves))
    found = sorted({s for s in secrets if s in logs})
    numbers = sorted(set(re.findall(r"\+?99655\d{7}", whole)))  # any number the rig made up
    row.leaks += len(found) + len(numbers)
    if found or numbers:
        row.notes.append(f"in the logs: {(found + numbers)[:5]}")
    # a TTL on every key but the opt-out list
    no_ttl = []
    async for key in rig.redis.scan_iter(f"{rig.prefix}:*", count=1000):
        if b":sms:optout:" not in key and await rig.redis.ttl(key) == -1:
            no_ttl.append(key.decode())
    row.leaks += len(no_ttl)
    if no_ttl:
        row.notes.append(f"keys without a TTL: {no_ttl[:5]}")
    # after forget: nothing of theirs (nothing else ran meanwhile)
    after = set(await rig.snapshot())
    left = sorted(
        k.decode()
        for k in after - before
        if not NOBODYS.search(k.decode()) and k.decode() not in keep
    )
    row.leaks += len(left)
    if left:
        row.notes.append(f"left after forget: {left[:5]}")
    return row
