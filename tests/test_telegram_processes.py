"""One person's Telegram messages answered in the order they were sent, across two processes.

Two `safar serve` processes on one Redis take Telegram's webhook calls in turn, as behind a
load balancer. Telegram sends a chat's next update as soon as the previous one got its 200,
and the 200 now comes as soon as the update is stored: the next message of a person lands on
the other process while the first is still being answered there, with no gap at all. Each
person's replies must be exactly those of the same messages answered one by one.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp

from tests.conftest import SECRET
from tests.fakes.serve import HOOK_SECRET, Serve, replica_env
from tests.fakes.telegram_api import BotAPI, Person

PEOPLE = 5
MESSAGES = ("/start", "2", "1", "0", "3", "/start")
"""Home, documents, the first article, back, a third one, home: each reply depends on all the
messages before it."""


async def deliver(http: aiohttp.ClientSession, serve: Serve, update: dict[str, object]) -> None:
    """As Telegram's server does: one POST, and the next update only after its 200."""
    headers = {"X-Telegram-Bot-Api-Secret-Token": HOOK_SECRET}
    url = f"{serve.url}/telegram/webhook"
    async with http.post(url, data=json.dumps(update), headers=headers) as resp:
        assert resp.status == 200


async def settled(person: Person, at_least: int) -> list[str]:
    """Everything the person was shown, once nothing more arrives for a while."""
    await person.replies(at_least, within=30)
    count = len(person.chat.seen)
    while True:
        await asyncio.sleep(0.7)
        if len(person.chat.seen) == count:
            return [f"{s.kind}: {s.text} {s.labels}" for s in person.chat.seen]
        count = len(person.chat.seen)


async def test_two_processes_answer_each_person_in_order_with_no_gap_between_messages(
    redis_url: str, prefix: str, tmp_path: Path, api: BotAPI
) -> None:
    env = {
        **replica_env(redis_url, prefix, SECRET, (api.token, api.url)),
        "TELEGRAM_MAX_RATE": "0",  # Telegram's per-chat limit would only make this slow
        "SAFAR_LOG_LEVEL": "WARNING",
    }
    api.latency = (0.0, 0.02)  # sends that overtake each other, if anything lets them
    serves = [Serve(env, tmp_path), Serve(env, tmp_path)]
    try:
        await asyncio.gather(*(s.start() for s in serves))
        await api.wait_for(
            lambda: len(api.calls_to("setWebhook")) >= 2, 30, "both processes taking updates"
        )
        async with aiohttp.ClientSession() as http:
            for serve in serves:  # a first answer builds caches: not what this measures
                warm = api.person("Warm", language_code="ru")
                await deliver(http, serve, warm.text_update("/start"))
                await warm.replies(within=30)

            async def person(n: int) -> list[str]:
                someone = api.person(f"P{n}", language_code="ru")
                for i, text in enumerate(MESSAGES):
                    await deliver(http, serves[i % 2], someone.text_update(text))
                return await settled(someone, len(MESSAGES))

            together = await asyncio.gather(*(person(n) for n in range(PEOPLE)))
            alone = api.person("Alone", language_code="ru")
            for text in MESSAGES:
                before = len(alone.chat.seen)
                await deliver(http, serves[0], alone.text_update(text))
                await alone.replies(within=30)
                assert len(alone.chat.seen) > before
                await settled(alone, 0)
            expected = [f"{s.kind}: {s.text} {s.labels}" for s in alone.chat.seen]
        assert len(set(expected)) >= 4  # the messages do lead somewhere different each time
        for n, replies in enumerate(together):
            assert replies == expected, f"person {n} got their answers out of order"
    finally:
        for serve in serves:
            serve.stop()


async def test_a_front_process_only_stores_and_a_worker_answers_what_it_stored_in_order(
    redis_url: str, prefix: str, tmp_path: Path, api: BotAPI
) -> None:
    """An operator puts a front behind the proxy (SAFAR_BACKGROUND=false), so its webhook 200s
    never queue behind a turn, and a worker beside it. While the worker is down the front
    still acknowledges every update and sends nothing; once the worker is up it answers
    each of them, in the order the person wrote, exactly as one process answers them."""
    env = {
        **replica_env(redis_url, prefix, SECRET, (api.token, api.url)),
        "TELEGRAM_MAX_RATE": "0",
        "SAFAR_LOG_LEVEL": "WARNING",
        "STAFF_TOKEN": "t" * 40,
    }
    front = Serve({**env, "SAFAR_BACKGROUND": "false"}, tmp_path)
    worker = Serve(env, tmp_path)
    sends = ("sendMessage", "editMessageText", "sendContact")
    try:
        await front.start()
        await api.wait_for(lambda: bool(api.calls_to("setWebhook")), 30, "the front is up")
        async with aiohttp.ClientSession() as http:
            auth = {"Authorization": f"Bearer {'t' * 40}"}
            async with http.get(f"{front.url}/healthz", headers=auth) as resp:
                assert (await resp.json())["background"] == "off"
            someone = api.person("Waits", language_code="ru")
            for text in MESSAGES:
                await deliver(http, front, someone.text_update(text))  # each one a 200
            await asyncio.sleep(1.5)
            assert not any(api.calls_to(m) for m in sends), "the front answered by itself"

            await worker.start()
            waited = await settled(someone, len(MESSAGES))
            alone = api.person("Alone", language_code="ru")
            for text in MESSAGES:
                before = len(alone.chat.seen)
                await deliver(http, front, alone.text_update(text))
                await alone.replies(within=30)
                assert len(alone.chat.seen) > before
                await settled(alone, 0)
            expected = [f"{s.kind}: {s.text} {s.labels}" for s in alone.chat.seen]
        assert len(set(expected)) >= 4
        assert waited == expected
    finally:
        worker.stop()
        front.stop()
