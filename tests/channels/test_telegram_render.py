"""How a reply becomes Telegram messages: cut at 4096, escaped, buttons laid out and encoded.

Every HTML message here is parsed by the same HTML parser the loopback Bot API uses, so
"Telegram would accept it" is checked, not assumed.
"""

from __future__ import annotations

import re

import pytest

from bot.channels.telegram.render import (
    Block,
    keyboard,
    parse_callback,
    render,
    screen_token,
    split,
)
from bot.engine.types import Option, Reply, Session
from tests.fakes.telegram_api import parse_text, utf16_len

PHONE = "+992 918 85 34 34"


def visible(html: str) -> str:
    return parse_text(html, "HTML")[0]


def words(text: str) -> list[str]:
    return text.split()


def test_a_short_article_is_one_message_with_a_bold_title_and_escaped_text() -> None:
    reply = Reply(
        "article",
        "Fees <under> 5 & 10 roubles",
        "en",
        (Option("1", "Registration"), Option("0", "Back")),
        title="Patent & fees",
    )
    [chunk] = render(reply, "0a1b2c3d")
    assert chunk.html == "<b>Patent &amp; fees</b>\n\nFees &lt;under&gt; 5 &amp; 10 roubles"
    text, entities = parse_text(chunk.html, "HTML")
    assert text == "Patent & fees\n\nFees <under> 5 & 10 roubles"
    assert entities == [{"type": "bold", "offset": 0, "length": 13}]
    assert chunk.markup is not None


def test_a_long_article_is_cut_between_paragraphs_and_keeps_every_word() -> None:
    paragraph = " ".join(f"word{i}" for i in range(150))  # about 1,100 characters
    body = "\n\n".join([paragraph] * 12)  # about 13,000 characters
    messages = split([Block("A long title", "bold"), Block(body)])
    assert len(messages) >= 4
    texts = [visible(m) for m in messages]
    assert all(utf16_len(t) <= 4096 for t in texts)
    assert words(" ".join(texts)) == words("A long title " + body)
    for t in texts[1:]:
        assert t.startswith("word0 ")  # each message starts with a paragraph
    assert messages[0].startswith("<b>A long title</b>")


def test_one_huge_paragraph_is_cut_between_words_never_inside_one() -> None:
    body = " ".join(f"слово{i}" for i in range(2000))  # 15,000+ characters, no line breaks
    texts = [visible(m) for m in split([Block(body)])]
    assert len(texts) >= 4 and all(utf16_len(t) <= 4096 for t in texts)
    assert words(" ".join(texts)) == words(body)


def test_a_phone_number_is_never_cut_in_two() -> None:
    filler = "x" * 4070 + " call "  # the limit falls inside the number that follows
    texts = [visible(m) for m in split([Block(filler + PHONE + " now")])]
    assert any(PHONE in t for t in texts)
    assert all(utf16_len(t) <= 4096 for t in texts)


def test_emoji_count_twice_as_telegram_counts_them() -> None:
    body = "🙂 " * 3000  # 6,000 code points, 9,000 UTF-16 units
    texts = [visible(m) for m in split([Block(body)])]
    assert all(utf16_len(t) <= 4096 for t in texts)
    assert sum(t.count("🙂") for t in texts) == 3000


def test_a_word_longer_than_a_message_is_cut_inside_as_a_last_resort() -> None:
    texts = [visible(m) for m in split([Block("a" * 9000)])]
    assert [len(t) for t in texts] == [4096, 4096, 808]


def test_a_styled_block_cut_in_two_is_closed_and_reopened() -> None:
    hint = " ".join(["italic"] * 1000)
    messages = split([Block(hint, "italic")])
    assert len(messages) == 2
    for m in messages:
        assert m.startswith("<i>") and m.endswith("</i>")
        parse_text(m, "HTML")  # well-formed on its own


def test_buttons_go_only_under_the_last_message() -> None:
    reply = Reply("article", "x " * 5000, "en", (Option("0", "Back"),), title="T")
    chunks = render(reply, "0a1b2c3d")
    assert len(chunks) == 3
    assert [c.markup is not None for c in chunks] == [False, False, True]


def test_the_hint_is_italic_at_the_end() -> None:
    reply = Reply("menu", "Choose a topic:", "en", (Option("1", "Documents"),))
    [chunk] = render(reply, "0a1b2c3d", hint="To change the language, send /language.")
    assert chunk.html.endswith("\n\n<i>To change the language, send /language.</i>")


def test_short_labels_go_two_to_a_row_with_back_last() -> None:
    options = (
        Option("1", "Кыргызча"),
        Option("2", "Русский"),
        Option("3", "Тоҷикӣ"),
        Option("4", "English"),
        Option("0", "Назад"),
    )
    markup = keyboard(options, "0a1b2c3d")
    assert markup is not None
    rows = [[b.text for b in row] for row in markup.inline_keyboard]
    assert rows == [["1. Кыргызча", "2. Русский"], ["3. Тоҷикӣ", "4. English"], ["0. Назад"]]


def test_yes_and_no_share_a_row_and_long_labels_get_one_each() -> None:
    yes_no = keyboard((Option("1", "Yes, delete"), Option("0", "No")), "0a1b2c3d")
    assert yes_no is not None and [len(r) for r in yes_no.inline_keyboard] == [2]
    long = keyboard(
        (Option("1", "Documents and permits"), Option("2", "If you are in trouble")), "0a1b2c3d"
    )
    assert long is not None and [len(r) for r in long.inline_keyboard] == [1, 1]
    assert keyboard((), "0a1b2c3d") is None


def test_callback_data_names_the_screen_and_stays_within_64_bytes() -> None:
    markup = keyboard(tuple(Option(str(i), "x") for i in range(10)), "0a1b2c3d")
    assert markup is not None
    data = [b.callback_data for row in markup.inline_keyboard for b in row]
    assert all(isinstance(d, str) and len(d.encode()) <= 64 for d in data)
    press = parse_callback("0a1b2c3d:7")
    assert press is not None and (press.token, press.key) == ("0a1b2c3d", "7")


@pytest.mark.parametrize("data", [None, "", "7", "menu:1", "0a1b2c3d:x", "0A1B2C3D:1", "a" * 64])
def test_callback_data_we_did_not_write_is_not_a_press(data: str | None) -> None:
    assert parse_callback(data) is None


def test_the_screen_token_changes_with_the_screen_only() -> None:
    menu = Session(lang="ru", node="documents")
    assert screen_token(menu) == screen_token(Session(lang="ky", node="documents", turns=9))
    assert screen_token(menu) != screen_token(Session(lang="ru", node="main"))
    article = Session(lang="ru", node="@article", article="work-patent")
    assert screen_token(article) != screen_token(
        Session(lang="ru", node="@article", article="registration")
    )
    assert re.fullmatch(r"[0-9a-f]{8}", screen_token(Session()))
