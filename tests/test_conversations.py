"""The path every channel takes: session in, engine, session out, and what happens on failure."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from bot.content.load import Content
from bot.conversations import ContentHolder, Conversations
from bot.engine import Inbound
from bot.store import RedisStore, SessionKey

BOLOT = SessionKey("web", "bolot-browser-1")


async def test_a_conversation_continues_across_messages(conversations: Conversations) -> None:
    await conversations.handle(BOLOT, Inbound(command="start"))
    turn = await conversations.handle(BOLOT, Inbound(choice="2"))
    assert turn.session.lang == "ru"
    turn = await conversations.handle(BOLOT, Inbound(choice="2"))
    assert turn.session.node == "documents"


async def test_ten_quick_messages_from_one_person_are_handled_in_order(
    conversations: Conversations,
) -> None:
    await conversations.handle(BOLOT, Inbound(command="language", arg="en"))
    turns = await asyncio.gather(
        *(conversations.handle(BOLOT, Inbound(text="menu")) for _ in range(10))
    )
    assert [t.session.turns for t in turns] == list(range(2, 12))


async def test_forget_removes_the_keys(
    conversations: Conversations, store: RedisStore, redis: Redis
) -> None:
    await conversations.handle(BOLOT, Inbound(command="language", arg="tg"))
    assert await redis.exists(*store.keys_for(BOLOT)) == 2
    await conversations.handle(BOLOT, Inbound(command="forget"))
    turn = await conversations.handle(BOLOT, Inbound(choice="1"))
    assert turn.replies[0].kind == "forgotten"
    assert await redis.exists(*store.keys_for(BOLOT)) == 0


async def test_when_redis_is_gone_a_clear_question_is_still_answered(content: Content) -> None:
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    conversations = Conversations(
        RedisStore(dead, session_ttl=60, prefs_ttl=60), ContentHolder(content)
    )
    turn = await conversations.handle(BOLOT, Inbound(text="Не выплатили зарплату, что делать?"))
    assert turn.replies[0].article == "unpaid-wages"
    turn = await conversations.handle(BOLOT, Inbound(text="hi"))
    assert turn.replies[0].kind == "languages"
    await dead.aclose()
