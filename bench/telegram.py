"""How many Telegram updates one Safar process handles through the webhook path, and how fast.

    .venv/bin/python bench/telegram.py [--updates 3000] [--rate 100] [--seconds 10]

Each update goes the whole way: POST /telegram/webhook -> secret check -> PTB -> dedupe and
session in Redis -> engine -> sendMessage to a loopback Bot API stub (tests/fakes) -> 200. The
webhook answers only after the reply was sent, so a request's time is the update's time.

Two figures for Safar and, in the same run, for a bare aiohttp handler that only returns 200
(the floor of this machine, this event loop and this load generator):
- throughput: `--updates` posted by 64 concurrent senders from 200 chats, as fast as it goes;
- latency at a fixed rate: `--rate` updates per second for `--seconds`, open loop (a late
  request is not waited for before the next is sent), p50 / p99 / max.
Everything runs in this one process, load generator included, on loopback only.

Telegram's own limit (30 messages a second per bot, enforced by AIORateLimiter in production)
caps what a real bot sends; it is off here so that the figures measure Safar, not the limit.
A last line shows the latency at 20 updates/s with the production limiter on.

The mix: half the updates are questions typed as text (search), half are menu digits.
Redis: REDIS_URL if set, else the embedded one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# This script is called telegram.py, like the library it measures: keep its folder off the path
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

from bot import LANGUAGES  # noqa: E402
from bot.app import create_app  # noqa: E402
from bot.channels import telegram  # noqa: E402
from bot.conversations import ContentHolder  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.store.embedded import EmbeddedRedis  # noqa: E402
from tests.fakes.telegram_api import BotAPI, Person  # noqa: E402
from tests.fakes.telegram_safar import free_port  # noqa: E402

SECRET = "bench-secret"
CHATS = 200
SENDERS = 64
QUESTIONS = {
    "ky": ["Эмгек акымды төлөшкөн жок", "паспортум жоголуп кетти"],
    "ru": ["Не выплатили зарплату, что делать?", "как получить патент"],
    "tg": ["Музди кор надоданд", "Шиносномаи ман дуздида шуд"],
    "en": ["salary not paid", "lost my passport"],
}

Post = Callable[[dict[str, Any]], Awaitable[float]]


@contextlib.asynccontextmanager
async def safar_app(
    settings: Settings, api: BotAPI | Stub, content: ContentHolder, max_rate: float
) -> AsyncIterator[str]:
    """Safar in webhook mode on a real port; yields the webhook URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}{telegram.WEBHOOK_PATH}"
    app = create_app(settings, content)
    config = telegram.TelegramConfig(
        token=api.token,
        api_url=api.url,
        webhook_url=url,
        webhook_secret=SECRET,
        max_rate=max_rate,
    )
    telegram.setup(app, config)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        await asyncio.wait_for(app[telegram.TELEGRAM].ready.wait(), 15)
        yield url
    finally:
        await runner.cleanup()


class Stub:
    """The Bot API as thin as it gets: the answers PTB needs and nothing checked, so the figures
    are Safar's own (tests/fakes/telegram_api.py, which checks everything, costs CPU here)."""

    def __init__(self) -> None:
        self.token = f"{random.randint(10**9, 2 * 10**9)}:bench-token"
        self.url = ""
        self.sent = 0
        self._ids = itertools.count(1)

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        form = await request.post()
        result: Any = True
        if method == "getMe":
            bot_id = int(self.token.split(":")[0])
            result = {"id": bot_id, "is_bot": True, "first_name": "Safar", "username": "bench"}
        elif method in ("sendMessage", "editMessageText", "sendContact"):
            self.sent += 1
            chat_id = int(str(form.get("chat_id")))
            result = {
                "message_id": next(self._ids),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "text": str(form.get("text", "")),
            }
        return web.json_response({"ok": True, "result": result})

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Stub]:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"
        try:
            yield self
        finally:
            await runner.cleanup()


@contextlib.asynccontextmanager
async def bare_app() -> AsyncIterator[str]:
    async def ok(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/hook", ok)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/hook"
    finally:
        await runner.cleanup()


def updates(people: list[Person], n: int) -> list[dict[str, Any]]:
    """n updates spread over the chats: a question, then a digit, in each chat's language."""
    out = []
    for i in range(n):
        person = people[i % len(people)]
        lang = person.user["language_code"]
        turn = i // len(people)
        text = QUESTIONS[lang][(turn // 2) % 2] if turn % 2 == 0 else "0"
        out.append(person.text_update(text))
    return out


def poster(http: aiohttp.ClientSession, url: str) -> Post:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}

    async def post(update: dict[str, Any]) -> float:
        body = json.dumps(update).encode()
        began = time.perf_counter()
        async with http.post(url, data=body, headers=headers) as resp:
            await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"{url} answered {resp.status}")
        return time.perf_counter() - began

    return post


async def throughput(post: Post, batch: list[dict[str, Any]]) -> float:
    queue = list(reversed(batch))

    async def sender() -> None:
        while queue:
            await post(queue.pop())

    began = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(SENDERS)))
    return len(batch) / (time.perf_counter() - began)


async def fixed_rate(post: Post, batch: list[dict[str, Any]], rate: float) -> list[float]:
    """Open loop: update i is sent at start + i/rate whatever happened to the earlier ones, and
    its latency counts from that planned moment (so queueing inside the client counts too)."""
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    latencies: list[float] = []

    async def one(i: int, update: dict[str, Any]) -> None:
        planned = start + i / rate
        await asyncio.sleep(max(0.0, planned - loop.time()))
        await post(update)
        latencies.append(loop.time() - planned)

    await asyncio.gather(*(one(i, u) for i, u in enumerate(batch)))
    return latencies


def summary(latencies: list[float]) -> str:
    ms = sorted(x * 1000 for x in latencies)
    p50 = statistics.median(ms)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   max {ms[-1]:6.1f} ms"


async def main(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.WARNING)
    embedded: EmbeddedRedis | None = None
    redis_url = os.environ.get("REDIS_URL")
    tmp = Path(tempfile.mkdtemp(prefix="safar-bench-"))
    if not redis_url:
        embedded = EmbeddedRedis(tmp / "redis")
        redis_url = await embedded.astart()
    settings = Settings(redis_url=redis_url, data_dir=tmp, secret=secrets.token_urlsafe(32))
    content = ContentHolder.load(settings.content_dir)
    emulator = BotAPI()  # makes the updates, in Telegram's shapes; serves only with --emulator
    people = [emulator.person(f"P{i}", LANGUAGES[i % 4]) for i in range(CHATS)]
    stub = Stub()
    n_rate = int(args.rate * args.seconds)
    rows: list[tuple[str, str]] = []
    try:
        if args.emulator:
            await emulator.start()
        async with (
            stub.running(),
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=SENDERS * 2)) as http,
        ):
            api: BotAPI | Stub = emulator if args.emulator else stub
            async with bare_app() as url:
                post = poster(http, url)
                await throughput(post, updates(people, 500))  # warm up
                bare_tp = await throughput(post, updates(people, args.updates))
                bare_lat = await fixed_rate(post, updates(people, n_rate), args.rate)
            rows.append(("bare aiohttp 200", f"{bare_tp:7.0f} updates/s   {summary(bare_lat)}"))

            async with safar_app(settings, api, content, max_rate=0) as url:
                post = poster(http, url)
                await throughput(post, updates(people, 300))  # warm up caches and pools
                safar_tp = await throughput(post, updates(people, args.updates))
                safar_lat = await fixed_rate(post, updates(people, n_rate), args.rate)
            rows.append(
                ("Safar webhook path", f"{safar_tp:7.0f} updates/s   {summary(safar_lat)}")
            )

            async with safar_app(settings, api, content, max_rate=30) as url:
                limited = await fixed_rate(poster(http, url), updates(people, 200), 20)
            rows.append(("  with AIORateLimiter(30/s), at 20/s", f"{'':18}{summary(limited)}"))
    finally:
        await emulator.close()
        if embedded is not None:
            await embedded.astop()

    sent = len(emulator.calls_to("sendMessage")) if args.emulator else stub.sent
    print(
        f"Telegram webhook benchmark: {CHATS} chats, {SENDERS} concurrent senders for "
        f"throughput ({args.updates} updates), {args.rate:.0f} updates/s for {args.seconds:.0f} s "
        f"for latency; Bot API: {'the checking emulator' if args.emulator else 'thin stub'}; "
        f"Redis: {'REDIS_URL' if embedded is None else 'embedded'}; {os.cpu_count()} CPUs"
    )
    width = max(len(name) for name, _ in rows)
    for name, figures in rows:
        print(f"  {name:<{width}}  {figures}")
    print(f"  ({sent} replies sent to the Bot API in all)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=3000, help="updates for throughput")
    parser.add_argument("--rate", type=float, default=100.0, help="updates/s for latency")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long the fixed rate runs")
    parser.add_argument(
        "--emulator", action="store_true", help="send to the checking test emulator, not the stub"
    )
    asyncio.run(main(parser.parse_args()))
