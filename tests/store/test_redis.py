"""The Redis store: what is kept, for how long, and that concurrent writes are never lost."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from bot.engine import Session
from bot.store import RedisStore, SessionKey

ALIYA = SessionKey("sms", "+996555123456")


async def test_a_saved_session_comes_back_and_every_key_expires(
    store: RedisStore, redis: Redis
) -> None:
    await store.save(ALIYA, Session(lang="ky", node="documents", trail=["main"]))
    loaded = await store.load(ALIYA)
    assert (loaded.lang, loaded.node, loaded.trail) == ("ky", "documents", ["main"])
    skey, pkey = store.keys_for(ALIYA)
    assert 0 < await redis.ttl(skey) <= store.session_ttl
    assert store.session_ttl < await redis.ttl(pkey) <= store.prefs_ttl
    assert not [k async for k in redis.scan_iter(f"{store.prefix}:*") if await redis.ttl(k) < 0]


async def test_keys_never_contain_the_phone_number(store: RedisStore, redis: Redis) -> None:
    await store.save(ALIYA, Session(lang="ky"))
    keys = [k.decode() async for k in redis.scan_iter(f"{store.prefix}:*")]
    assert keys and not any("555123456" in k for k in keys)


async def test_the_language_outlives_an_expired_session(store: RedisStore, redis: Redis) -> None:
    await store.save(ALIYA, Session(lang="tg", script="lat", node="life"))
    await redis.delete(store.keys_for(ALIYA)[0])  # the session expired after inactivity
    fresh = await store.load(ALIYA)
    assert (fresh.lang, fresh.script, fresh.node) == ("tg", "lat", None)


async def test_forgetting_deletes_everything_about_the_person(
    store: RedisStore, redis: Redis
) -> None:
    await store.save(ALIYA, Session(lang="ru"))
    await store.delete(ALIYA)
    assert await redis.exists(*store.keys_for(ALIYA)) == 0
    assert (await store.load(ALIYA)).lang is None


async def test_concurrent_updates_of_one_session_do_not_lose_a_write(
    redis_url: str, prefix: str
) -> None:
    """Twenty messages at once, through five connections: every one of them is counted."""
    clients = [Redis.from_url(redis_url) for _ in range(5)]
    stores = [RedisStore(c, session_ttl=60, prefs_ttl=600, prefix=prefix) for c in clients]

    def bump(session: Session) -> tuple[Session, int]:
        return session.copy(turns=session.turns + 1), session.turns + 1

    results = await asyncio.gather(*(stores[i % 5].update(ALIYA, bump) for i in range(20)))
    assert sorted(results) == list(range(1, 21))
    assert (await stores[0].load(ALIYA)).turns == 20
    for client in clients:
        await client.aclose()


async def test_an_update_that_returns_none_deletes_the_session(store: RedisStore) -> None:
    await store.save(ALIYA, Session(lang="en"))
    assert await store.update(ALIYA, lambda s: (None, "gone")) == "gone"
    assert (await store.load(ALIYA)).lang is None


async def test_a_corrupt_session_is_dropped_not_fatal(store: RedisStore, redis: Redis) -> None:
    await store.save(ALIYA, Session(lang="ky"))
    await redis.set(store.keys_for(ALIYA)[0], b"{not json")
    session = await store.load(ALIYA)
    assert session.lang == "ky" and session.node is None  # the language survives in prefs


async def test_once_is_true_only_the_first_time(store: RedisStore, redis: Redis) -> None:
    assert await store.once("sms", "SM123", ttl=60) is True
    assert await store.once("sms", "SM123", ttl=60) is False
    assert 0 < await redis.ttl(f"{store.prefix}:once:sms:SM123") <= 60


async def test_the_rate_limit_counts_within_a_window_and_forgets_after_it(
    store: RedisStore, redis: Redis
) -> None:
    assert [await store.allow("web", "203.0.113.7", 3, 60) for _ in range(4)] == [
        True, True, True, False,
    ]
    keys = [k.decode() async for k in redis.scan_iter(f"{store.prefix}:rate:*")]
    assert len(keys) == 1 and "203.0.113.7" not in keys[0]
    assert 0 < await redis.ttl(keys[0]) <= 60
    assert await store.allow("web", "198.51.100.1", 3, 60)  # someone else is not affected
