"""Replies as SMS: numbered lines, the short text first, MORE pages within the budget."""

from __future__ import annotations

import re

import pytest

from bot.engine.types import Option, Reply, Session, Turn
from bot.i18n import Catalogs
from bot.settings import REPO_ROOT
from bot.sms.render import Renderer, cap, paginate
from bot.sms.segments import count, is_gsm

CATALOGS = Catalogs.load(REPO_ROOT / "locales")
RU_TEXT = (
    "Гражданам Таджикистана для работы в России нужен патент.\n\n"
    "Что сделать сначала:\n"
    "1. При въезде укажите в миграционной карте цель «работа».\n"
    "2. Встаньте на миграционный учёт: гражданам Таджикистана — в течение 15 дней.\n"
    "3. В течение 30 дней после въезда подайте документы на патент в миграционный центр МВД.\n"
    "4. После получения патента передайте трудовой договор в МВД в течение 2 месяцев.\n\n"
    "Оплата: вносите ежемесячный авансовый платёж НДФЛ до конца оплаченного месяца. "
    "Патент действует, только пока он оплачен вперёд. В Москве это 10 000 рублей в месяц. "
    "Сохраняйте все чеки и носите их с патентом.\n\n"
    "Вопросы о патенте? Позвоните на горячую линию."
)
RU_SHORT = "Патент: подайте документы в течение 30 дней после въезда и платите аванс вовремя."


def renderer(budget: int = 3) -> Renderer:
    return Renderer(CATALOGS, budget)


def ru(script: str, singular: str, plural: str | None = None, num: int = 0) -> str:
    """The Russian interface line a person gets, in their script."""
    tr = CATALOGS("ru")
    text = tr.ngettext(singular, plural, num) % {"num": num} if plural else tr.gettext(singular)
    return Renderer.convert(text, "ru", script)  # type: ignore[arg-type]


def article(page: int = 0, lang: str = "ru") -> Reply:
    return Reply(
        "article",
        RU_TEXT,
        lang,
        (Option("1", "Регистрация"), Option("2", "Экзамен по языку"), Option("0", "Назад")),
        article="work-patent",
        title="Патент на работу в России",
        short=RU_SHORT,
        page=page,
    )


def test_a_menu_is_its_text_then_one_numbered_line_per_option() -> None:
    reply = Reply("menu", "Documents:", "en", (Option("1", "Work patent"), Option("0", "Back")))
    assert renderer().reply(reply, "lat") == "Documents:\n1 Work patent\n0 Back"


def test_a_russian_menu_in_latin_is_pure_gsm7() -> None:
    reply = Reply(
        "menu", "Документы — сроки:", "ru", (Option("1", "Патент"), Option("0", "Назад"))
    )
    body = renderer().reply(reply, "lat")
    assert body == "Dokumenty - sroki:\n1 Patent\n0 Nazad"
    assert is_gsm(body)
    assert renderer().reply(reply, "cyr") == "Документы - сроки:\n1 Патент\n0 Назад"


def test_the_language_menu_names_each_language_in_its_own_spelling() -> None:
    reply = Reply(
        "languages",
        "Тилди тандаңыз / Выберите язык / Забонро интихоб кунед / Choose your language",
        "en",
        (
            Option("1", "Кыргызча"),
            Option("2", "Русский"),
            Option("3", "Тоҷикӣ"),
            Option("4", "English"),
        ),
    )
    body = renderer().reply(reply, "lat")
    assert body.splitlines()[1:] == ["1 Kyrgyzcha", "2 Russkiy", "3 Tojiki", "4 English"]
    assert count(body).segments == 1


@pytest.mark.parametrize("script", ["cyr", "lat"])
def test_an_article_starts_with_its_short_text_and_offers_more(script: str) -> None:
    r = renderer()
    body = r.reply(article(), script)  # type: ignore[arg-type]
    pages = r.pages(r.convert(f"{article().title}\n{RU_TEXT}", "ru", script), "ru", script)  # type: ignore[arg-type]
    assert body.startswith(r.convert(RU_SHORT, "ru", script))  # type: ignore[arg-type]
    n = len(pages)
    assert (
        ru(
            script,
            "MORE: the full text in %(num)d part",
            "MORE: the full text in %(num)d parts",
            n,
        )
        in body
    )
    assert body.splitlines()[-1] in ("0 Назад", "0 Nazad")
    assert count(body).segments <= 3


@pytest.mark.parametrize(("script", "budget"), [("cyr", 3), ("lat", 3), ("cyr", 1), ("lat", 2)])
def test_more_pages_through_the_whole_text_each_page_within_the_budget(
    script: str, budget: int
) -> None:
    r = renderer(budget)
    first = r.reply(article(), script)  # type: ignore[arg-type]
    total = int(re.search(r"MORE: \D*(\d+)", first).group(1))  # type: ignore[union-attr]
    assert total >= 2
    seen = []
    for page in range(1, total + 1):
        body = r.reply(article(page), script)  # type: ignore[arg-type]
        assert count(body).segments <= budget, (page, body)
        assert body.startswith(f"({page}/{total}) ")
        if page < total:
            left = total - page
            more = "MORE: next part (%(num)d left)"
            assert body.splitlines()[-1] == ru(script, more, more, left)
            seen.append("\n".join(body.splitlines()[:-1]))
        else:
            assert body.splitlines()[-1] in ("0 Назад", "0 Nazad")
            seen.append(body)
    # nothing is lost between pages: every word of the text is on some page, in order
    text = r.convert(RU_TEXT, "ru", script)  # type: ignore[arg-type]
    joined = " ".join(seen)
    for word in text.split()[::7]:
        assert word in joined
    after = r.reply(article(total + 1), script)  # type: ignore[arg-type]
    assert after.startswith(ru(script, "That was the whole text."))


def test_pages_break_at_a_paragraph_or_sentence_when_they_can() -> None:
    text = ("First sentence here. " * 5 + "\n") * 6
    pages = paginate(text.strip(), 1, "(99/99) \nMORE: next part (99 left)")
    assert len(pages) > 1
    assert all(p.endswith(".") for p in pages)


def test_a_word_longer_than_a_page_is_cut_not_lost() -> None:
    pages = paginate("x" * 500, 1, "")
    assert "".join(pages) == "x" * 500
    assert all(count(p).segments == 1 for p in pages)


def test_help_on_sms_explains_the_sms_words_and_leaves_out_the_long_menu() -> None:
    turn = Turn(
        Session(lang="en"),
        (
            Reply("help", "Safar answers questions. Hotline: +992 00 000 00 00", "en"),
            Reply("menu", "Choose a topic:", "en", tuple(Option(str(i), "x" * 30) for i in "123")),
        ),
    )
    body = renderer().body(turn, "lat")
    assert "STOP" in body and "LAT" in body and "MORE" in body
    assert "x" * 30 not in body and "Choose a topic" not in body


def test_a_menu_that_would_burst_the_budget_after_an_answer_gives_way_to_a_pointer() -> None:
    long_menu = Reply(
        "menu", "Choose a topic:", "en", tuple(Option(str(i), "y" * 50) for i in "123456789")
    )
    turn = Turn(Session(lang="en"), (Reply("unsure", "Not sure. Hotline: 112", "en"), long_menu))
    body = renderer().body(turn, "lat")
    assert body == "Not sure. Hotline: 112\nSend MENU for the list of topics."
    assert renderer(budget=10).body(turn, "lat").endswith("9 " + "y" * 50)


def test_a_notice_and_a_short_menu_go_together() -> None:
    turn = Turn(
        Session(lang="en"),
        (
            Reply("notice", "Please send one of the numbers below.", "en"),
            Reply("menu", "Choose:", "en", (Option("1", "Patent"), Option("0", "Back"))),
        ),
    )
    body = renderer().body(turn, "lat", notices=["Welcome back."])
    assert (
        body == "Welcome back.\nPlease send one of the numbers below.\nChoose:\n1 Patent\n0 Back"
    )


def test_no_body_is_longer_than_twilio_accepts() -> None:
    assert len(cap("word " * 1000)) <= 1600
    assert cap("word " * 1000).endswith("...")
    turn = Turn(Session(lang="en"), (Reply("notice", "y" * 5000, "en"),))
    assert len(renderer().body(turn, "lat")) <= 1600
