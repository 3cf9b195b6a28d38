"""Load all content into one immutable snapshot, or say exactly what is wrong.

A snapshot is only built when there are no errors, and the running bot swaps snapshots in one
assignment, so a bad edit can be reported but can never be half-applied.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from bot import LANGUAGES
from bot.content.claims import backed, find_line, is_backed, numbers, term_pattern
from bot.content.errors import pydantic_problems
from bot.content.hotlines import (
    emergency_number_problem,
    format_hotline,
    format_next_opening,
    hotline_problems,
    language_problem,
    route,
)
from bot.content.models import (
    ARTICLE_ID,
    NODE_ID,
    AnswerNode,
    ArticleFile,
    DialogFile,
    EmergencyCountry,
    Fact,
    GlossaryFile,
    HandoffNode,
    Hotline,
    HotlinesFile,
    MenuNode,
    Node,
    Route,
)
from bot.content.problems import ContentError, Problem, did_you_mean, display_path
from bot.content.yamlfile import YamlDoc, YamlSyntaxError, load_yaml
from bot.i18n import Catalogs
from bot.search import SearchIndex
from bot.search.urgent import UrgentDetector, read_urgent

M = TypeVar("M", bound=BaseModel)
REVIEW_MAX_AGE = dt.timedelta(days=365)
NOT_ARTICLES = ("hotlines.yaml", "glossary.yaml", "urgent.yaml")
"""Files in knowledge/ that are not articles: each has its own loader."""


@dataclass(frozen=True)
class ArticleText:
    """An article in one language, placeholders already filled in."""

    title: str
    text: str
    sms: str
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class Article:
    id: str
    path: str
    reviewed: dt.date
    related: tuple[str, ...]
    verify: tuple[str, ...]
    sources: tuple[tuple[str, str], ...]
    texts: dict[str, ArticleText]
    review: dict[str, str] = field(default_factory=dict)
    """language -> 'YYYY-MM-DD' of a person's review, or 'pending'."""
    facts: tuple[Fact, ...] = ()

    def lang(self, lang: str) -> ArticleText:
        return self.texts.get(lang) or self.texts["en"]


@dataclass(frozen=True)
class Dialog:
    start: str
    nodes: dict[str, Node]
    lines: dict[str, tuple[str, int]] = field(default_factory=dict)
    """node id -> (file, line), for messages that point staff at a node."""

    def menu(self, node_id: str | None) -> MenuNode | None:
        node = self.nodes.get(node_id or "")
        return node if isinstance(node, MenuNode) else None

    def first_handoff(self) -> HandoffNode | None:
        for node in self.nodes.values():
            if isinstance(node, HandoffNode):
                return node
        return None


@dataclass(frozen=True)
class Content:
    root: Path
    dialog: Dialog
    articles: dict[str, Article]
    hotlines: dict[str, Hotline]
    default_hotline: str
    catalogs: Catalogs
    search: SearchIndex
    version: str
    loaded_at: float
    routing: tuple[Route, ...] = ()
    emergency: dict[str, EmergencyCountry] = field(default_factory=dict)
    """ISO-2 country code -> its emergency numbers, in the file's order."""
    urgent: UrgentDetector = field(default_factory=UrgentDetector.empty)
    """Danger phrases and requests for a person, from knowledge/urgent.yaml."""

    @property
    def hotline(self) -> Hotline:
        return self.hotlines[self.default_hotline]

    def route_hotline_id(self, lang: str, topic: str | None = None) -> str:
        """The id of the hotline that serves `lang` and `topic` (an article id), by the
        `routing:` rules of hotlines.yaml; the default hotline when no rule matches."""
        return route(self.routing, self.default_hotline, lang, topic)

    def route_hotline(self, lang: str, topic: str | None = None) -> Hotline:
        return self.hotlines[self.route_hotline_id(lang, topic)]

    def format_next_opening(self, hotline: Hotline, now: dt.datetime, lang: str) -> str:
        """`hotlines.format_next_opening` with this content's catalog for `lang`."""
        return format_next_opening(hotline, now, self.catalogs(lang))


@dataclass
class LoadResult:
    content: Content | None
    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


class _Loader:
    def __init__(self, root: Path, today: dt.date) -> None:
        self.root = root
        self.today = today
        self.problems: list[Problem] = []
        self.digest = hashlib.sha256()

    def rel(self, path: Path) -> str:
        return display_path(path, self.root)

    def error(self, path: Path | str, line: int, message: str) -> None:
        p = path if isinstance(path, str) else self.rel(path)
        self.problems.append(Problem(p, line, message))

    def warn(self, path: Path | str, line: int, message: str) -> None:
        p = path if isinstance(path, str) else self.rel(path)
        self.problems.append(Problem(p, line, message, "warning"))

    def parse(self, path: Path, model: type[M]) -> tuple[M | None, YamlDoc | None]:
        try:
            self.digest.update(path.read_bytes())
            doc = load_yaml(path)
        except YamlSyntaxError as exc:
            self.error(path, exc.line, str(exc))
            return None, None
        except OSError as exc:
            self.error(path, 1, f"cannot read the file: {exc.strerror}")
            return None, None
        for key, first, again in doc.duplicates:
            self.error(
                path,
                again,
                f"'{key[-1]}' appears twice (first on line {first}): "
                "rename one of them or delete the copy",
            )
        if doc.data is None:
            self.error(path, 1, "the file is empty: add content or delete the file")
            return None, doc
        if not isinstance(doc.data, dict):
            self.error(path, 1, "the file must be a group of 'key: value' lines at the top level")
            return None, doc
        try:
            return model.model_validate(doc.data), doc
        except ValidationError as exc:
            self.problems.extend(pydantic_problems(exc, doc, self.rel(path), model))
            return None, doc


def load_content(root: Path, today: dt.date | None = None) -> LoadResult:
    """Read dialogs/, knowledge/ and locales/ under `root`; errors and warnings in `problems`."""
    import time

    loader = _Loader(root, today or dt.date.today())
    catalogs = _load_locales(loader)
    hotlines, default, routing, emergency = _load_hotlines(loader)
    articles, article_ids = _load_articles(loader, catalogs, hotlines, default)
    dialog = _load_dialogs(loader, article_ids, hotlines if default else None)
    urgent = _load_urgent(loader, article_ids)
    problems = sorted(set(loader.problems), key=lambda p: (p.path, p.line, p.message))
    if any(p.severity == "error" for p in problems) or dialog is None or default is None:
        return LoadResult(None, problems)
    content = Content(
        root=root,
        dialog=dialog,
        articles=articles,
        hotlines=hotlines,
        default_hotline=default,
        catalogs=catalogs,
        search=SearchIndex.build(articles),
        version=loader.digest.hexdigest()[:12],
        loaded_at=time.time(),
        routing=routing,
        emergency=emergency,
        urgent=urgent or UrgentDetector.empty(),
    )
    return LoadResult(content, problems)


def require_content(root: Path) -> Content:
    result = load_content(root)
    if result.content is None:
        raise ContentError(result.errors)
    return result.content


def _load_locales(loader: _Loader) -> Catalogs:
    from babel.messages.pofile import PoFileError, read_po

    base = loader.root / "locales"
    pot_ids: set[str] = set()
    pot = base / "messages.pot"
    if pot.exists():
        with pot.open("rb") as fp:
            pot_ids = {
                str(m.id if isinstance(m.id, str) else m.id[0]) for m in read_po(fp) if m.id
            }
    for lang in LANGUAGES:
        po = base / lang / "LC_MESSAGES" / "messages.po"
        if not po.exists():
            loader.error(po, 1, f"the {lang} catalog is missing: run 'make messages' to create it")
            continue
        loader.digest.update(po.read_bytes())
        try:
            with po.open("rb") as fp:
                catalog = read_po(fp, locale=lang, abort_invalid=True)
        except (PoFileError, ValueError) as exc:
            loader.error(po, getattr(exc, "lineno", 1) or 1, f"cannot read the catalog: {exc}")
            continue
        ids = set()
        for msg in catalog:
            if not msg.id:
                continue
            msgid = str(msg.id if isinstance(msg.id, str) else msg.id[0])
            ids.add(msgid)
            strings = [
                str(x or "")
                for x in (msg.string if isinstance(msg.string, tuple) else (msg.string,))
            ]
            line = msg.lineno or 1
            if not all(strings) and lang != "en":
                loader.error(po, line, f"'{msgid[:50]}' has no translation: write it in msgstr")
            for problem in _format_problems(msgid, strings):
                loader.error(po, line, problem)
        for missing in sorted(pot_ids - ids):
            loader.error(po, 1, f"'{missing[:50]}' is not in this catalog: run 'make messages'")
    return Catalogs.load(base)


def _format_problems(msgid: str, strings: Iterable[str]) -> list[str]:
    """A translation that drops or renames a %(name)s placeholder would crash at run time."""
    import re

    wanted = set(re.findall(r"%\((\w+)\)s", msgid))
    out = []
    for s in strings:
        if s and set(re.findall(r"%\((\w+)\)s", s)) != wanted:
            names = ", ".join(f"%({w})s" for w in sorted(wanted)) or "none"
            out.append(f"translation of '{msgid[:40]}' must keep the placeholders: {names}")
    return out


def _load_hotlines(
    loader: _Loader,
) -> tuple[dict[str, Hotline], str | None, tuple[Route, ...], dict[str, EmergencyCountry]]:
    """Hotlines, the default id (None when unusable), routing rules and emergency numbers."""
    path = loader.root / "knowledge" / "hotlines.yaml"
    if not path.exists():
        loader.error(
            path, 1, "hotlines.yaml is missing: add it, the bot needs at least one hotline"
        )
        return {}, None, (), {}
    model, doc = loader.parse(path, HotlinesFile)
    if model is None or doc is None:
        return {}, None, (), {}
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from bot.content.hotlines import countries, country_problem

    for hid, hotline in model.hotlines.items():
        try:
            ZoneInfo(hotline.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            loader.error(
                path,
                doc.line(("hotlines", hid, "timezone")),
                f"hotline '{hid}': time zone '{hotline.timezone}' is not known: "
                "use a name like Asia/Dushanbe or Asia/Bishkek",
            )
        for where, message in hotline_problems(hotline):
            loader.error(path, doc.line(("hotlines", hid, *where)), f"hotline '{hid}': {message}")
        for i, item in enumerate(hotline.verify):
            loader.warn(path, doc.line(("hotlines", hid, "verify", i)), f"verify: {item}")
    # Topics are article ids: every article file counts, broken ones too (reported elsewhere).
    topics = {
        p.stem
        for p in (loader.root / "knowledge").glob("*.yaml")
        if p.name not in NOT_ARTICLES and ARTICLE_ID.match(p.stem)
    }
    for i, rule in enumerate(model.routing):
        if rule.hotline not in model.hotlines:
            loader.error(
                path,
                doc.line(("routing", i, "hotline")),
                f"routing rule {i + 1}: hotline '{rule.hotline}' is not defined"
                f"{did_you_mean(rule.hotline, model.hotlines)}: "
                "use an id from 'hotlines', or add that hotline",
            )
        for j, lang in enumerate(rule.languages):
            if lang not in LANGUAGES:
                loader.error(
                    path,
                    doc.line(("routing", i, "languages", j)),
                    f"routing rule {i + 1}: {language_problem(lang)}",
                )
        for j, topic in enumerate(rule.topics):
            if topic not in topics:
                loader.error(
                    path,
                    doc.line(("routing", i, "topics", j)),
                    f"routing rule {i + 1}: topic '{topic}' is not an article"
                    f"{did_you_mean(topic, topics)}: "
                    "use the file name of an article in knowledge/ without .yaml",
                )
    for code, country in model.emergency.items():
        if code not in countries():
            loader.error(
                path, doc.line(("emergency", code)), f"emergency: {country_problem(code)}"
            )
            continue
        for i, entry in enumerate(country.numbers):
            problem = emergency_number_problem(entry.number, code)
            if problem:
                loader.error(
                    path,
                    doc.line(("emergency", code, "numbers", i, "number")),
                    f"emergency > {code}: {problem}",
                )
            for j, item in enumerate(entry.verify):
                loader.warn(
                    path,
                    doc.line(("emergency", code, "numbers", i, "verify", j)),
                    f"verify: {item}",
                )
    routing, emergency = tuple(model.routing), dict(model.emergency)
    if model.default not in model.hotlines:
        loader.error(
            path,
            doc.line(("default",)),
            f"default hotline '{model.default}' is not defined"
            f"{did_you_mean(model.default, model.hotlines)}: "
            "use an id from 'hotlines', or add that hotline",
        )
        return dict(model.hotlines), None, routing, emergency
    return dict(model.hotlines), model.default, routing, emergency


def _load_articles(
    loader: _Loader, catalogs: Catalogs, hotlines: dict[str, Hotline], default: str | None
) -> tuple[dict[str, Article], set[str]]:
    """The articles, and the ids of every article file, broken ones included: a file with a
    typo in it is reported once, not again by every menu and article that links to it."""
    folder = loader.root / "knowledge"
    glossary = _load_glossary(loader)
    articles: dict[str, Article] = {}
    docs: dict[str, tuple[Path, YamlDoc, ArticleFile]] = {}
    ids: set[str] = set()
    for path in sorted(folder.glob("*.y*ml")):
        if path.name in NOT_ARTICLES or path.suffix not in (".yaml", ".yml"):
            continue
        aid = path.stem
        if not ARTICLE_ID.match(aid):
            loader.error(
                path,
                1,
                f"'{path.name}' is not a valid article file name: use lowercase-with-dashes",
            )
            continue
        ids.add(aid)
        model, doc = loader.parse(path, ArticleFile)
        if model is None or doc is None:
            continue
        docs[aid] = (path, doc, model)
    for aid, (path, doc, model) in docs.items():
        for i, rel in enumerate(model.related):
            if rel not in ids:
                loader.error(
                    path,
                    doc.line(("related", i)),
                    f"related article '{rel}' does not exist{did_you_mean(rel, ids)}",
                )
        for i, item in enumerate(model.verify):
            loader.warn(path, doc.line(("verify", i)), f"verify: {item}")
        if loader.today - model.reviewed > REVIEW_MAX_AGE:
            loader.warn(
                path,
                doc.line(("reviewed",)),
                f"last reviewed {model.reviewed.isoformat()}, more than 12 months ago: "
                "check the facts and update the date",
            )
        _check_review(loader, path, doc, model)
        _check_claims(loader, path, doc, model, glossary)
        texts = {}
        for lang in LANGUAGES:
            block = model.lang(lang)
            hotline = hotlines.get(default or "")
            fill = {
                "hotline": format_hotline(hotline, catalogs(lang)) if hotline else "",
                "hotline_phone": hotline.phone if hotline else "",
            }
            rendered = {}
            for name in ("title", "text", "sms"):
                raw = getattr(block, name)
                try:
                    rendered[name] = raw.format_map(fill)
                except (KeyError, ValueError, IndexError) as exc:
                    loader.error(
                        path,
                        doc.line((lang, name)),
                        f"{lang} > {name}: bad placeholder {exc}: only {{hotline}} and "
                        "{hotline_phone} are known; write other braces as {{ and }}",
                    )
                    rendered[name] = raw
            texts[lang] = ArticleText(
                rendered["title"],
                rendered["text"].strip(),
                rendered["sms"].strip(),
                tuple(block.keywords),
            )
        articles[aid] = Article(
            id=aid,
            path=loader.rel(path),
            reviewed=model.reviewed,
            related=tuple(model.related),
            verify=tuple(model.verify),
            sources=tuple((s.name, s.url) for s in model.sources),
            texts=texts,
            review={
                lang: str((model.review or {}).get(lang, "pending"))  # type: ignore[call-overload]
                for lang in LANGUAGES
            },
            facts=tuple(model.facts),
        )
    if not docs and not any(p.path.startswith("knowledge") for p in loader.problems):
        loader.error(folder, 1, "no articles found: add knowledge/<topic-id>.yaml files")
    return articles, ids


def _load_urgent(loader: _Loader, articles: set[str]) -> UrgentDetector | None:
    """knowledge/urgent.yaml: without it nothing is detected as urgent, which staff must know."""
    path = loader.root / "knowledge" / "urgent.yaml"
    if not path.exists():
        loader.warn(
            path,
            1,
            "urgent.yaml is missing: urgent situations and requests for a person are not "
            "recognised; add the file (see the shipped knowledge/urgent.yaml)",
        )
        return UrgentDetector.empty()
    try:
        loader.digest.update(path.read_bytes())
        doc = load_yaml(path)
    except YamlSyntaxError as exc:
        loader.error(path, exc.line, str(exc))
        return None
    for key, first, again in doc.duplicates:
        loader.error(
            path,
            again,
            f"'{key[-1]}' appears twice (first on line {first}): merge the two or rename one",
        )
    detector, problems = read_urgent(doc.data)
    for where, message in problems:
        loader.error(path, doc.line(where), message)
    for cat in detector.categories if detector else ():
        if cat.article not in articles:
            loader.error(
                path,
                doc.line(("categories", cat.name, "article")),
                f"categories > {cat.name}: article '{cat.article}' does not exist"
                f"{did_you_mean(cat.article, articles)}: "
                "use the file name of an article in knowledge/ without .yaml",
            )
    return detector


_Glossary = list[tuple[str, str, str, re.Pattern[str]]]
"""(term, language, the word to use, the pattern of one variant)."""


def _load_glossary(loader: _Loader) -> _Glossary:
    """knowledge/glossary.yaml is optional: without it no article is checked for variants."""
    path = loader.root / "knowledge" / "glossary.yaml"
    if not path.exists():
        return []
    model, _ = loader.parse(path, GlossaryFile)
    if model is None:
        return []
    return [
        (term, lang, entry.use, term_pattern(variant))
        for term, entries in model.terms.items()
        for lang, entry in entries.items()
        for variant in entry.avoid
    ]


def _check_review(loader: _Loader, path: Path, doc: YamlDoc, model: ArticleFile) -> None:
    """One warning per article, not per language: thirty lines saying 'pending' would hide the
    warnings that need action today."""
    if model.review is None:
        loader.warn(
            path,
            doc.line(("reviewed",)),
            "no review state per language: add 'review: {ky: pending, ru: pending, "
            "tg: pending, en: pending}' and write a date once a person has read that language",
        )
        return
    pending = [lang for lang in LANGUAGES if model.review.get(lang, "pending") == "pending"]  # type: ignore[call-overload]
    if pending:
        loader.warn(
            path,
            doc.line(("review",)),
            f"review pending for {', '.join(pending)}: write the date of the review instead of "
            f"'pending' once a native speaker has read {'it' if len(pending) == 1 else 'them'}",
        )


def _check_claims(
    loader: _Loader, path: Path, doc: YamlDoc, model: ArticleFile, glossary: _Glossary
) -> None:
    """Numbers no fact backs, and glossary variants, each at the line where it is written."""
    lines = path.read_text(encoding="utf-8").splitlines()
    values = backed(f.claim for f in model.facts)
    for lang in LANGUAGES:
        block = model.lang(lang)
        for name in ("title", "text", "sms"):
            raw = getattr(block, name)
            start = doc.line((lang, name))
            seen: set[str] = set()
            for number in numbers(raw):
                if number.value in seen or is_backed(number, values):
                    continue
                seen.add(number.value)
                loader.warn(
                    path,
                    find_line(lines, start, number),
                    f"{lang} > {name}: '{number.raw}' has no source: add a fact with this "
                    "number to 'facts:' (claim, source, date), or remove it from the text",
                )
            for term, term_lang, use, pattern in glossary:
                if term_lang != lang:
                    continue
                for found in {
                    m.group().casefold(): m.group() for m in pattern.finditer(raw)
                }.values():
                    loader.warn(
                        path,
                        find_line(lines, start, found),
                        f"{lang} > {name}: '{found}' is a variant of '{use}' ({term}): "
                        f"write '{use}' (one word for one thing, see knowledge/glossary.yaml)",
                    )


def _load_dialogs(
    loader: _Loader, articles: set[str], hotlines: dict[str, Hotline] | None = None
) -> Dialog | None:
    """`hotlines`: the loaded ones, to check handoff nodes; None when hotlines.yaml is broken
    (then a handoff's hotline id cannot be judged, and hotlines.yaml's error says why)."""
    folder = loader.root / "dialogs"
    files = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))
    if not files:
        loader.error(folder, 1, "no dialog files found: add dialogs/main.yaml")
        return None
    nodes: dict[str, Node] = {}
    where: dict[str, tuple[str, int]] = {}
    docs: list[tuple[Path, YamlDoc, DialogFile]] = []
    start: tuple[str, Path, int] | None = None
    for path in files:
        model, doc = loader.parse(path, DialogFile)
        if model is None or doc is None:
            continue
        docs.append((path, doc, model))
        if model.start:
            if start is not None:
                loader.error(
                    path,
                    doc.line(("start",)),
                    f"'start' is already set in {loader.rel(start[1])}:{start[2]}: keep only one",
                )
            else:
                start = (model.start, path, doc.line(("start",)))
        for nid, node in model.nodes.items():
            line = doc.line(("nodes", nid))
            if not NODE_ID.match(nid):
                loader.error(
                    path, line, f"node id '{nid}' must be lowercase letters, digits and _"
                )
            if nid in where:
                other = where[nid]
                loader.error(
                    path,
                    line,
                    f"node '{nid}' is already defined in {other[0]}:{other[1]}: "
                    "node ids must be unique across all dialog files; rename one",
                )
                continue
            nodes[nid] = node
            where[nid] = (loader.rel(path), line)
    if not docs:
        return None
    if start is None:
        path = docs[0][0]
        loader.error(path, 1, "no 'start' node: add 'start: <node id>' to the main dialog file")
        return None
    if start[0] not in nodes:
        loader.error(
            start[1],
            start[2],
            f"start node '{start[0]}' is not defined{did_you_mean(start[0], nodes)}",
        )
    elif not isinstance(nodes[start[0]], MenuNode):
        loader.error(start[1], start[2], f"start node '{start[0]}' must be a menu")

    def check_goto(path: Path, line: int, where_: str, target: str) -> None:
        if target not in nodes:
            loader.error(
                path,
                line,
                f"{where_}: goto '{target}' is not a known node{did_you_mean(target, nodes)}",
            )

    def check_article(path: Path, line: int, where_: str, aid: str) -> None:
        if aid not in articles:
            loader.error(
                path,
                line,
                f"{where_}: article '{aid}' does not exist{did_you_mean(aid, articles)}: "
                "use the file name of an article in knowledge/ without .yaml",
            )

    edges: dict[str, list[str]] = {}
    for path, doc, model in docs:
        for nid, node in model.nodes.items():
            edges[nid] = []
            if isinstance(node, MenuNode):
                if node.back:
                    check_goto(path, doc.line(("nodes", nid, "back")), f"node '{nid}'", node.back)
                for i, opt in enumerate(node.options):
                    line = doc.line(("nodes", nid, "options", i))
                    label = f"node '{nid}', option {i + 1}"
                    if opt.goto is not None:
                        check_goto(path, line, label, opt.goto)
                        edges[nid].append(opt.goto)
                        target = nodes.get(opt.goto)
                        if opt.label is None and not isinstance(target, AnswerNode):
                            loader.error(
                                path, line, f"{label}: 'label' is missing: add the button text"
                            )
                    if opt.article is not None:
                        check_article(path, line, label, opt.article)
            elif isinstance(node, AnswerNode):
                check_article(
                    path, doc.line(("nodes", nid, "article")), f"node '{nid}'", node.article
                )
            elif (
                isinstance(node, HandoffNode)
                and node.hotline
                and hotlines is not None
                and node.hotline not in hotlines
            ):
                loader.error(
                    path,
                    doc.line(("nodes", nid, "hotline")),
                    f"node '{nid}': hotline '{node.hotline}' is not defined"
                    f"{did_you_mean(node.hotline, hotlines)}: use an id from "
                    "knowledge/hotlines.yaml, or leave 'hotline' out for the routed one",
                )
    if start[0] in nodes:
        seen, todo = set(), [start[0]]
        while todo:
            nid = todo.pop()
            if nid not in seen:
                seen.add(nid)
                todo.extend(edges.get(nid, []))
        for nid in sorted(set(nodes) - seen):
            file, line = where[nid]
            loader.warn(file, line, f"node '{nid}' cannot be reached from '{start[0]}'")
    return Dialog(start=start[0], nodes=nodes, lines=where)
