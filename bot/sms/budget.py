"""What each text costs by SMS, for `safar check`: segments in Cyrillic and in Latin, and a
warning for each text over the budget (SAFAR_SMS_BUDGET, default 3 segments).

Texts are measured as they are sent, not as they are written: a menu with its numbered
options, an article's SMS text with its "MORE" line and options. That is what a person pays.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot import LANGUAGES
from bot.content.load import Content
from bot.content.models import AnswerNode, HandoffNode, MenuNode
from bot.content.problems import Problem
from bot.content.yamlfile import YamlDoc, YamlSyntaxError, load_yaml
from bot.engine.types import Option, Reply
from bot.sms.render import Renderer, Script
from bot.sms.segments import Segments, count

SCRIPTS: tuple[Script, ...] = ("cyr", "lat")


@dataclass(frozen=True)
class Cost:
    path: str
    line: int
    item: str
    """"article work-patent" or "node main"."""
    lang: str
    segments: dict[Script, Segments]
    pages: dict[Script, int]
    """For articles: how many MORE pages the full text takes; 0 for dialog texts."""

    def over(self, budget: int) -> list[Script]:
        return [s for s in SCRIPTS if self.segments[s].segments > budget]


class _Lines:
    """Line numbers of keys in content files, each file read once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._docs: dict[str, YamlDoc | None] = {}

    def line(self, path: str, key: tuple[str | int, ...]) -> int:
        if path not in self._docs:
            try:
                self._docs[path] = load_yaml(self.root / path)
            except (OSError, YamlSyntaxError):
                self._docs[path] = None
        doc = self._docs[path]
        return doc.line(key) if doc is not None else 1


def sms_costs(content: Content, budget: int) -> list[Cost]:
    """Every dialog text and every article's SMS text, in every language and both scripts."""
    renderer = Renderer(content.catalogs, budget)
    lines = _Lines(content.root)
    costs: list[Cost] = []
    for nid, node in content.dialog.nodes.items():
        file, node_line = content.dialog.lines.get(nid, ("dialogs", 1))
        for lang in LANGUAGES:
            reply = _node_reply(content, nid, node, lang)
            if reply is None:
                continue
            line = lines.line(file, ("nodes", nid, "text", lang)) if file else node_line
            bodies = {s: renderer.reply(reply, s) for s in SCRIPTS}
            segments = {s: count(b) for s, b in bodies.items()}
            costs.append(Cost(file, line, f"node {nid}", lang, segments, {"cyr": 0, "lat": 0}))
    for aid, article in sorted(content.articles.items()):
        for lang in LANGUAGES:
            text = article.lang(lang)
            tr = content.catalogs(lang)
            related = [content.articles[r] for r in article.related if r in content.articles]
            options = (
                *(Option(str(i + 1), r.lang(lang).title) for i, r in enumerate(related)),
                Option("0", tr.gettext("Back")),
            )
            reply = Reply(
                "article", text.text, lang, options, article=aid, title=text.title, short=text.sms
            )
            full = f"{text.title}\n{text.text}"
            segments = {s: count(renderer.reply(reply, s)) for s in SCRIPTS}
            pages = {
                s: len(renderer.pages(renderer.convert(full, lang, s), lang, s)) for s in SCRIPTS
            }
            line = lines.line(article.path, (lang, "sms"))
            costs.append(Cost(article.path, line, f"article {aid}", lang, segments, pages))
    return costs


def _node_reply(content: Content, nid: str, node: object, lang: str) -> Reply | None:
    tr = content.catalogs(lang)
    if isinstance(node, MenuNode):
        options = []
        for i, opt in enumerate(node.options):
            if opt.label is not None:
                label = opt.label.get(lang)
            else:
                target = content.dialog.nodes.get(opt.goto or "")
                aid = opt.article or (target.article if isinstance(target, AnswerNode) else None)
                label = content.articles[aid].lang(lang).title if aid in content.articles else "?"
            options.append(Option(str(i + 1), label))
        if nid != content.dialog.start:
            options.append(Option("0", tr.gettext("Back")))
        return Reply("menu", node.text.get(lang), lang, tuple(options))
    if isinstance(node, AnswerNode | HandoffNode) and node.text is not None:
        return Reply("notice", node.text.get(lang), lang)
    return None


def sms_problems(content: Content, budget: int) -> list[Problem]:
    """A warning for every text that costs more than `budget` segments in either script."""
    problems = []
    for cost in sms_costs(content, budget):
        over = cost.over(budget)
        if not over:
            continue
        cyr, lat = cost.segments["cyr"], cost.segments["lat"]
        problems.append(
            Problem(
                cost.path,
                cost.line,
                f"{cost.item} ({cost.lang}): the SMS takes {cyr.segments} segments in Cyrillic "
                f"({cyr.units} {cyr.encoding} units), {lat.segments} in Latin "
                f"({lat.units} units); the budget is {budget} (SAFAR_SMS_BUDGET): shorten it",
                "warning",
            )
        )
    return problems


def format_table(costs: list[Cost], budget: int) -> str:
    """A plain table: one row per text, the segments in each script, '!' over the budget."""
    head = f"{'text':<34} {'lang':<4} {'cyr':>4} {'lat':>4} {'pages cyr/lat':>14}"
    rows = [head, "-" * len(head)]
    for c in costs:
        cells = []
        for s in SCRIPTS:
            n = c.segments[s].segments
            cells.append(f"{n}{'!' if n > budget else ' '}".rjust(4))
        pages = f"{c.pages['cyr']}/{c.pages['lat']}" if c.pages["cyr"] else ""
        rows.append(f"{c.item[:34]:<34} {c.lang:<4} {cells[0]} {cells[1]} {pages:>14}")
    return "\n".join(rows)
