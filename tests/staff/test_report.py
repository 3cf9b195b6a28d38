"""Staff see what people ask, and what the bot could not answer, without seeing who asked:
counters per day, channel and language, masked questions that expire, hand-offs, SMS cost."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
from typing import Any

import pytest
from click.testing import CliRunner
from redis.asyncio import Redis

from bot.cli import main
from bot.content.load import Content
from bot.conversations import ContentHolder, Conversations
from bot.engine import Inbound
from bot.staff.report import format_csv, format_table, gather
from bot.store.base import SessionKey
from bot.store.redis import RedisStore
from bot.store.stats import KEEP_DAYS, Stats, day_of
from tests.conftest import SECRET
from tests.staff.conftest import BEARER, PRICE, Client, log_in

TODAY = dt.datetime.now(dt.UTC).date()


@pytest.fixture
def stats(redis: Redis, prefix: str) -> Stats:
    return Stats(redis, prefix=prefix, text_days=30)


@pytest.fixture
async def talk(store: RedisStore, content: Content, stats: Stats) -> Conversations:
    return Conversations(store, ContentHolder(content), stats)


async def a_day_of_questions(talk: Conversations) -> None:
    """Three people: one on Telegram in Kyrgyz walks the menu, one on SMS in Russian asks
    something the bot knows and something it does not, one on the web asks in Tajik."""
    tg = SessionKey("telegram", "1001")
    await talk.handle(tg, Inbound(command="language", arg="ky"))
    await talk.handle(tg, Inbound(choice="2"))
    await talk.handle(tg, Inbound(choice="2"))  # the work patent, from the menu
    sms = SessionKey("sms", "+996555123456")
    await talk.handle(sms, Inbound(command="language", arg="ru"))
    await talk.handle(sms, Inbound(text="не платят зарплату"))
    await talk.handle(
        sms,
        Inbound(text="Меня зовут Азамат Бекович, где купить билет на самолёт? +7 916 123 45 67"),
    )
    web = SessionKey("web", "visitor-0001")
    await talk.handle(web, Inbound(command="language", arg="tg"))
    await talk.handle(web, Inbound(text="Номи ман Зарина. Чӣ тавр ба Марс парвоз кунам?"))


async def test_a_day_of_questions_is_counted_without_who_asked(
    talk: Conversations, stats: Stats, redis: Redis, prefix: str
) -> None:
    await a_day_of_questions(talk)
    await stats.record_handoff("telegram", "ky", out_of_hours=True)
    await stats.record_handoff("sms", "ru", out_of_hours=False)
    await stats.record_handoff_answered(600)
    await stats.record_sms(3)
    await stats.record_sms(1)
    report = await gather(stats, 7, PRICE)
    day = report.days[-1]
    assert day.day == TODAY
    assert day.counts[("q", "sms", "ru")] == 2
    assert day.counts[("miss", "sms", "ru")] == 1
    assert day.counts[("miss", "web", "tg")] == 1
    assert ("q", "telegram", "ky") not in day.counts  # menu picks are not questions
    assert dict(report.top_articles())["work-patent"] == 1
    assert dict(report.top_articles())["unpaid-wages"] == 1
    texts = [t for t, _ in report.top_unanswered()]
    assert any("где купить билет на самолёт?" in t for t in texts)
    joined = " ".join(texts)
    for personal in ("Азамат", "Бекович", "916", "Зарина"):
        assert personal not in joined
    assert report.total("ho") == 2 and report.out_of_hours_share == 0.5
    assert report.mean_wait == 600
    assert report.sum_totals("sms_seg") == 4 and report.sms_cost == pytest.approx(4 * PRICE)
    # nothing stored names a person, and everything expires
    keys = [k.decode() async for k in redis.scan_iter(f"{prefix}:stats:*")]
    assert keys
    for key in keys:
        assert "+996" not in key and "1001" not in key and "visitor" not in key
        ttl = await redis.ttl(key)
        if key.endswith(":miss"):
            assert 0 < ttl <= 30 * 86400
        else:
            assert 0 < ttl <= KEEP_DAYS * 86400


async def test_unanswered_texts_are_kept_only_the_configured_days(
    redis: Redis, prefix: str, content: Content, store: RedisStore
) -> None:
    for days, kept in ((0, False), (2, True)):
        stats = Stats(redis, prefix=f"{prefix}-{days}", text_days=days)
        talk = Conversations(store, ContentHolder(content), stats)
        key = SessionKey("web", f"visitor-{days:04d}")
        await talk.handle(key, Inbound(command="language", arg="en"))
        await talk.handle(key, Inbound(text="How do I fly to Mars with my cat?"))
        miss = stats.key(TODAY, "miss")
        assert bool(await redis.exists(miss)) is kept
        if kept:
            assert 0 < await redis.ttl(miss) <= 2 * 86400
        assert (await gather(stats, 1, PRICE)).total("miss") == 1  # the count is always kept


async def test_the_report_reads_as_a_table_and_as_csv(talk: Conversations, stats: Stats) -> None:
    await a_day_of_questions(talk)
    await stats.record_sms(2)
    report = await gather(stats, 3, PRICE)
    table = format_table(report)
    assert "Questions per day" in table and "work-patent" in table
    assert "[name]" in table and "Азамат" not in table
    assert f"cost {2 * PRICE:.2f}" in table
    rows = list(csv.DictReader(io.StringIO(format_csv(report))))
    assert {"date", "metric", "channel", "lang", "item", "value"} <= set(rows[0])
    questions = [r for r in rows if r["metric"] == "questions" and r["channel"] == "sms"]
    assert questions == [
        {
            "date": TODAY.isoformat(),
            "metric": "questions",
            "channel": "sms",
            "lang": "ru",
            "item": "",
            "value": "2",
        }
    ]
    assert any(r["metric"] == "sms_cost" and r["value"] == f"{2 * PRICE:.2f}" for r in rows)


async def test_a_day_boundary_is_utc(stats: Stats) -> None:
    midnight = dt.datetime(2026, 3, 1, tzinfo=dt.UTC).timestamp()
    assert day_of(midnight - 1) == dt.date(2026, 2, 28)
    await stats.record_sms(5, now=midnight - 1)
    days = await stats.days(dt.date(2026, 2, 28), dt.date(2026, 3, 1))
    assert [d.totals.get("sms_seg", 0) for d in days] == [5, 0]


async def test_recording_never_breaks_a_turn(store: RedisStore, content: Content) -> None:
    """Stats on a Redis that is down: the person still gets the answer."""
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    talk = Conversations(store, ContentHolder(content), Stats(dead, prefix="x"))
    turn = await talk.handle(SessionKey("web", "visitor-0009"), Inbound(command="start"))
    assert turn.replies
    await dead.aclose()


async def test_safar_report_prints_the_table_and_csv(
    talk: Conversations, redis_url: str, prefix: str, tmp_path: Any
) -> None:
    await a_day_of_questions(talk)
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "SAFAR_SECRET": SECRET.decode(),
        "SAFAR_REDIS_PREFIX": prefix,
        "SAFAR_DATA_DIR": str(tmp_path),
        "SMS_PRICE_PER_SEGMENT": str(PRICE),
    }
    runner = CliRunner()
    result = await _invoke(runner, ["report", "--days", "7"], env)
    assert result.exit_code == 0, result.output
    assert "Questions per day" in result.output and "unpaid-wages" in result.output
    result = await _invoke(runner, ["report", "--format", "csv"], env)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("date,metric,channel,lang,item,value")


async def _invoke(runner: CliRunner, args: list[str], env: dict[str, str]) -> Any:
    """The CLI runs its own event loop: give it a thread, as a terminal would a process."""
    import asyncio

    return await asyncio.to_thread(runner.invoke, main, args, env=env)


async def test_the_report_page_shows_charts_to_staff_only(staff: Client) -> None:
    assert (await staff.get("/staff/report")).status == 401
    session = None
    for text in ("", "Как получить визу на Луну?", "не платят зарплату"):
        resp = await staff.post(
            "/staff/api/turn",
            json={"channel": "sms", "lang": "ru", "session": session, "text": text},
            headers=BEARER,
        )
        session = (await resp.json())["session"]
    await log_in(staff)
    resp = await staff.get("/staff/report?days=7")
    assert resp.status == 200
    page = await resp.text()
    assert page.count("<svg") == 3 and "Questions per day" in page
    assert "<b>0</b> questions" in page  # the preview is never counted: only real people are
    assert "<script" not in page and "style=" not in page
    assert "unsafe-inline" not in resp.headers["Content-Security-Policy"]
    resp = await staff.get("/staff/report?days=7&format=csv")
    assert resp.status == 200 and resp.content_type == "text/csv"
    assert (await resp.text()).startswith("date,metric")


async def test_without_redis_the_report_says_so(tmp_path: Any) -> None:
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    from bot.store.stats import StatsUnavailable

    with pytest.raises(StatsUnavailable, match="unreachable"):
        await gather(Stats(dead, prefix="x"), 3, PRICE)
    await dead.aclose()
