"""The engine's replies as SMS bodies: numbered lines, short articles, MORE to page through.

An SMS costs money per segment, so the first answer to a question is the article's short SMS
text, and the full text comes one page at a time, each page within the segment budget
(SAFAR_SMS_BUDGET), only when the person asks with MORE. Menus are never split: a person must
see every number to pick one. Everything is written in the person's script (`cyr` or `lat`)
before it is counted, since Latin packs more than twice as many letters into a segment.

Pure: no I/O. The same code renders a live reply, the benchmark's table and `safar check`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from bot import LANGUAGES
from bot.engine.types import Option, Reply, Turn
from bot.i18n import Tr
from bot.sms.segments import TWILIO_MAX_CHARS, count, fits
from bot.sms.translit import for_script

Script = Literal["cyr", "lat"]
Catalogs = Callable[[str | None], Tr]

_BLANK_LINES = re.compile(r"[ \t]*\n[ \t\n]*")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
_SENTENCE_END = re.compile(r"[.!?:;]$")
_WORDS = re.compile(r"\S+\s*")


def tidy(text: str) -> str:
    """One newline between paragraphs (a blank line costs a character and shows as nothing on
    many phones), no control characters, which are not valid in TwiML's XML either."""
    return _BLANK_LINES.sub("\n", _CONTROL.sub(" ", text)).strip()


def cap(body: str) -> str:
    """Twilio refuses a body over 1,600 characters; cut at a word and say so."""
    if len(body) <= TWILIO_MAX_CHARS:
        return body
    cut = body[: TWILIO_MAX_CHARS - 3]
    space = cut.rfind(" ", TWILIO_MAX_CHARS - 200)
    return (cut[:space] if space > 0 else cut).rstrip() + "..."


@dataclass(frozen=True)
class Renderer:
    catalogs: Catalogs
    """content.catalogs: the interface strings of a language."""
    budget: int
    """Segments a page of a long answer may take (SAFAR_SMS_BUDGET)."""

    # -- a whole turn ------------------------------------------------------------------------

    def body(self, turn: Turn, script: Script, notices: Sequence[str] = ()) -> str:
        """The one SMS answering a turn. `notices` (already translated) go first.

        Help, or a question the bot was unsure about, is followed by the main menu in the
        engine's turn; on SMS that menu alone can cost more than the budget, so it gives way
        to a one-line pointer ("Send MENU ...") when the whole would not fit, and is left out
        after help, which says how to get it.
        """
        lang = turn.session.lang or (turn.replies[-1].lang if turn.replies else "en")
        parts = [self.convert(n, lang, script) for n in notices]
        rendered = [self.reply(r, script) for r in turn.replies]
        if len(turn.replies) > 1 and turn.replies[-1].kind == "menu":
            if turn.replies[0].kind == "help":
                rendered.pop()  # the help text itself says how to get the menu
            elif not fits("\n".join(parts + rendered), self.budget):
                pointer = self.tr(lang).gettext("Send MENU for the list of topics.")
                rendered[-1] = self.convert(pointer, lang, script)
        return cap("\n".join(p for p in parts + rendered if p))

    def text(self, text: str, lang: str | None, script: Script) -> str:
        """A free text (an operator's answer, a confirmation) in the person's script."""
        return cap(self.convert(text, lang, script))

    # -- one reply -----------------------------------------------------------------------------

    def reply(self, reply: Reply, script: Script) -> str:
        if reply.kind == "article":
            return self.article(reply, script)
        if reply.kind == "languages":
            return self.languages(reply, script)
        text = self.convert(reply.text, reply.lang, script)
        if reply.kind == "help":
            line = self.tr(reply.lang).gettext(
                "By SMS: MORE = next part, LAT/KIR = Latin/Cyrillic letters, "
                "STOP = no more messages."
            )
            return f"{text}\n{self.convert(line, reply.lang, script)}"
        if reply.options:
            text = f"{text}\n{self.options(reply.options, reply.lang, script)}"
        return self._with_hint(text, reply, script)

    def languages(self, reply: Reply, script: Script) -> str:
        """Each language's name in its own letters (or its own Latin spelling)."""
        lines = [self.convert(reply.text, None, script)]
        for opt in reply.options:
            index = int(opt.key) - 1 if opt.key.isdigit() else -1
            lang = LANGUAGES[index] if 0 <= index < len(LANGUAGES) else reply.lang
            lines.append(f"{opt.key} {self.convert(opt.label, lang, script)}")
        return "\n".join(lines)

    def options(self, options: Sequence[Option], lang: str, script: Script) -> str:
        return "\n".join(f"{o.key} {self.convert(o.label, lang, script)}" for o in options)

    def article(self, reply: Reply, script: Script) -> str:
        """Page 0 is the short SMS text; page n >= 1 the n-th page of the full text."""
        lang, tr = reply.lang, self.tr(reply.lang)
        full = self.convert(
            f"{reply.title}\n{reply.text}" if reply.title else reply.text, lang, script
        )
        pages = self.pages(full, lang, script)
        options = self.options(reply.options, lang, script)
        back = self.options([o for o in reply.options if o.key == "0"], lang, script)
        if reply.page <= 0:
            short = self.convert(reply.short or reply.text, lang, script)
            more = tr.ngettext(
                "MORE: the full text in %(num)d part",
                "MORE: the full text in %(num)d parts",
                len(pages),
            ) % {"num": len(pages)}
            head = f"{short}\n{self.convert(more, lang, script)}"
            return self._with_hint(self._first_fitting(head, options, back), reply, script)
        if reply.page > len(pages):
            done = self.convert(tr.gettext("That was the whole text."), lang, script)
            return self._first_fitting(done, options, back)
        number = f"({reply.page}/{len(pages)}) " if len(pages) > 1 else ""
        page = number + pages[reply.page - 1]
        left = len(pages) - reply.page
        if left:
            footer = tr.ngettext(
                "MORE: next part (%(num)d left)", "MORE: next part (%(num)d left)", left
            ) % {"num": left}
            return f"{page}\n{self.convert(footer, lang, script)}"
        return self._first_fitting(page, options, back)

    def pages(self, full: str, lang: str, script: Script) -> tuple[str, ...]:
        """The full text cut into pages that fit the budget with a page number and footer."""
        tr = self.tr(lang)
        footers = [
            tr.ngettext("MORE: next part (%(num)d left)", "MORE: next part (%(num)d left)", n)
            % {"num": n}
            for n in (1, 2, 5, 21, 99)
        ]
        widest = max((self.convert(f, lang, script) for f in footers), key=_units)
        found = paginate(full, self.budget, f"(99/99) \n{widest}")
        if len(found) >= 100:
            found = paginate(full, self.budget, f"(999/999) \n{widest}")
        return found

    # -- helpers ---------------------------------------------------------------------------

    def tr(self, lang: str | None) -> Tr:
        return self.catalogs(lang)

    @staticmethod
    def convert(text: str, lang: str | None, script: Script) -> str:
        return _convert(text, lang, script)

    def _first_fitting(self, head: str, *tails: str) -> str:
        """`head` with the first of `tails` that keeps it within the budget, else the last
        (the shortest: "0 Back"), which is sent even over the budget: it is the way out."""
        for tail in tails:
            body = f"{head}\n{tail}" if tail else head
            if fits(body, self.budget):
                return body
        return f"{head}\n{tails[-1]}" if tails and tails[-1] else head

    def _with_hint(self, text: str, reply: Reply, script: Script) -> str:
        if not reply.hint:
            return text
        hinted = f"{text}\n{self.convert(reply.hint, reply.lang, script)}"
        return hinted if fits(hinted, self.budget) else text


@lru_cache(maxsize=8192)
def _convert(text: str, lang: str | None, script: Script) -> str:
    """Content and interface texts repeat endlessly: each is converted once per script."""
    return tidy(for_script(text, lang, script))


def _units(text: str) -> int:
    return count(text).units


@lru_cache(maxsize=2048)
def paginate(text: str, budget: int, reserve: str) -> tuple[str, ...]:
    """Cut `text` into pages so that each page plus `reserve` (the widest page number and
    footer) fits in `budget` segments. Pages end at a paragraph or a sentence when one is in
    the second half of the page, else at a word; a word longer than a page is cut."""
    words = _WORDS.findall(text)
    pages: list[str] = []
    i = 0
    while i < len(words):
        j = _longest(words, i, budget, reserve)
        if j == i:  # one word longer than a page: cut it by characters
            word = words[i]
            k = _longest_chars(word, budget, reserve)
            pages.append(word[:k].strip())
            words[i] = word[k:]
            continue
        j = _nice_break(words, i, j)
        pages.append("".join(words[i:j]).strip())
        i = j
    return tuple(p for p in pages if p) or ("",)


def _fits_page(page: str, budget: int, reserve: str) -> bool:
    return count(f"{page.strip()}\n{reserve}").segments <= budget


def _longest(words: list[str], i: int, budget: int, reserve: str) -> int:
    """The largest j with words[i:j] fitting (segments only grow with text: binary search)."""
    lo, hi = i, len(words)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _fits_page("".join(words[i:mid]), budget, reserve):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _longest_chars(word: str, budget: int, reserve: str) -> int:
    lo, hi = 1, len(word)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _fits_page(word[:mid], budget, reserve):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _nice_break(words: list[str], i: int, j: int) -> int:
    if j >= len(words):
        return j
    half = i + (j - i) // 2
    for k in range(j - 1, half, -1):
        if "\n" in words[k]:
            return k + 1
    for k in range(j - 1, half, -1):
        if _SENTENCE_END.search(words[k].rstrip()):
            return k + 1
    return j
