"""The embedded Redis that `make run` starts: a real server that keeps data across restarts."""

from __future__ import annotations

from pathlib import Path

from redis.asyncio import Redis

from bot.store.embedded import EmbeddedRedis


async def test_data_survives_a_restart_of_the_embedded_server(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis")
    client = Redis.from_url(server.start())
    await client.set("safar:p:someone", '{"lang": "ky"}')
    await client.aclose()
    server.stop()  # Ctrl-C: redis flushes its append-only file on SIGTERM

    assert (tmp_path / "redis" / "redis.log").exists()
    again = EmbeddedRedis(tmp_path / "redis")
    client = Redis.from_url(again.start())
    assert await client.get("safar:p:someone") == b'{"lang": "ky"}'
    await client.aclose()
    again.stop()
    assert again.proc is None
