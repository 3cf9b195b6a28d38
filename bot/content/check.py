"""Everything `safar check` tells an author, in one run: what the loader finds (syntax, fields,
languages, references, ids, menus, verify items, review dates) plus the checks that need the whole
content loaded (SMS cost, keywords shared by two articles, translations left fuzzy).

The loader stays the judge of what may go live; these extra findings are warnings, because a
costly SMS or a shared keyword is worth fixing but never worth keeping the last edit offline.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from bot import LANGUAGES
from bot.content.load import Content, LoadResult, load_content
from bot.content.problems import Problem

_WORD = re.compile(r"\w+")
BUTTON_MAX = 40
"""Characters of a button label a phone shows in full; Telegram cuts longer ones with '…'."""


@dataclass(frozen=True)
class CatalogStats:
    """How far one language's interface catalog is translated."""

    lang: str
    total: int
    untranslated: int
    fuzzy: int

    def __str__(self) -> str:
        done = self.total - self.untranslated - self.fuzzy
        extra = [
            f"{n} {what}"
            for n, what in ((self.untranslated, "untranslated"), (self.fuzzy, "fuzzy"))
            if n
        ]
        return f"{self.lang} {done}/{self.total}" + (f" ({', '.join(extra)})" if extra else "")


@dataclass
class CheckResult(LoadResult):
    """What the loader found, the checks on top of it, and how far each catalog is translated."""

    catalogs: list[CatalogStats] = field(default_factory=list)


def check_content(root: Path, sms_budget: int, today: dt.date | None = None) -> CheckResult:
    """Load the content under `root` and add the checks that only make sense on top of it."""
    result = load_content(root, today)
    problems = list(result.problems)
    stats, fuzzy = catalog_stats(root)
    problems += fuzzy
    if result.content is not None:
        from bot.sms.budget import sms_problems

        problems += sms_problems(result.content, sms_budget)
        problems += keyword_collisions(result.content)
        problems += long_buttons(result.content)
    problems = sorted(set(problems), key=lambda p: (p.path, p.line, p.message))
    return CheckResult(result.content, problems, stats)


def keyword_collisions(content: Content) -> list[Problem]:
    """A keyword that two articles both claim (after folding, so 'паспорт' and 'pasport' are
    one keyword): the search cannot tell from it which article a person wants."""
    from bot.search.fold import default_folder
    from bot.sms.budget import _Lines

    folder = default_folder()
    owners: dict[str, tuple[str, str, str, int]] = {}  # folded -> (article, lang, keyword, index)
    problems: list[Problem] = []
    lines = _Lines(content.root)
    for aid, article in sorted(content.articles.items()):
        for lang in LANGUAGES:
            for i, keyword in enumerate(article.texts[lang].keywords):
                folded = " ".join(_WORD.findall(folder.fold(keyword)))  # digits count
                if not folded:
                    continue
                first = owners.setdefault(folded, (aid, lang, keyword, i))
                if first[0] == aid:
                    continue
                other = content.articles[first[0]]
                where = f"{other.path}:{lines.line(other.path, (first[1], 'keywords', first[3]))}"
                problems.append(
                    Problem(
                        article.path,
                        lines.line(article.path, (lang, "keywords", i)),
                        f"{lang} keyword '{keyword}' is also a keyword of '{first[0]}' "
                        f"('{first[2]}', {where}), so the search cannot tell them apart",
                        "warning",
                        "keep it in the article that answers it best and remove it from the other",
                    )
                )
    return problems


def long_buttons(content: Content) -> list[Problem]:
    """Menu buttons (an option's label, or the title of the article it opens) too long to read
    on a phone: Telegram cuts them, and on SMS each is a line that costs money."""
    from bot.content.models import MenuNode
    from bot.sms.budget import _Lines

    lines = _Lines(content.root)
    problems: list[Problem] = []
    for nid, node in content.dialog.nodes.items():
        if not isinstance(node, MenuNode):
            continue
        file = content.dialog.lines.get(nid, ("dialogs", 1))[0]
        for i, option in enumerate(node.options):
            article = content.articles.get(option.article or "")
            for lang in LANGUAGES:
                if option.label is not None:
                    text, path = option.label.get(lang), file
                    key: tuple[str | int, ...] = ("nodes", nid, "options", i, "label", lang)
                elif article is not None:
                    text, path, key = article.lang(lang).title, article.path, (lang, "title")
                else:
                    continue
                if len(text) > BUTTON_MAX:
                    problems.append(
                        Problem(
                            path,
                            lines.line(path, key),
                            f"node '{nid}', option {i + 1} ({lang}): the button '{text}' has "
                            f"{len(text)} characters; a phone shows about {BUTTON_MAX}",
                            "warning",
                            "shorten it (an option can have its own shorter 'label')",
                        )
                    )
    return problems


def catalog_stats(root: Path) -> tuple[list[CatalogStats], list[Problem]]:
    """Per language, how many interface strings are untranslated or fuzzy; a warning for each
    fuzzy one, since the bot shows English instead of a translation nobody confirmed."""
    from babel.messages.pofile import PoFileError, read_po

    stats: list[CatalogStats] = []
    problems: list[Problem] = []
    for lang in LANGUAGES:
        if lang == "en":  # the source: its msgstr stay empty on purpose
            continue
        rel = f"locales/{lang}/LC_MESSAGES/messages.po"
        try:
            with (root / rel).open("rb") as fp:
                catalog = read_po(fp, locale=lang)
        except (OSError, PoFileError, ValueError):
            continue  # the loader has reported it
        total = untranslated = fuzzy = 0
        for msg in catalog:
            if not msg.id:
                continue
            total += 1
            strings = msg.string if isinstance(msg.string, tuple) else (msg.string,)
            msgid = str(msg.id if isinstance(msg.id, str) else msg.id[0])
            if not all(strings):
                untranslated += 1
            elif msg.fuzzy:
                fuzzy += 1
                problems.append(
                    Problem(
                        rel,
                        msg.lineno or 1,
                        f"'{msgid[:50]}' is marked fuzzy (a guess, or its English changed), "
                        "so the bot shows it in English",
                        "warning",
                        "check the translation, then delete the '#, fuzzy' line above it",
                    )
                )
        stats.append(CatalogStats(lang, total, untranslated, fuzzy))
    return stats, problems
