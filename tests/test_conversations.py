"""The path every channel takes: session in, engine, session out, and what happens on failure."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from redis.asyncio import Redis

from bot.content.load import Content
from bot.conversations import ContentHolder, Conversations
from bot.engine import Inbound
from bot.settings import REPO_ROOT
from bot.store import RedisStore, SessionKey
from tests.conftest import SECRET

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
        RedisStore(dead, session_ttl=60, prefs_ttl=60, secret=SECRET), ContentHolder(content)
    )
    turn = await conversations.handle(BOLOT, Inbound(text="Не выплатили зарплату, что делать?"))
    notice, article = turn.replies[0], turn.replies[-1]
    assert "112" in notice.text and "+" in notice.text  # what a person in danger needs, first
    assert article.article == "unpaid-wages"
    turn = await conversations.handle(BOLOT, Inbound(text="hi"))
    assert turn.replies[-1].kind == "languages"
    await dead.aclose()


async def test_a_broken_edit_is_refused_and_the_bot_keeps_the_last_good_content(
    tmp_path: Path,
) -> None:
    root = tmp_path / "content"
    for part in ("dialogs", "knowledge", "locales"):
        shutil.copytree(REPO_ROOT / part, root / part)
    holder = ContentHolder.load(root)
    before = holder.current
    (root / "dialogs" / "main.yaml").write_text("start: main\nnodes: {main: {type: men", "utf-8")
    result = holder.reload()
    assert result.content is None and result.errors
    assert holder.current is before
    shutil.copy(REPO_ROOT / "dialogs" / "main.yaml", root / "dialogs" / "main.yaml")
    (root / "knowledge" / "hotlines.yaml").write_text(
        (REPO_ROOT / "knowledge" / "hotlines.yaml").read_text().replace("918 85", "918 86")
    )
    assert holder.reload().content is not None
    assert holder.current is not before
    assert holder.current.content.hotline.phone == "+992 918 86 34 34"
