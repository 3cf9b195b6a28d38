"""The conversation engine: (session, inbound) -> (session, replies), and nothing else.

No I/O, no clock of its own, no channel: Telegram, SMS, the web page and the console all call
`Engine.handle` and render what comes back. That is what lets one YAML dialog serve every channel
and lets tests drive a whole conversation in microseconds.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import unicodedata
from dataclasses import replace

from rapidfuzz import fuzz

from bot import LANGUAGE_NAMES, LANGUAGES
from bot.content.hotlines import format_hotline, is_open
from bot.content.load import Content
from bot.content.models import AnswerNode, HandoffNode, MenuOption
from bot.engine.keywords import fold, keyword, language_named
from bot.engine.types import (
    ARTICLE,
    FORGET,
    HANDOFF,
    LANG_MENU,
    SUGGEST,
    Command,
    Effects,
    Inbound,
    Option,
    Reply,
    Session,
    Turn,
)
from bot.i18n import Tr

MAX_TEXT = 1000
"""Longer messages are cut before search: the question is in the first lines, and a 10 MB
message must cost no more than a short one."""

LANGUAGE_PROMPT = "Тилди тандаңыз / Выберите язык / Забонро интихоб кунед / Choose your language"
DIGITS = re.compile(r"^\s*(\d{1,2})\s*[.)]?\s*$")


def clean(text: str) -> str:
    """Normalise what people paste: odd Unicode forms, control characters, runs of spaces."""
    text = unicodedata.normalize("NFC", text[: MAX_TEXT * 4])
    text = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in text)
    return re.sub(r"\s+", " ", text).strip()[:MAX_TEXT]


class Engine:
    def __init__(self, content: Content) -> None:
        self.content = content
        self.dialog = content.dialog

    # -- entry point ---------------------------------------------------------------------

    def handle(self, session: Session, inbound: Inbound, now: float | None = None) -> Turn:
        now = time.time() if now is None else now
        s = session.touch(now)
        if self._gone(s):  # a content reload removed the menu or article this person was on
            s.node, s.article, s.suggestions, s.trail = None, None, [], []
            if inbound.command is None:
                return self._notice(s, self.tr(s).gettext("This menu has changed."), menu=True)
        if inbound.command is not None:
            return self._command(s, inbound.command, inbound, now)
        text = clean(inbound.text)
        choice = inbound.choice
        if choice is None:
            m = DIGITS.match(text)
            choice = m.group(1) if m else None
        if choice is not None:
            return self._choose(s, choice, now)
        command = keyword(text)
        if command is not None:
            return self._command(s, command, inbound, now)
        if s.lang is None or s.node == LANG_MENU:
            lang = language_named(text)
            if lang is not None:
                return self._set_language(s, lang)
        if not text:
            return self._repeat(s, now)
        option = self._option_by_label(s, text)
        if option is not None:
            return self._choose(s, option, now)
        return self._search(s, text)

    # -- commands --------------------------------------------------------------------------

    def _command(self, s: Session, command: Command, inbound: Inbound, now: float) -> Turn:
        if command == "start":
            if s.lang is None and inbound.lang_hint in LANGUAGES:
                s.lang = inbound.lang_hint
                return self._home(s, hint=True)
            if s.lang is None:
                return self._languages(s)
            return self._home(s)
        if s.lang is None and command in ("menu", "back", "more"):
            return self._languages(s)
        if command == "menu":
            return self._home(s)
        if command == "back":
            return self._back(s)
        if command == "language":
            if inbound.arg in LANGUAGES:
                return self._set_language(s, inbound.arg)
            return self._languages(s)
        if command == "help":
            return self._help(s)
        if command == "operator":
            return self._handoff(s, self.dialog.first_handoff(), now)
        if command == "forget":
            return self._confirm_forget(s)
        if command == "more":
            return self._more(s)
        if command == "script":
            s.script = "lat" if inbound.arg == "lat" else "cyr"
            return self._notice(s, self.tr(s).gettext("Done: this script is used from now on."))
        raise AssertionError(command)  # pragma: no cover

    # -- choices ---------------------------------------------------------------------------

    def _choose(self, s: Session, key: str, now: float) -> Turn:
        key = key.strip()
        if key == "00":
            return self._languages(s) if s.lang is None else self._home(s)
        if s.lang is None or s.node == LANG_MENU:
            return self._choose_language(s, key)
        if s.node == FORGET:
            if key == "1":
                return self._forget(s)
            return self._home(s, notice=self.tr(s).gettext("Nothing was deleted."))
        if key == "0":
            return self._home(s) if s.node == SUGGEST else self._back(s)
        index = int(key) - 1
        menu = self.dialog.menu(s.node)
        if menu is not None and 0 <= index < len(menu.options):
            return self._select(s, menu.options[index], now)
        related = self._related(s.article) if s.node == ARTICLE else []
        if 0 <= index < len(related):
            return self._article(s, related[index])
        if s.node == SUGGEST and 0 <= index < len(s.suggestions):
            return self._article(s, s.suggestions[index])
        return self._repeat(s, now, wrong=True)

    def _choose_language(self, s: Session, key: str) -> Turn:
        if key == "0" and s.lang is not None:
            return self._back(s)
        if key.isdigit() and 1 <= int(key) <= len(LANGUAGES):
            return self._set_language(s, LANGUAGES[int(key) - 1])
        return self._languages(s)

    def _select(self, s: Session, option: MenuOption, now: float) -> Turn:
        if option.action == "language":
            self._push(s)
            return self._languages(s)
        if option.action == "help":
            return self._help(s)
        if option.action == "operator":
            return self._handoff(s, self.dialog.first_handoff(), now)
        if option.article is not None:
            self._push(s)
            return self._article(s, option.article)
        target = self.dialog.nodes[option.goto or ""]
        if isinstance(target, AnswerNode):
            self._push(s)
            intro = target.text.get(s.lang or "en") if target.text else None
            return self._article(s, target.article, intro=intro)
        if isinstance(target, HandoffNode):
            self._push(s)
            return self._handoff(s, target, now)
        self._push(s)
        return self._menu(s, option.goto or self.dialog.start)

    def _option_by_label(self, s: Session, text: str) -> str | None:
        """A person on SMS may type the option's words instead of its digit."""
        menu = self.dialog.menu(s.node)
        if menu is None or s.lang is None or len(text) > 60:
            return None
        wanted = fold(text)
        for i, opt in enumerate(menu.options):
            label = fold(self._label(opt, s.lang))
            if label and (label == wanted or fuzz.ratio(label, wanted) >= 90):
                return str(i + 1)
        return None

    # -- screens ---------------------------------------------------------------------------

    def _languages(self, s: Session) -> Turn:
        s.node = LANG_MENU
        options = tuple(
            Option(str(i + 1), LANGUAGE_NAMES[lang]) for i, lang in enumerate(LANGUAGES)
        )
        if s.lang is not None:
            options += (Option("0", self.tr(s).gettext("Back")),)
        reply = Reply("languages", LANGUAGE_PROMPT, s.lang or "en", options)
        return Turn(s, (reply,))

    def _set_language(self, s: Session, lang: str) -> Turn:
        s.lang = lang
        s.trail = []
        tr = self.tr(s)
        notice = tr.gettext("Language: %(language)s.") % {"language": LANGUAGE_NAMES[lang]}
        return self._home(s, notice=notice)

    def _home(self, s: Session, notice: str | None = None, hint: bool = False) -> Turn:
        s.trail = []
        return self._menu(s, self.dialog.start, notice=notice, hint=hint)

    def _menu(
        self, s: Session, node_id: str, notice: str | None = None, hint: bool = False
    ) -> Turn:
        assert s.lang is not None
        menu = self.dialog.menu(node_id)
        assert menu is not None, node_id
        s.node = node_id
        s.article = None
        s.suggestions = []
        tr = self.tr(s)
        options = tuple(
            Option(str(i + 1), self._label(opt, s.lang)) for i, opt in enumerate(menu.options)
        )
        if node_id != self.dialog.start:
            options += (Option("0", tr.gettext("Back")),)
        text = menu.text.get(s.lang)
        if notice:
            text = f"{notice}\n{text}"
        reply = Reply("menu", text, s.lang, options, hint=self._lang_hint(s) if hint else None)
        return Turn(s, (reply,))

    def _label(self, option: MenuOption, lang: str) -> str:
        if option.label is not None:
            return option.label.get(lang)
        article = option.article
        if article is None:
            target = self.dialog.nodes.get(option.goto or "")
            article = target.article if isinstance(target, AnswerNode) else None
        return self.content.articles[article].lang(lang).title if article else "?"

    def _article(
        self, s: Session, article_id: str, hint: bool = False, intro: str | None = None
    ) -> Turn:
        assert s.lang is not None
        article = self.content.articles[article_id]
        text = article.lang(s.lang)
        s.node = ARTICLE
        s.article = article_id
        s.page = 0
        s.suggestions = []
        tr = self.tr(s)
        related = self._related(article_id)
        options = (
            *tuple(
                Option(str(i + 1), self.content.articles[r].lang(s.lang).title)
                for i, r in enumerate(related)
            ),
            Option("0", tr.gettext("Back")),
        )
        body = f"{intro}\n\n{text.text}" if intro else text.text
        reply = Reply(
            "article",
            body,
            s.lang,
            options,
            article=article_id,
            title=text.title,
            short=text.sms,
            hint=self._lang_hint(s) if hint else None,
        )
        return Turn(s, (reply,))

    def _more(self, s: Session) -> Turn:
        if s.node != ARTICLE or s.article is None:
            return self._notice(
                s, self.tr(s).gettext("There is nothing more to show. Choose a topic:"), menu=True
            )
        page = s.page + 1  # _article starts a fresh view at page 0
        turn = self._article(s, s.article)
        turn.session.page = page
        return Turn(turn.session, (replace(turn.replies[0], page=page),))

    def _related(self, article_id: str | None) -> list[str]:
        if article_id is None or article_id not in self.content.articles:
            return []
        return [r for r in self.content.articles[article_id].related if r in self.content.articles]

    def _search(self, s: Session, text: str) -> Turn:
        result = self.content.search.search(text, s.lang)
        first_contact = s.lang is None
        if result.answer is not None and (s.lang is not None or result.lang_sure):
            if first_contact:
                s.lang = result.lang
            if s.node is not None and self.dialog.menu(s.node) is not None:
                self._push(s)
            return self._article(s, result.answer, hint=first_contact)
        if first_contact:
            return self._languages(s)
        tr = self.tr(s)
        assert s.lang is not None
        lines = [
            tr.gettext(
                "I am not sure I understood. I answer questions about working abroad, "
                "documents, your rights, and coming home."
            )
        ]
        suggestions = [m.id for m in result.matches if m.id in self.content.articles][:3]
        hotline = format_hotline(self.content.hotline, tr)
        if suggestions:
            lines.append(tr.gettext("Maybe one of these topics helps:"))
            lines.append(tr.gettext("Or call the hotline: %(hotline)s") % {"hotline": hotline})
            s.node = SUGGEST
            s.suggestions = suggestions
            options = (
                *tuple(
                    Option(str(i + 1), self.content.articles[a].lang(s.lang).title)
                    for i, a in enumerate(suggestions)
                ),
                Option("0", tr.gettext("Main menu")),
            )
            return Turn(s, (Reply("unsure", "\n".join(lines), s.lang, options),))
        lines.append(tr.gettext("Call the hotline: %(hotline)s") % {"hotline": hotline})
        unsure = Reply("unsure", "\n".join(lines), s.lang)
        turn = self._home(s)
        return Turn(turn.session, (unsure, *turn.replies))

    def _handoff(self, s: Session, node: HandoffNode | None, now: float) -> Turn:
        if s.lang is None:
            s.lang = "en"
        tr = self.tr(s)
        hotline = self.content.hotlines.get(node.hotline if node and node.hotline else "")
        hotline = hotline or self.content.hotline
        intro = (
            node.text.get(s.lang)
            if node and node.text
            else tr.gettext("To talk to a person, call the hotline:")
        )
        moment = dt.datetime.fromtimestamp(now, dt.UTC)
        status = tr.gettext("Open now.") if is_open(hotline, moment) else tr.gettext("Closed now.")
        name = hotline.name.get(s.lang)
        text = f"{intro}\n{name}: {format_hotline(hotline, tr)}\n{status}"
        s.node = HANDOFF
        reply = Reply("handoff", text, s.lang, (Option("0", tr.gettext("Back")),))
        return Turn(s, (reply,), Effects(handoff=True))

    def _help(self, s: Session) -> Turn:
        if s.lang is None:
            return self._languages(s)
        tr = self.tr(s)
        text = tr.gettext(
            "Safar answers questions about working abroad safely, documents, your rights, "
            "coming home and legal help. Answers come only from Safar's articles, written "
            "from cited sources.\nSend a number to choose, 0 to go back, MENU for the main menu, "
            "LANG to change the language, or just write your question.\n"
            "Hotline: %(hotline)s"
        ) % {"hotline": format_hotline(self.content.hotline, tr)}
        turn = self._home(s)
        return Turn(turn.session, (Reply("help", text, s.lang), *turn.replies))

    def _confirm_forget(self, s: Session) -> Turn:
        if s.lang is None:
            s.lang = "en"
        tr = self.tr(s)
        s.node = FORGET
        text = tr.gettext(
            "Delete everything Safar keeps about you (your language and where you are in "
            "the menu)? This cannot be undone."
        )
        options = (Option("1", tr.gettext("Yes, delete")), Option("0", tr.gettext("No")))
        return Turn(s, (Reply("confirm", text, s.lang, options),))

    def _forget(self, s: Session) -> Turn:
        tr = self.tr(s)
        text = tr.gettext(
            "Done: everything Safar kept about you is deleted. Write again any time."
        )
        return Turn(Session(), (Reply("forgotten", text, s.lang or "en"),), Effects(forget=True))

    def _back(self, s: Session) -> Turn:
        if s.lang is None:
            return self._languages(s)
        while s.trail:
            node = s.trail.pop()
            if self.dialog.menu(node) is not None:
                return self._menu(s, node)
        menu = self.dialog.menu(s.node)
        if menu is not None and menu.back and s.node != self.dialog.start:
            return self._menu(s, menu.back)
        return self._home(s)

    def _repeat(self, s: Session, now: float, wrong: bool = False) -> Turn:
        """Show the current screen again, after an empty message or a number not on it."""
        if s.lang is None or s.node == LANG_MENU:
            return self._languages(s)
        tr = self.tr(s)
        notice = tr.gettext("Please send one of the numbers below.") if wrong else None
        if s.node == ARTICLE and s.article:
            turn = self._article(s, s.article)
        elif s.node == SUGGEST:
            return self._home(s, notice=notice)
        elif s.node == HANDOFF:
            turn = self._handoff(s, self.dialog.first_handoff(), now)
        elif s.node == FORGET:
            turn = self._confirm_forget(s)
        elif self.dialog.menu(s.node) is not None:
            return self._menu(s, s.node or self.dialog.start, notice=notice)
        else:
            return self._home(s, notice=notice)
        if notice is None:
            return turn
        return Turn(turn.session, (Reply("notice", notice, s.lang), *turn.replies))

    def _notice(self, s: Session, text: str, menu: bool = False) -> Turn:
        lang = s.lang or "en"
        if menu:
            turn = self._home(s) if s.lang else self._languages(s)
            return Turn(turn.session, (Reply("notice", text, lang), *turn.replies))
        return Turn(s, (Reply("notice", text, lang),))

    # -- helpers ---------------------------------------------------------------------------

    def _gone(self, s: Session) -> bool:
        articles = self.content.articles
        if s.node == ARTICLE:
            return s.article is not None and s.article not in articles
        if s.node == SUGGEST:
            return any(a not in articles for a in s.suggestions)
        node = s.node or "@"  # states that are not dialog nodes start with "@"
        return not node.startswith("@") and self.dialog.menu(node) is None

    def _push(self, s: Session) -> None:
        if s.node is not None and self.dialog.menu(s.node) is not None:
            s.trail = [*s.trail[-9:], s.node]

    def _lang_hint(self, s: Session) -> str:
        tr = self.tr(s)
        return tr.gettext("To change the language, send LANG.")

    def tr(self, s: Session) -> Tr:
        return self.content.catalogs(s.lang)
