"""Hand-off relay speed: operator -> person and person -> operator through the durable outbox.

Real `safar serve` processes (one, then two on one Redis), the loopback Bot API and Twilio
emulators, an embedded Redis. Tickets are opened by SMS; then each operator writes in the
ticket's forum topic (Telegram delivers the staff chat's updates one at a time, as it does) and
each person texts back. Printed: relayed messages per second in each direction and p50/p99 from
the moment a message is handed to Safar to the moment the emulator receives its delivery.

Run by hand:  .venv/bin/python bench/handoff.py [--tickets 20] [--messages 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

from bot.store.embedded import EmbeddedRedis  # noqa: E402
from tests.fakes.serve import ACCOUNT, SAFAR_NUMBER, TOKEN, Phone, Serve  # noqa: E402
from tests.fakes.telegram_api import BotAPI, Group  # noqa: E402
from tests.fakes.twilio_api import FakeTwilio  # noqa: E402


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


async def run(
    processes: int, tickets: int, messages: int, rate: float, tmp: Path, redis_url: str
) -> str:
    api, twilio = BotAPI(), FakeTwilio(ACCOUNT, TOKEN)
    await api.start()
    await twilio.start()
    staff: Group = api.staff_group(forum=True)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_"))},
        "REDIS_URL": redis_url,
        "SAFAR_REDIS_PREFIX": f"bench{processes}",
        "SAFAR_SECRET": "b" * 43,
        "SAFAR_LOG_LEVEL": "WARNING",
        # Telegram's own limits (20 posts a minute in one group) would be all this measures
        "TELEGRAM_MAX_RATE": "0",
        "TELEGRAM_BOT_TOKEN": api.token,
        "TELEGRAM_API_URL": api.url,
        "TELEGRAM_WEBHOOK_SECRET": "bench-secret",
        "TELEGRAM_OPERATOR_CHAT_ID": str(staff.id),
        "TWILIO_ACCOUNT_SID": ACCOUNT,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_FROM": SAFAR_NUMBER,
        "TWILIO_API_URL": twilio.url,
    }
    serves = [Serve(env, tmp) for _ in range(processes)]
    try:
        for serve in serves:
            await serve.start()
        phones = [Phone(f"+99655{i:07d}") for i in range(tickets)]
        for i, phone in enumerate(phones):
            await phone.text(serves[i % processes], "2")
            await phone.text(serves[i % processes], "OPERATOR")
        alerts = await staff.wait_posts(tickets, within=60)
        threads = [a.thread for a in alerts if a.thread is not None]
        by_number = dict(zip([p.number for p in phones], threads, strict=False))

        # operator -> person, at a steady `rate` a second (latency), all of it (throughput)
        operator = staff.member("Nigora", "ru")
        sent_at: dict[str, float] = {}
        start = time.monotonic()
        for m in range(messages):
            for phone in phones:
                text = f"op {phone.number} {m}"
                sent_at[text] = time.monotonic()
                await operator.send(text, thread=by_number[phone.number])
                await asyncio.sleep(max(0.0, start + len(sent_at) / rate - time.monotonic()))
        want = tickets * messages
        while len([r for r in twilio.requests if r.status == 201]) < want:
            await asyncio.sleep(0.01)
            if time.monotonic() - start > 120:
                raise TimeoutError("operator messages not all delivered")
        out_elapsed = time.monotonic() - start
        lat_out = []
        for r in twilio.requests:
            body = r.form.get("Body", "")
            key = body.removeprefix("Operator: ")
            if key in sent_at:
                lat_out.append(r.at - sent_at[key])

        # person -> operator
        posted: dict[str, float] = {}
        start = time.monotonic()

        async def person(i: int, phone: Phone) -> None:
            await asyncio.sleep(i / rate)
            for m in range(messages):
                text = f"pe {phone.number[-4:]} {m}"
                posted[text] = time.monotonic()
                await phone.text(serves[(i + m) % processes], text)
                await asyncio.sleep(
                    max(0.0, start + (i + (m + 1) * tickets) / rate - time.monotonic())
                )

        await asyncio.gather(*(person(i, p) for i, p in enumerate(phones)))

        def relayed() -> list[tuple[str, float]]:
            """Each line the operators saw (several may share one post), with when."""
            return [
                (line, post.at)
                for post in staff.posts()
                for line in post.text.split("\n")
                if line.startswith("pe ")
            ]

        while len(relayed()) < want:
            await asyncio.sleep(0.01)
            if time.monotonic() - start > 120:
                raise TimeoutError("person messages not all relayed")
        in_elapsed = time.monotonic() - start
        lat_in = [at - posted[line] for line, at in relayed() if line in posted]
        dupes = len(relayed()) - len({line for line, _ in relayed()})
        return (
            f"| {processes} | {want / out_elapsed:.0f} | {pct(lat_out, 0.5):.1f} | "
            f"{pct(lat_out, 0.99):.1f} | {want / in_elapsed:.0f} | {pct(lat_in, 0.5):.1f} | "
            f"{pct(lat_in, 0.99):.1f} | {len(lat_out) - want + dupes} |"
        )
    finally:
        for serve in serves:
            serve.stop()
        await api.close()
        await twilio.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=20)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--rate", type=float, default=50.0, help="messages a second offered")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="safar-bench-") as tmp:
        redis = EmbeddedRedis(Path(tmp) / "redis")
        url = redis.start()
        try:
            rows = [
                await run(n, args.tickets, args.messages, args.rate, Path(tmp), url)
                for n in (1, 2)
            ]
        finally:
            redis.stop()
    print(
        f"{args.tickets} tickets × {args.messages} messages each way, offered at "
        f"{args.rate:.0f}/s, {os.cpu_count()} cores"
    )
    print(
        "| processes | operator→person delivered/s | p50 ms | p99 ms "
        "| person→operator delivered/s "
        "| p50 ms | p99 ms | lost or doubled |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(row)


if __name__ == "__main__":
    asyncio.run(main())
