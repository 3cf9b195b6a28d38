"""The engine's side of the hand-off: pure turns, no Redis, an injected clock.

Each test is one moment of a person's conversation with a hotline behind the bot.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from zoneinfo import ZoneInfo

from bot.engine import Engine, Inbound, Session
from bot.engine.types import CALLBACK, CALLBACK_PHONE, HANDOFF, LEAVE, URGENT, Callback

DUSHANBE = ZoneInfo("Asia/Dushanbe")


def at(day: str, hhmm: str) -> float:
    return dt.datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=DUSHANBE).timestamp()


WEDNESDAY_10 = at("2026-12-02", "10:00")
WEDNESDAY_LUNCH = at("2026-12-02", "12:30")
SATURDAY_EVENING = at("2026-12-05", "20:00")
ON = Inbound(command="operator", handoff=True)


def test_asking_for_a_person_in_open_hours_opens_a_ticket(engine: Engine) -> None:
    turn = engine.handle(Session(lang="ru", node="main"), ON, WEDNESDAY_10)
    assert turn.session.mode == "operator" and turn.session.node == HANDOFF
    assert turn.effects.handoff is not None and turn.effects.handoff.open_now
    assert turn.effects.handoff.queue == "normal"
    assert "оператор" in turn.replies[0].text.lower()


def test_with_an_operator_the_bot_is_silent_and_relays_everything(engine: Engine) -> None:
    s = Session(lang="ky", mode="operator", node=HANDOFF)
    for text in ("салам", "3", "паспорт жоголду", "патент"):
        turn = engine.handle(s, Inbound(text=text, handoff=True), WEDNESDAY_10)
        assert turn.replies == ()
        assert turn.effects.relay == text
        s = turn.session
    assert s.mode == "operator"


def test_menu_asks_before_leaving_the_operator_and_yes_closes_the_ticket(engine: Engine) -> None:
    s = Session(lang="en", mode="operator", node=HANDOFF)
    ask = engine.handle(s, Inbound(text="MENU", handoff=True), WEDNESDAY_10)
    assert ask.session.node == LEAVE and ask.replies[0].kind == "confirm"
    stay = engine.handle(ask.session, Inbound(text="0", handoff=True), WEDNESDAY_10)
    assert stay.session.mode == "operator" and not stay.effects.close
    again = engine.handle(stay.session, Inbound(text="menu", handoff=True), WEDNESDAY_10)
    leave = engine.handle(again.session, Inbound(choice="1", handoff=True), WEDNESDAY_10)
    assert leave.effects.close and leave.session.mode == "bot"
    assert leave.replies[-1].kind == "menu"


def test_out_of_hours_the_person_hears_when_it_opens_and_a_callback_is_offered(
    engine: Engine,
) -> None:
    turn = engine.handle(Session(lang="en", node="main"), ON, SATURDAY_EVENING)
    text = turn.replies[0].text
    assert "closed" in text and "on Monday at 08:00" in text
    assert "Mon" not in text.replace("Monday", "")  # not the whole week's hours
    assert turn.session.node == CALLBACK
    assert turn.effects.handoff is not None and not turn.effects.handoff.open_now
    assert [o.key for o in turn.replies[0].options][:2] == ["1", "0"]


def test_at_lunch_it_opens_again_today_at_one(engine: Engine) -> None:
    turn = engine.handle(Session(lang="ru", node="main"), ON, WEDNESDAY_LUNCH)
    assert "сегодня в 13:00" in turn.replies[0].text


def test_a_callback_by_sms_uses_the_number_the_person_texts_from(engine: Engine) -> None:
    s = engine.handle(Session(lang="tg"), replace(ON, reachable=True), SATURDAY_EVENING).session
    yes = engine.handle(s, Inbound(choice="1", handoff=True, reachable=True), SATURDAY_EVENING)
    assert yes.effects.callback == Callback(None)
    assert yes.session.mode == "operator"


def test_a_callback_on_telegram_asks_for_a_number_and_checks_it(engine: Engine) -> None:
    s = engine.handle(Session(lang="en"), ON, SATURDAY_EVENING).session
    ask = engine.handle(s, Inbound(choice="1", handoff=True), SATURDAY_EVENING)
    assert ask.session.node == CALLBACK_PHONE
    wrong = engine.handle(ask.session, Inbound(text="tomorrow", handoff=True), SATURDAY_EVENING)
    assert wrong.effects.callback is None and wrong.effects.relay == "tomorrow"
    ok = engine.handle(
        ask.session, Inbound(text="8 925 115-50-47", handoff=True), SATURDAY_EVENING
    )
    assert ok.effects.callback == Callback("+79251155047")
    assert "+79251155047" in ok.replies[0].text


def test_without_operators_the_bot_gives_the_number_and_the_next_opening(engine: Engine) -> None:
    turn = engine.handle(
        Session(lang="en", node="main"), Inbound(command="operator"), SATURDAY_EVENING
    )
    assert turn.session.mode == "bot" and turn.session.node == HANDOFF
    assert "+992" in turn.replies[0].text and "on Monday at 08:00" in turn.replies[0].text
    assert turn.effects.handoff is not None  # the channel shows the hotline's contact card


def test_the_operator_ending_the_ticket_gives_the_bot_back_politely(engine: Engine) -> None:
    turn = engine.operator_closed(Session(lang="ru", mode="operator", node=HANDOFF))
    assert turn.session.mode == "bot"
    assert "оператор" in turn.replies[0].text.lower()
    assert turn.replies[-1].kind == "menu"


def test_forget_with_an_operator_still_asks_and_then_forgets(engine: Engine) -> None:
    s = Session(lang="en", mode="operator", node=HANDOFF)
    ask = engine.handle(s, Inbound(command="forget", handoff=True), WEDNESDAY_10)
    assert ask.replies[0].kind == "confirm"
    done = engine.handle(ask.session, Inbound(choice="1", handoff=True), WEDNESDAY_10)
    assert done.effects.forget


def test_an_urgent_article_offers_a_person_first_and_that_ticket_is_urgent(
    engine: Engine,
) -> None:
    s = Session(lang="en", node=URGENT, article="trafficking", urgent="passport_taken")
    turn = engine.handle(s, Inbound(choice="1", handoff=True), WEDNESDAY_10)
    assert turn.effects.handoff is not None
    assert turn.effects.handoff.queue == "urgent"
    assert turn.effects.handoff.reason == "urgent:passport_taken"
