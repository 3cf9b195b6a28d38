"""Telegram through the webhook: how fast the 200 comes, whatever the Bot API does, and how
much one and two `safar serve` processes answer on this machine.

    .venv/bin/python bench/telegram.py [--rate 100] [--seconds 10] [--updates 3000]

The webhook stores an update in Redis and answers; the turn and the sends run after it, from
the stored update and the outbox. So two kinds of figure:

- the webhook's acknowledgement at `--rate` updates/s for `--seconds` (open loop: a late request
  is not waited for before the next is sent, and its latency counts from its planned moment),
  p50 / p99 / max, with the Bot API answering normally, slowly (250 ms a call) and with errors
  (one call in three a 502); and how long after the last update its reply went out. Beside
  it, a bare aiohttp handler that only returns 200 (the floor of this machine and this load
  generator). Measured twice: on one process that does everything, and on a front
  (SAFAR_BACKGROUND=false: it only stores the updates) with a worker beside it that runs the
  turns and the sends;
- throughput, end to end: `--updates` updates from 200 chats posted by 64 senders, each chat's
  updates one after the other as Telegram sends them (the next after the 200), to one process,
  then to two on one Redis in turn; updates answered per second (until the last reply reached
  the Bot API) and CPU per update: the servers' user + system time (psutil) over the run, and
  Redis's and this load generator's beside it, so the scaling is visible.

Safar runs as real `safar serve` processes (tests/fakes/serve.py); the Bot API is a thin stub in
this process (the checking emulator of tests/fakes costs CPU here). Telegram's own limit (30
messages a second per bot) caps what a real bot sends; it is off here (TELEGRAM_MAX_RATE=0)
so that the figures measure Safar. The mix: half the updates are questions typed as text
(search), half are menu digits. Redis: REDIS_URL if set, else the embedded one.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from aiohttp import web
from redis.asyncio import Redis

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# This script is called telegram.py, like the library it measures: keep its folder off the path
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

from bot import LANGUAGES  # noqa: E402
from bot.heap import settle  # noqa: E402
from bot.store.embedded import EmbeddedRedis  # noqa: E402
from tests.fakes.serve import Serve  # noqa: E402
from tests.fakes.telegram_api import BotAPI, Person  # noqa: E402
from tests.fakes.telegram_safar import free_port  # noqa: E402

SECRET = "bench-secret"
CHATS = 200
SENDERS = 64
SLOW = 0.25
FAIL_EVERY = 3
QUESTIONS = {
    "ky": ["Эмгек акымды төлөшкөн жок", "паспортум жоголуп кетти"],
    "ru": ["Не выплатили зарплату, что делать?", "как получить патент"],
    "tg": ["Музди кор надоданд", "Шиносномаи ман дуздида шуд"],
    "en": ["salary not paid", "lost my passport"],
}
SENDS = ("sendMessage", "editMessageText", "sendContact")
WORKER_NICE = 10
"""The worker beside a front runs at this nice value, as a deployment gives its workers fewer
CPU shares than its fronts (compose's cpu_shares, systemd's Nice=): with the whole 2-core box
busy (a Bot API failing makes the worker retry), the fronts' 200s still come first."""

Post = Callable[[dict[str, Any]], Awaitable[float]]


class Stub:
    """The Bot API as thin as it gets: the answers PTB needs and nothing checked, so the figures
    are Safar's own. `delay` and `fail_every` make it slow or failing, as Telegram sometimes is."""

    def __init__(self) -> None:
        self.token = f"{random.randint(10**9, 2 * 10**9)}:bench-token"
        self.url = ""
        self.sent = 0
        self.last_sent = 0.0
        self.webhooks = 0
        self.webhook_set = asyncio.Event()
        self.delay = 0.0
        self.fail_every = 0
        self._calls = itertools.count(1)
        self._ids = itertools.count(1)

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        form = await request.post()
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_every and next(self._calls) % self.fail_every == 0:
            body = {"ok": False, "error_code": 502, "description": "Bad Gateway"}
            return web.json_response(body, status=502)
        result: Any = True
        if method == "getMe":
            bot_id = int(self.token.split(":")[0])
            result = {"id": bot_id, "is_bot": True, "first_name": "Safar", "username": "bench"}
        elif method == "setWebhook":
            self.webhooks += 1
            self.webhook_set.set()
        elif method in SENDS:
            self.sent += 1
            self.last_sent = time.perf_counter()
            chat_id = int(str(form.get("chat_id")))
            result = {
                "message_id": next(self._ids),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "text": str(form.get("text", "")),
            }
        return web.json_response({"ok": True, "result": result})

    def normal(self) -> None:
        self.delay, self.fail_every = 0.0, 0

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

    async def quiet(self, seconds: float = 1.5, within: float = 120.0) -> None:
        """Until nothing more is sent for `seconds`: the outbox has drained."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            before = self.sent
            await asyncio.sleep(seconds)
            if self.sent == before:
                return
        raise RuntimeError(f"still sending after {within} s")


@dataclass
class Servers:
    serves: list[Serve]
    processes: list[psutil.Process]
    fronts: int = 0

    @property
    def urls(self) -> list[str]:
        """Where Telegram posts: the fronts where there are, else every process."""
        taking = self.serves[: self.fronts] or self.serves
        return [f"{s.url}/telegram/webhook" for s in taking]

    def cpu(self) -> float:
        """CPU seconds the server processes have used so far (user + system)."""
        return sum(_cpu(p) for p in self.processes)


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


@contextlib.asynccontextmanager
async def serving(
    n: int, stub: Stub, redis_url: str, tmp: Path, fronts: int = 0
) -> AsyncIterator[Servers]:
    """`n` `safar serve` processes on one Redis (a fresh key prefix), Telegram by webhook; the
    first `fronts` of them with SAFAR_BACKGROUND=false, the others doing their work at a lower
    CPU priority (see WORKER_NICE)."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_"))},
        "REDIS_URL": redis_url,
        "SAFAR_REDIS_PREFIX": f"bench-{secrets.token_hex(4)}",
        "SAFAR_SECRET": secrets.token_urlsafe(32),
        "TELEGRAM_BOT_TOKEN": stub.token,
        "TELEGRAM_API_URL": stub.url,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_MAX_RATE": "0",
        "SAFAR_LOG_LEVEL": "WARNING",
    }
    roles = ["false"] * fronts + ["true"] * (n - fronts)
    serves = [Serve({**env, "SAFAR_BACKGROUND": role}, tmp) for role in roles]
    webhooks = stub.webhooks
    try:
        await asyncio.gather(*(s.start() for s in serves))
        while stub.webhooks < webhooks + n:  # until every process takes updates
            stub.webhook_set.clear()
            await stub.webhook_set.wait()
        processes = [psutil.Process(s.proc.pid) for s in serves if s.proc is not None]
        if fronts:
            for worker in processes[fronts:]:
                worker.nice(WORKER_NICE)
        yield Servers(serves, processes, fronts)
    finally:
        for serve in serves:
            serve.stop()


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


def poster(http: aiohttp.ClientSession, urls: list[str]) -> Post:
    """Posts to the servers in turn, as a load balancer would."""
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    turn = itertools.cycle(urls)

    async def post(update: dict[str, Any]) -> float:
        body = json.dumps(update).encode()
        began = time.perf_counter()
        async with http.post(next(turn), data=body, headers=headers) as resp:
            await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"the webhook answered {resp.status}")
        return time.perf_counter() - began

    return post


async def closed_loop(post: Post, batch: list[dict[str, Any]]) -> None:
    """SENDERS senders; each chat's updates go one after the other (the next after the 200),
    as Telegram delivers a chat, and every chat belongs to one sender."""
    lanes: list[list[dict[str, Any]]] = [[] for _ in range(SENDERS)]
    for update in batch:
        lanes[update["message"]["chat"]["id"] % SENDERS].append(update)

    async def sender(lane: list[dict[str, Any]]) -> None:
        for update in lane:
            await post(update)

    await asyncio.gather(*(sender(lane) for lane in lanes))


@dataclass
class Timed:
    """One open-loop run: the webhook's latencies, and what tells whether they are the
    server's. `stall`: the load generator's own worst event-loop delay, in s. `steal`: the
    share of the machine's CPU time the hypervisor gave to other guests (Linux's steal time),
    in %: on a virtual machine the process that waits for a core may be waiting for that."""

    latencies: list[float]
    stall: float = 0.0
    steal: float = 0.0
    redis: int = 0
    """Redis's own worst latency event meanwhile (its latency monitor, from 5 ms), in ms."""


async def fixed_rate(post: Post, batch: list[dict[str, Any]], rate: float) -> Timed:
    """Open loop: update i is sent at start + i/rate whatever happened to the earlier ones, and
    its latency counts from that planned moment (so queueing inside the client counts too)."""
    loop = asyncio.get_running_loop()
    settle()  # the load generator's own full collections would count as the webhook's latency
    start = loop.time() + 0.05
    timed = Timed([])

    async def one(i: int, update: dict[str, Any]) -> None:
        planned = start + i / rate
        await asyncio.sleep(max(0.0, planned - loop.time()))
        await post(update)
        timed.latencies.append(loop.time() - planned)

    async def watch() -> None:
        while True:
            began = loop.time()
            await asyncio.sleep(0.005)
            timed.stall = max(timed.stall, loop.time() - began - 0.005)

    watcher = asyncio.create_task(watch())
    stolen, total = _cpu_clock()
    await asyncio.gather(*(one(i, u) for i, u in enumerate(batch)))
    watcher.cancel()
    stolen_after, total_after = _cpu_clock()
    timed.steal = 100 * (stolen_after - stolen) / max(1, total_after - total)
    return timed


def _cpu_clock() -> tuple[int, int]:
    """Linux's steal time and all CPU time so far, in clock ticks; (0, 0) elsewhere."""
    try:
        with open("/proc/stat") as stat:
            ticks = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    return (ticks[7] if len(ticks) > 7 else 0), sum(ticks[:8])


def p99(latencies: list[float]) -> float:
    ms = sorted(x * 1000 for x in latencies)
    return ms[min(len(ms) - 1, int(len(ms) * 0.99))]


def summary(timed: Timed) -> str:
    ms = sorted(x * 1000 for x in timed.latencies)
    p50 = statistics.median(ms)
    return (
        f"p50 {p50:6.1f} ms   p99 {p99(timed.latencies):6.1f} ms   max {ms[-1]:6.1f} ms   "
        f"(bench stall {timed.stall * 1000:4.1f} ms, steal {timed.steal:3.1f}%, "
        f"Redis event {timed.redis:3d} ms)"
    )


@dataclass
class Run:
    processes: int
    rate: float
    server_cpu: float
    """ms of CPU per update, all server processes together."""
    redis_cpu: float | None
    bench_cpu: float


@dataclass
class Ack:
    deployment: str
    """"1 process" or "front + worker"."""
    mode: str
    """What the Bot API did meanwhile."""
    timed: Timed
    after: float
    """Seconds from the last update to its reply."""


async def acknowledgements(
    deployment: str,
    servers: Servers,
    stub: Stub,
    http: aiohttp.ClientSession,
    people: list[Person],
    n: int,
    rate: float,
    redis: Redis,
) -> list[Ack]:
    """The webhook's latencies at `args.rate` with the Bot API normal, slow and failing, and
    how long after the last update its reply went out."""
    post = poster(http, servers.urls)
    await closed_loop(post, updates(people, 400))  # warm up caches and pools
    await stub.quiet()
    modes: list[tuple[str, float, int]] = [
        ("Bot API normal", 0.0, 0),
        (f"Bot API slow ({SLOW * 1000:.0f} ms a call)", SLOW, 0),
        (f"Bot API 5xx (1 call in {FAIL_EVERY} a 502)", 0.0, FAIL_EVERY),
    ]
    acks = []
    for name, delay, fail_every in modes:
        stub.delay, stub.fail_every = delay, fail_every
        await redis.execute_command("LATENCY", "RESET")
        timed = await fixed_rate(post, updates(people, n), rate)
        events = await redis.execute_command("LATENCY", "LATEST")
        timed.redis = max((int(e[2]) for e in events), default=0)
        last = time.perf_counter()
        # the Bot API stays as it was until every reply is out
        await stub.quiet(5.0 if fail_every else 1.5, within=300)
        stub.normal()
        acks.append(Ack(deployment, name, timed, max(0.0, stub.last_sent - last)))
    return acks


async def throughput(
    servers: Servers,
    stub: Stub,
    http: aiohttp.ClientSession,
    batch: list[dict[str, Any]],
    redis: psutil.Process | None,
) -> Run:
    post = poster(http, servers.urls)
    me = psutil.Process()
    cpu, redis_cpu, bench_cpu = servers.cpu(), _cpu(redis) if redis else 0.0, _cpu(me)
    began = time.perf_counter()
    await closed_loop(post, batch)
    await stub.quiet()
    elapsed = stub.last_sent - began
    n = len(batch)
    return Run(
        processes=len(servers.serves),
        rate=n / elapsed,
        server_cpu=(servers.cpu() - cpu) * 1000 / n,
        redis_cpu=(_cpu(redis) - redis_cpu) * 1000 / n if redis else None,
        bench_cpu=(_cpu(me) - bench_cpu) * 1000 / n,
    )


def run_line(run: Run) -> str:
    redis = f"{run.redis_cpu:4.2f}" if run.redis_cpu is not None else "  - "
    return (
        f"{run.rate:6.0f} updates/s answered   CPU per update: servers {run.server_cpu:5.2f} ms, "
        f"Redis {redis} ms, load generator + stub {run.bench_cpu:4.2f} ms"
    )


async def main(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.WARNING)
    embedded: EmbeddedRedis | None = None
    redis_url = os.environ.get("REDIS_URL")
    tmp = Path(tempfile.mkdtemp(prefix="safar-bench-"))
    if not redis_url:
        embedded = EmbeddedRedis(tmp / "redis")
        redis_url = await embedded.astart()
    redis_proc = psutil.Process(embedded.proc.pid) if embedded and embedded.proc else None
    emulator = BotAPI()  # only makes the updates, in Telegram's shapes
    people = [emulator.person(f"P{i}", LANGUAGES[i % 4]) for i in range(CHATS)]
    stub = Stub()
    n_rate = int(args.rate * args.seconds)
    acks: list[Ack] = []
    runs: list[Run] = []
    load = os.getloadavg()
    redis = Redis.from_url(redis_url)
    await redis.config_set("latency-monitor-threshold", 5)
    try:
        async with (
            stub.running(),
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=SENDERS * 2)) as http,
        ):
            async with bare_app() as url:
                post = poster(http, [url])
                await closed_loop(post, updates(people, 500))  # warm up
                bare = await fixed_rate(post, updates(people, n_rate), args.rate)

            async with serving(1, stub, redis_url, tmp) as one:
                acks += await acknowledgements(
                    "1 process", one, stub, http, people, n_rate, args.rate, redis
                )
                runs.append(
                    await throughput(one, stub, http, updates(people, args.updates), redis_proc)
                )

            async with serving(2, stub, redis_url, tmp, fronts=1) as split:
                acks += await acknowledgements(
                    "front + worker", split, stub, http, people, n_rate, args.rate, redis
                )

            async with serving(2, stub, redis_url, tmp) as two:
                post = poster(http, two.urls)
                await closed_loop(post, updates(people, 400))
                await stub.quiet()
                runs.append(
                    await throughput(two, stub, http, updates(people, args.updates), redis_proc)
                )
    finally:
        await redis.aclose()
        await emulator.close()
        if embedded is not None:
            await embedded.astop()

    print(
        f"Telegram webhook benchmark: {CHATS} chats; {args.rate:.0f} updates/s for "
        f"{args.seconds:.0f} s for the acknowledgement, {args.updates} updates by {SENDERS} "
        f"senders for throughput; Bot API: thin stub; Redis: "
        f"{'REDIS_URL' if embedded is None else 'embedded'}; {os.cpu_count()} CPUs, load "
        f"average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the start"
    )
    rows = [("bare aiohttp 200", summary(bare))]
    rows += [
        (
            f"ack, {a.deployment}, {a.mode}",
            f"{summary(a.timed)}   last reply {a.after:4.1f} s after",
        )
        for a in acks
    ]
    rows += [
        (f"throughput, {r.processes} process{'es' if r.processes > 1 else ''}", run_line(r))
        for r in runs
    ]
    width = max(len(name) for name, _ in rows)
    for name, figures in rows:
        print(f"  {name:<{width}}  {figures}")
    ratio = runs[1].rate / runs[0].rate
    print(f"  two processes / one: {ratio:.2f}x")
    print("Targets of issue 12:")
    for label in ("1 process", "front + worker"):
        worst = max(p99(a.timed.latencies) for a in acks if a.deployment == label)
        print(
            f"  webhook ack p99 <= 10 ms at {args.rate:.0f} updates/s whatever the Bot API does, "
            f"{label}: {'holds' if worst <= 10 else 'MISSED'} (worst p99 {worst:.1f} ms)"
        )
    print(f"  two processes >= 1.3x one: {'holds' if ratio >= 1.3 else 'MISSED'} ({ratio:.2f}x)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=3000, help="updates for throughput")
    parser.add_argument("--rate", type=float, default=100.0, help="updates/s for the ack")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long the fixed rate runs")
    asyncio.run(main(parser.parse_args()))
