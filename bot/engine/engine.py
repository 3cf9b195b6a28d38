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
from bot.content.hotlines import format_emergency, format_hotline, format_next_opening, is_open
from bot.content.load import Content
from bot.content.models import AnswerNode, HandoffNode, MenuOption
from bot.engine.keywords import fold, keyword, language_named
from bot.engine.phone import parse_phone
from bot.engine.types import (
    ARTICLE,
    CALLBACK,
    CALLBACK_PHONE,
    FORGET,
    HANDOFF,
    LANG_MENU,
    LEAVE,
    SUGGEST,
    URGENT,
    Callback,
    Command,
    Effects,
    Handoff,
    Inbound,
    Option,
    Queue,
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
        if s.mode == "operator":
            return self._with_operator(s, inbound, now)
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
            return self._choose(s, choice, inbound, now)
        command = keyword(text)
        if command is not None:
            return self._command(s, command, inbound, now)
        if s.lang is None or s.node == LANG_MENU:
            lang = language_named(text)
            if lang is not None:
                return self._set_language(s, lang)
        if not text:
            return self._repeat(s, now)
        if s.node == CALLBACK_PHONE:
            return self._callback_phone(s, text)
        option = self._option_by_label(s, text)
        if option is not None:
            return self._choose(s, option, inbound, now)
        return self._search(s, text, inbound, now)

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
            return self._handoff(s, inbound, now)
        if command == "forget":
            return self._confirm_forget(s)
        if command == "more":
            return self._more(s)
        if command == "script":
            s.script = "lat" if inbound.arg == "lat" else "cyr"
            return self._notice(s, self.tr(s).gettext("Done: this script is used from now on."))
        raise AssertionError(command)  # pragma: no cover

    # -- choices ---------------------------------------------------------------------------

    def _choose(self, s: Session, key: str, inbound: Inbound, now: float) -> Turn:
        key = key.strip()
        if key == "00":
            return self._languages(s) if s.lang is None else self._home(s)
        if s.lang is None or s.node == LANG_MENU:
            return self._choose_language(s, key)
        if s.node == FORGET:
            if key == "1":
                return self._forget(s)
            return self._home(s, notice=self.tr(s).gettext("Nothing was deleted."))
        if s.node in (CALLBACK, CALLBACK_PHONE):
            return self._callback_choice(s, key, inbound)
        if key == "0":
            return self._home(s) if s.node in (SUGGEST, URGENT) else self._back(s)
        if s.node == URGENT:
            if key == "1":
                return self._handoff(s, inbound, now, urgent=True)
            key = str(int(key) - 1)  # the related articles follow the person
        index = int(key) - 1
        menu = self.dialog.menu(s.node)
        if menu is not None and 0 <= index < len(menu.options):
            return self._select(s, menu.options[index], inbound, now)
        related = self._related(s.article) if s.node in (ARTICLE, URGENT) else []
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

    def _select(self, s: Session, option: MenuOption, inbound: Inbound, now: float) -> Turn:
        if option.action == "language":
            self._push(s)
            return self._languages(s)
        if option.action == "help":
            return self._help(s)
        if option.action == "operator":
            return self._handoff(s, inbound, now)
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
            return self._handoff(s, inbound, now, node=target)
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
        s.urgent = None
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
        s.urgent = None
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
        if s.node == URGENT and s.article and s.urgent:
            turn = self._urgent(s, s.urgent, s.article)
            page = s.page + 1
            turn.session.page = page
            last = replace(turn.replies[-1], page=page)
            return Turn(turn.session, (*turn.replies[:-1], last))
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

    def _search(self, s: Session, text: str, inbound: Inbound, now: float) -> Turn:
        urgent = self.content.urgent.detect(text)
        if urgent is not None and urgent.article in self.content.articles:
            if s.lang is None:
                s.lang = self.content.search.search(text, None).lang or inbound.lang_hint or "en"
            return self._urgent(s, urgent.category, urgent.article)
        if self.content.urgent.wants_person(text):
            if s.lang is None:
                s.lang = self.content.search.search(text, None).lang or inbound.lang_hint
            return self._handoff(s, inbound, now, text=text)
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
        if result.smalltalk is not None:
            return self._smalltalk(s, result.smalltalk)
        tr = self.tr(s)
        assert s.lang is not None
        lines = [
            tr.gettext(
                "I am not sure I understood. I answer questions about working abroad, "
                "documents, your rights, and coming home."
            )
        ]
        suggestions = [m.id for m in result.matches if m.id in self.content.articles][:3]
        hotline = format_hotline(self.content.route_hotline(s.lang, None), tr)
        emergency = format_emergency(self.content, s.lang)
        if suggestions:
            lines.append(tr.gettext("Maybe one of these topics helps:"))
            lines.append(tr.gettext("Or call the hotline: %(hotline)s") % {"hotline": hotline})
            lines.append(emergency)
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
        lines.append(emergency)
        unsure = Reply("unsure", "\n".join(lines), s.lang)
        turn = self._home(s)
        return Turn(turn.session, (unsure, *turn.replies))

    def _smalltalk(self, s: Session, kind: str) -> Turn:
        """Hello, thank you, good wishes, goodbye: a short friendly word, not "I am not sure".
        A greeting gets the main menu with it; the rest leave the person where they are."""
        tr = self.tr(s)
        lines = {
            "greeting": tr.gettext("Hello! Choose a topic or write your question."),
            "thanks": tr.gettext("You are welcome. Write whenever you need to."),
            "wish": tr.gettext("Thank you, and all the best to you too."),
            "bye": tr.gettext("Take care. Safar is here when you need it."),
        }
        text = lines.get(kind, lines["greeting"])
        if kind == "greeting" or s.node is None:
            return self._home(s, notice=text)
        return Turn(s, (Reply("smalltalk", text, s.lang or "en"),))

    # -- danger ----------------------------------------------------------------------------

    def _urgent(self, s: Session, category: str, article_id: str) -> Turn:
        """Danger first: the emergency numbers at once, a person as option 1, then the article."""
        assert s.lang is not None
        if s.node is not None and self.dialog.menu(s.node) is not None:
            self._push(s)
        turn = self._article(s, article_id)
        tr = self.tr(s)
        s = turn.session
        s.node = URGENT
        s.urgent = category
        article = turn.replies[0]
        person = Option("1", tr.gettext("Talk to a person now"))
        shifted = tuple(
            Option(str(int(o.key) + 1), o.label) if o.key != "0" else o for o in article.options
        )
        alarm = tr.gettext("You may be in danger.") + " " + format_emergency(self.content, tr)
        first = Reply("urgent", alarm, s.lang or "en", article=article_id)
        return Turn(s, (first, replace(article, options=(person, *shifted))))

    # -- a person: tickets, office hours, callbacks ---------------------------------------

    def _handoff(
        self,
        s: Session,
        inbound: Inbound,
        now: float,
        node: HandoffNode | None = None,
        urgent: bool = False,
        text: str = "",
    ) -> Turn:
        if s.lang is None:
            s.lang = inbound.lang_hint if inbound.lang_hint in LANGUAGES else "en"
        tr = self.tr(s)
        node = node or self.dialog.first_handoff()
        topic = s.article if s.node in (ARTICLE, URGENT) else None
        if node is not None and node.hotline:
            hotline_id = node.hotline
        else:
            hotline_id = self.content.route_hotline_id(s.lang, s.urgent or topic)
        hotline = self.content.hotlines[hotline_id]
        # A line whose hours nobody knows cannot say when a person answers: the operators'
        # hours are then those of the default line, whose staff answer in the group.
        hours = hotline if hotline.hours else self.content.hotline
        moment = dt.datetime.fromtimestamp(now, dt.UTC)
        open_now = is_open(hours, moment)
        closed = ""
        queue: Queue = "urgent" if urgent or s.urgent else "normal"
        reason = f"urgent:{s.urgent}" if s.urgent else "asked"
        effect = Handoff(hotline_id, queue, s.urgent or topic, reason, open_now, text[:500])
        name = hotline.name.get(s.lang)
        phone = f"{name}: {hotline.phone}"
        if not open_now:
            when = format_next_opening(hours, moment, tr)
            closed = tr.gettext("The hotline is closed now.")
            if when:
                closed += " " + tr.gettext("It opens %(when)s.") % {"when": when}
        if not inbound.handoff:
            intro = (
                node.text.get(s.lang)
                if node and node.text
                else tr.gettext("To talk to a person, call the hotline:")
            )
            if not hotline.hours:  # the line's own hours are unknown: say only that
                status = ""
            else:
                status = "\n" + (tr.gettext("Open now.") if open_now else closed)
            body = f"{intro}\n{name}: {format_hotline(hotline, tr)}{status}"
            s.node = HANDOFF
            reply = Reply("handoff", body, s.lang, (Option("0", tr.gettext("Back")),))
            return Turn(s, (reply,), Effects(handoff=effect))
        s.mode = "operator"
        back = Option("00", tr.gettext("Back to the bot"))
        if open_now:
            s.node = HANDOFF
            body = tr.gettext(
                "An operator will answer you here. Write what happened; everything you send "
                "now goes to the operator."
            )
            body += "\n" + tr.gettext("To go back to the bot, send MENU.")
            return Turn(s, (Reply("handoff", body, s.lang, (back,)),), Effects(handoff=effect))
        s.node = CALLBACK
        lines = [closed, phone, tr.gettext("Your messages are kept for the operators.")]
        lines.append(tr.gettext("Do you want the hotline to call you back?"))
        options = (
            Option("1", tr.gettext("Yes, call me back")),
            Option("0", tr.gettext("No, thank you")),
            back,
        )
        return Turn(
            s, (Reply("handoff", "\n".join(lines), s.lang, options),), Effects(handoff=effect)
        )

    def _with_operator(self, s: Session, inbound: Inbound, now: float) -> Turn:
        """A ticket is open: the bot is silent, except for leaving, forgetting, a callback."""
        text = clean(inbound.text)
        choice = inbound.choice
        if choice is None:
            m = DIGITS.match(text)
            choice = m.group(1) if m else None
        command = inbound.command or (keyword(text) if choice is None else None)
        if command == "forget" or s.node == FORGET:
            if s.node == FORGET and choice is not None:
                if choice == "1":
                    return self._forget(s)
                s.node = HANDOFF
                return self._notice(s, self.tr(s).gettext("Nothing was deleted."))
            return self._confirm_forget(s)
        if choice == "00" or command in ("menu", "start", "back"):
            s.node = LEAVE
            tr = self.tr(s)
            text = tr.gettext("End the conversation with the operator and go back to the bot?")
            options = (
                Option("1", tr.gettext("Yes, back to the bot")),
                Option("0", tr.gettext("No")),
            )
            return Turn(s, (Reply("confirm", text, s.lang or "en", options),))
        if s.node == LEAVE and choice is not None:
            if choice == "1":
                s.mode = "bot"
                tr = self.tr(s)
                turn = self._home(s, notice=tr.gettext("You are back with the bot."))
                return Turn(turn.session, turn.replies, Effects(close=True))
            s.node = HANDOFF
            return self._notice(s, self.tr(s).gettext("You are still with the operator."))
        if s.node in (CALLBACK, CALLBACK_PHONE) and choice in ("0", "1"):
            return self._callback_choice(s, choice, inbound)
        if s.node == CALLBACK_PHONE and parse_phone(text):
            return self._callback_phone(s, text)
        if command in ("operator", "help", "language", "more", "script") and not text:
            tr = self.tr(s)
            note = tr.gettext("You are talking to an operator. To go back to the bot, send MENU.")
            return self._notice(s, note)
        if s.node == LEAVE:
            s.node = HANDOFF
        body = text or "(a message that is not text)"
        return Turn(s, (), Effects(relay=body))

    def _callback_choice(self, s: Session, key: str, inbound: Inbound) -> Turn:
        tr = self.tr(s)
        if key != "1":
            s.node = HANDOFF
            return self._notice(s, tr.gettext("All right. An operator will answer here."))
        if inbound.reachable:
            s.node = HANDOFF
            text = tr.gettext("Thank you: the hotline will call you back at this number.")
            return Turn(s, (Reply("notice", text, s.lang or "en"),), Effects(callback=Callback()))
        s.node = CALLBACK_PHONE
        text = tr.gettext(
            "Send the phone number the hotline should call, with the country code "
            "(for example +992 …). It is kept only until the call."
        )
        return Turn(
            s, (Reply("notice", text, s.lang or "en", (Option("0", tr.gettext("Cancel")),)),)
        )

    def _callback_phone(self, s: Session, text: str) -> Turn:
        tr = self.tr(s)
        phone = parse_phone(text)
        if phone is None:
            text = tr.gettext(
                "This does not look like a phone number. Send it with the country code, "
                "for example +992 …, or 0 to cancel."
            )
            return Turn(s, (Reply("notice", text, s.lang or "en"),))
        s.node = HANDOFF
        text = tr.gettext("Thank you: the hotline will call you back at %(phone)s.") % {
            "phone": phone
        }
        return Turn(s, (Reply("notice", text, s.lang or "en"),), Effects(callback=Callback(phone)))

    def operator_closed(self, session: Session) -> Turn:
        """The operator ended the ticket: the bot answers again, with a polite word first."""
        s = session.copy(mode="bot", urgent=None)
        if s.lang is None:
            s.lang = "en"
        tr = self.tr(s)
        notice = tr.gettext(
            "The operator has ended the conversation. Thank you for writing. Safar answers "
            "your questions again; the hotline is there when you need it."
        )
        turn = self._home(s)
        return Turn(turn.session, (Reply("notice", notice, s.lang), *turn.replies))

    def without_memory(self, turn: Turn, hint: str | None = None) -> Turn:
        """The store is down: answer anyway, and say what a person in danger needs first."""
        lang = turn.session.lang or (hint if hint in LANGUAGES else None) or "en"
        tr = self.content.catalogs(lang)
        hotline = self.content.route_hotline(lang)
        text = tr.gettext(
            "Safar cannot remember our conversation right now. %(emergency)s. Hotline: %(hotline)s"
        ) % {"emergency": format_emergency(self.content, tr), "hotline": hotline.phone}
        return Turn(turn.session, (Reply("notice", text, lang), *turn.replies), turn.effects)

    def operator_text(self, lang: str | None, text: str) -> str:
        return self.content.catalogs(lang).gettext("Operator: %(text)s") % {"text": text}

    def queue_notice(self, lang: str | None, position: int, ticket: str) -> str:
        tr = self.content.catalogs(lang)
        return tr.gettext(
            "Your request number is %(ticket)s; you are number %(n)d in the queue."
        ) % {
            "ticket": ticket,
            "n": position,
        }

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
        if s.node == URGENT and s.article and s.urgent:
            turn = self._urgent(s, s.urgent, s.article)
        elif s.node == ARTICLE and s.article:
            turn = self._article(s, s.article)
        elif s.node == SUGGEST:
            return self._home(s, notice=notice)
        elif s.node in (HANDOFF, CALLBACK, CALLBACK_PHONE):
            turn = self._handoff(s, Inbound(), now)
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
