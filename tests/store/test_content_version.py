"""The content version announced through Redis: what a new process sees, what a running one
hears, and that the key does not stay forever."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from bot.store.content_version import ANNOUNCE_TTL, ContentSignal, ContentVersions


async def test_an_announced_version_is_kept_for_a_month_and_heard_at_once(
    redis: Redis, prefix: str
) -> None:
    versions = ContentVersions(redis, prefix=prefix)
    assert await versions.announced() is None
    heard: list[ContentSignal] = []

    async def listen() -> None:
        async for signal in versions.follow(poll=5):
            heard.append(signal)
            if len(heard) == 2:
                return

    listener = asyncio.create_task(listen())
    for _ in range(100):  # until the listener is subscribed
        if (await redis.pubsub_numsub(versions.channel))[0][1]:
            break
        await asyncio.sleep(0.01)
    assert await versions.announce("abc123def456")
    assert await versions.request_reload() == 1
    await asyncio.wait_for(listener, 5)

    assert heard == [ContentSignal("version", "abc123def456"), ContentSignal("reload")]
    assert await versions.announced() == "abc123def456"
    assert 0 < await redis.ttl(versions.key) <= ANNOUNCE_TTL


async def test_a_process_that_missed_the_message_catches_up_from_the_key(
    redis: Redis, prefix: str
) -> None:
    versions = ContentVersions(redis, prefix=prefix)
    await versions.announce("0123456789ab")  # nobody listening: the message is lost
    follow = versions.follow(poll=0.05)
    first = await asyncio.wait_for(anext(follow), 5)
    await follow.aclose()
    assert first == ContentSignal("version", "0123456789ab")


async def test_without_redis_nothing_is_announced_and_nothing_raises() -> None:
    dead = Redis.from_url("redis://127.0.0.1:1", socket_connect_timeout=0.2)
    versions = ContentVersions(dead, prefix="nowhere")
    assert not await versions.announce("abc")
    assert await versions.announced() is None
    assert await versions.request_reload() is None
    await dead.aclose()
