"""The Redis store: what is kept, for how long, and that concurrent writes are never lost."""

from __future__ import annotations

import asyncio
import hashlib
import logging

import pytest
from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError

from bot.engine import Session
from bot.store import RedisStore, SessionKey
from bot.store.base import StoreUnavailable
from bot.store.redis import connect, redis_budget
from tests.conftest import SECRET
from tests.fakes.slow_redis import SlowRedis

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
    stores = [
        RedisStore(c, session_ttl=60, prefs_ttl=600, prefix=prefix, secret=SECRET) for c in clients
    ]

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
        True,
        True,
        True,
        False,
    ]
    keys = [k.decode() async for k in redis.scan_iter(f"{store.prefix}:rate:*")]
    assert len(keys) == 1 and "203.0.113.7" not in keys[0]
    assert 0 < await redis.ttl(keys[0]) <= 60
    assert await store.allow("web", "198.51.100.1", 3, 60)  # someone else is not affected


# -- pseudonyms are keyed (defect 4) ------------------------------------------------------------


async def test_a_pseudonym_cannot_be_found_by_trying_every_number(
    store: RedisStore, redis: Redis, prefix: str
) -> None:
    """Anyone with the code can hash every +996 number; without SAFAR_SECRET the key is noise."""
    await store.save(ALIYA, Session(lang="ky"))
    unkeyed = hashlib.blake2b(f":sms:{ALIYA.user}".encode(), digest_size=12).hexdigest()
    keys = [k.decode() async for k in redis.scan_iter(f"{prefix}:*")]
    assert keys and not any(unkeyed in k for k in keys)
    other = RedisStore(redis, session_ttl=60, prefs_ttl=600, prefix=prefix, secret=b"o" * 32)
    assert other.keys_for(ALIYA) != store.keys_for(ALIYA)  # another secret, another pseudonym
    assert (await other.load(ALIYA)).lang is None


def test_a_store_refuses_a_short_or_missing_secret(redis: Redis) -> None:
    with pytest.raises(ValueError, match="secret"):
        RedisStore(redis, session_ttl=60, prefs_ttl=600, secret=b"")


# -- a corrupt session is discarded (defect 8) ------------------------------------------------


@pytest.mark.parametrize(
    "corrupt",
    [
        b'{"trail": 5}',
        b'{"page": "x"}',
        b'{"lang": "xx"}',
        b'{"node": ["a"], "turns": "many"}',
        b'{"suggestions": [1, 2]}',
        b"[1, 2]",
        b"null",
        b'"a string"',
        b"\xff\xfe",
    ],
)
async def test_a_session_with_wrong_types_is_logged_discarded_and_started_afresh(
    store: RedisStore, redis: Redis, corrupt: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    await store.save(ALIYA, Session(lang="ru", node="documents", trail=["main"]))
    skey, _ = store.keys_for(ALIYA)
    await redis.set(skey, corrupt)
    with caplog.at_level(logging.WARNING, logger="bot.store.redis"):
        session = await store.load(ALIYA)
    assert (session.lang, session.node, session.trail, session.page) == ("ru", None, [], 0)
    assert await redis.exists(skey) == 0  # gone, not read again for six hours
    [record] = [r for r in caplog.records if "discarded" in r.getMessage()]
    assert "555123456" not in record.getMessage() and ALIYA.user not in record.getMessage()
    # and the next turn writes a good session again
    turn = await store.update(ALIYA, lambda s: (s.copy(node="life"), s.lang))
    assert turn == "ru" and (await store.load(ALIYA)).node == "life"


async def test_corrupt_saved_preferences_do_not_break_the_person_either(
    store: RedisStore, redis: Redis
) -> None:
    await store.save(ALIYA, Session(lang="ru"))
    skey, pkey = store.keys_for(ALIYA)
    await redis.delete(skey)
    await redis.set(pkey, b'{"lang": 5, "script": "gothic"}')
    session = await store.load(ALIYA)
    assert (session.lang, session.script) == (None, None)


# -- bounded resources (defect 11) --------------------------------------------------------------


async def test_the_connection_pool_is_bounded_and_waits_instead_of_failing(
    redis_url: str, prefix: str
) -> None:
    """200 calls at once share 3 connections: each waits its turn, none fails."""
    client = connect(redis_url, max_connections=3, pool_timeout=5, timeout=2)
    store = RedisStore(client, session_ttl=60, prefs_ttl=600, prefix=prefix, secret=SECRET)
    try:
        results = await asyncio.gather(*(store.once("pool", str(i), ttl=60) for i in range(200)))
        assert all(results)
        pool = client.connection_pool
        assert isinstance(pool, BlockingConnectionPool) and pool.max_connections == 3
        assert len(pool._available_connections) + len(pool._in_use_connections) <= 3
    finally:
        await client.aclose()


async def test_redis_time_within_one_request_is_bounded_when_redis_is_slow(
    redis_url: str, prefix: str
) -> None:
    """Redis answers after 1.5 s; a request has 1 s of Redis time in all, however many calls."""
    async with SlowRedis(redis_url, delay=1.5) as slow:
        client = connect(slow.url, max_connections=4, pool_timeout=1, timeout=5)
        store = RedisStore(client, session_ttl=60, prefs_ttl=600, prefix=prefix, secret=SECRET)
        loop = asyncio.get_running_loop()
        started = loop.time()
        failures = 0
        with redis_budget(1.0):
            for _ in range(5):
                try:
                    await store.load(ALIYA)
                except StoreUnavailable:
                    failures += 1
        assert failures == 5
        assert loop.time() - started < 1.5
        await client.aclose()


async def test_outside_a_request_each_call_still_gives_up_after_the_redis_timeout(
    redis_url: str, prefix: str
) -> None:
    """The outbox and the Telegram worker run without a request budget: a Redis that stopped
    answering costs each of their calls SAFAR_REDIS_TIMEOUT, and a pipeline the same, never a
    hang; once Redis answers again, the next call works on the same client."""
    async with SlowRedis(redis_url, delay=1.0) as slow:
        client = connect(slow.url, max_connections=2, pool_timeout=1, timeout=0.3)
        store = RedisStore(client, session_ttl=60, prefs_ttl=600, prefix=prefix, secret=SECRET)
        loop = asyncio.get_running_loop()

        async def piped() -> list[object]:
            pipe = client.pipeline()
            pipe.get("x")
            return await pipe.execute()

        for call in (lambda: store.load(ALIYA), piped):
            started = loop.time()
            with pytest.raises((StoreUnavailable, RedisError)) as raised:
                await call()
            assert 0.25 < loop.time() - started < 0.8
            assert "within 0.3 s" in str(raised.value.__cause__ or raised.value)
        slow.delay = 0.0
        assert (await store.load(ALIYA)).lang is None
        await client.aclose()
