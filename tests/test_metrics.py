"""An operator's Prometheus scrapes /metrics while people use the web chat."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from bot.app import CONTENT, CONVERSATIONS, SENDER, STORE, create_app
from bot.engine.types import Handoff
from bot.handoff import Handoffs, StaffChat
from bot.metrics import METRICS
from bot.settings import Settings
from bot.store.base import SessionKey
from bot.store.tickets import TicketStore
from tests.conftest import SECRET, STAFF, STAFF_SECRET

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[[web.Application], Awaitable[Client]]
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(client: Client) -> Samples:
    resp = await client.get("/metrics", headers=STAFF)
    assert resp.status == 200, await resp.text()
    assert resp.content_type == "text/plain"
    found: Samples = {}
    for family in text_string_to_metric_families(await resp.text()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def say(client: Client, user: str, **payload: Any) -> None:
    resp = await client.post("/api/chat", json={"user": user, **payload})
    assert resp.status == 200, await resp.text()


async def test_a_scrape_counts_messages_answers_and_declines_per_channel_and_language(
    settings: Settings, aiohttp_client: MakeClient
) -> None:
    client = await aiohttp_client(
        create_app(settings.model_copy(update={"staff_token": STAFF_SECRET}))
    )
    before = await scrape(client)
    await say(client, "metrics-reader-1", command="start")
    await say(client, "metrics-reader-1", choice="2")  # Русский
    await say(client, "metrics-reader-1", text="как получить патент на работу")
    await say(client, "metrics-reader-1", text="zzqx vlorp")  # nothing like it: declined
    after = await scrape(client)

    assert value(after, "safar_messages_in_total", channel="web", lang="ru") >= 3
    assert value(after, "safar_messages_out_total", channel="web", lang="ru") >= 3
    assert value(after, "safar_search_total", result="answered", lang="ru") == 1
    assert value(after, "safar_search_total", result="declined", lang="ru") == 1
    assert value(after, "safar_turn_seconds_count", channel="web") == 4
    assert value(after, "safar_request_seconds_count", route="web", status="2xx") == 4
    version = client.app[CONTENT].current.content.version
    assert value(after, "safar_content_info", version=version) == 1
    assert value(after, "safar_content_reload_failed") == 0
    assert value(after, "safar_outbox_depth") == 0
    assert ("safar_redis_errors_total", ()) in after
    assert ("safar_outbox_retries_total", ()) in after
    assert value(before, "safar_messages_in_total", channel="web", lang="ru") == 0


async def test_hand_offs_open_and_waiting_are_read_from_the_ticket_store_at_scrape_time(
    settings: Settings, redis: Redis, prefix: str, aiohttp_client: MakeClient
) -> None:
    client = await aiohttp_client(
        create_app(settings.model_copy(update={"staff_token": STAFF_SECRET}))
    )
    app = client.app
    tickets = TicketStore(redis, prefix=prefix, secret=SECRET)
    sender = app[SENDER]
    app[CONVERSATIONS].handoffs = Handoffs(
        tickets=tickets,
        outbox=sender.store,
        sender=sender,
        content=app[CONTENT],
        sessions=app[STORE],
        staff=StaffChat(-100123),
    )
    for i, open_now in enumerate([True, True, False]):
        key = SessionKey("sms", f"+99655500{i:04d}")
        await tickets.open(key, "ru", Handoff("tajik-migration", open_now=open_now))
    samples = await scrape(client)
    assert value(samples, "safar_handoffs", status="open") == 2
    assert value(samples, "safar_handoffs", status="waiting") == 1
    assert value(samples, "safar_handoffs", status="taken") == 0
    text = await (await client.get("/metrics", headers=STAFF)).text()
    assert "+996" not in text and "99655500" not in text  # counts only, never an address


async def test_metrics_need_the_staff_token_and_each_app_has_its_own_registry(
    settings: Settings, aiohttp_client: MakeClient
) -> None:
    staffed = await aiohttp_client(
        create_app(settings.model_copy(update={"staff_token": STAFF_SECRET}))
    )
    assert (await staffed.get("/metrics")).status == 401
    assert (await staffed.get("/metrics", headers={"Authorization": "Bearer nope"})).status == 401
    closed = await aiohttp_client(create_app(settings))  # no STAFF_TOKEN: no route at all
    assert (await closed.get("/metrics")).status == 404
    await say(closed, "metrics-reader-2", command="start")
    assert staffed.app[METRICS].registry is not closed.app[METRICS].registry
    samples = await scrape(staffed)
    assert value(samples, "safar_messages_in_total", channel="web", lang="-") == 0


async def test_with_redis_down_a_scrape_still_answers_and_counts_the_errors(
    settings: Settings, aiohttp_client: MakeClient
) -> None:
    from tests.fakes.telegram_safar import free_port

    dead = {"redis_url": f"redis://127.0.0.1:{free_port()}/0", "staff_token": STAFF_SECRET}
    client = await aiohttp_client(create_app(settings.model_copy(update=dead)))
    await say(client, "metrics-reader-3", command="start")  # answered without a session
    samples = await scrape(client)
    assert value(samples, "safar_redis_errors_total") >= 1
    assert value(samples, "safar_turn_seconds_count", channel="web") == 1
