"""One person's messages answered in the order they came, across two Safar processes.

People send six SMS 50 ms apart, every other one landing on the other Safar (two
`safar serve` processes on one Redis). Each person's replies must be exactly those of the
same messages sent one by one: a message may not overtake the one before because it landed on a
less busy process. (50 ms, not 5: a process busy with another person's turn reads the next
request that much later, and no lock sees a request before its process has read it; the
5 ms figure is measured by bench/sms.py.)
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis
from twilio.request_validator import RequestValidator

from bot.store.base import SessionKey
from bot.store.order import TurnOrder
from tests.conftest import SECRET
from tests.fakes.serve import ACCOUNT, SAFAR_NUMBER, TOKEN, Serve, replica_env

Client = TestClient[web.Request, web.Application]

PEOPLE = 5
GAP = 0.05
MESSAGES = ("2", "2", "1", "0", "3", "MENU")
"""Russian, documents, the first article, back, a third one, home: each reply depends on all
the messages before it."""


async def text(url: str, phone: str, body: str) -> str:
    form = {
        "MessageSid": "SM" + secrets.token_hex(16),
        "From": phone,
        "To": SAFAR_NUMBER,
        "Body": body,
    }
    signature = RequestValidator(TOKEN).compute_signature(f"{url}/sms/twilio", form)
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{url}/sms/twilio", data=form, headers={"X-Twilio-Signature": signature}
        ) as resp,
    ):
        assert resp.status == 200
        return await resp.text()


async def test_two_processes_answer_each_person_as_a_sequential_conversation_would(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    env = {
        **replica_env(redis_url, prefix, SECRET),
        "TWILIO_ACCOUNT_SID": ACCOUNT,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "SAFAR_LOG_LEVEL": "WARNING",
    }
    one, two = Serve(env, tmp_path), Serve(env, tmp_path)
    try:
        await one.start()
        await two.start()
        for serve in (one, two):  # a first answer builds caches: not what this measures
            await text(serve.url, "+99600000000", "hello")

        async def person(n: int) -> list[str]:
            phone = f"+99655{n:07d}"
            sends = []
            for i, body in enumerate(MESSAGES):
                target = one if i % 2 else two
                sends.append(asyncio.create_task(text(target.url, phone, body)))
                await asyncio.sleep(GAP)
            return list(await asyncio.gather(*sends))

        together = await asyncio.gather(*(person(n) for n in range(PEOPLE)))
        for n, replies in enumerate(together):
            expected = [await text(one.url, f"+99666{n:07d}", body) for body in MESSAGES]
            assert replies == expected, f"person {n} got their answers out of order"
    finally:
        one.stop()
        two.stop()


async def test_a_number_held_by_a_process_that_died_is_passed_after_a_short_wait(
    redis: Redis, prefix: str
) -> None:
    order = TurnOrder(redis, prefix=prefix, secret=SECRET, stall=0.2)
    aziz = SessionKey("sms", "+992900000001")
    await order.take(aziz)  # taken by a process that was then killed, never finished
    mine = await order.take(aziz)
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with order.turn(aziz, mine):
        waited = loop.time() - started
    assert 0.2 <= waited < 1.0
