"""Translations in a spreadsheet: every translatable text out to one .xlsx, and back in.

Translators work in a spreadsheet, never in YAML or PO files. `export` writes one row per text
(dialog texts and labels, article fields, hotline names, interface strings) with a column per
language; `import` writes back only the cells a translator changed, each as a surgical edit of
that one value (or msgstr) in its file, so comments, quoting, flow lists and line breaks
elsewhere stay as they were. ruamel.yaml finds each value and its style; a whole-file dump,
even ruamel.yaml's round trip, would reflow long flow lists, a diff of lines nobody touched.
An import with nothing changed writes nothing.

What a translation was made from is kept in `locales/translation-status.yaml` (written by
`import`): the hash of the source text it was translated from and whether a native speaker
reviewed it. So a later export can say "changed since translated" when the source moved on.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot import LANGUAGE_NAMES, LANGUAGES
from bot.content.errors import describe

STATUS_FILE = "locales/translation-status.yaml"
PO_ID = "locales/messages.po:"
"""Interface strings are one text in four catalogs; their id is this prefix and the msgid."""
SHEET, HELP_SHEET = "Texts", "Instructions"
PLURAL = re.compile(r"^\[(\d)\] ?", re.M)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

Kind = Literal["text", "keywords", "po"]
State = Literal["missing", "changed since translated", "to review", "reviewed"]


def digest(text: str) -> str:
    """A short fingerprint of a text as a translator sees it (edges and line ends ignored)."""
    return hashlib.sha256(normalize(text).encode("utf-8")).hexdigest()[:12]


def normalize(value: object) -> str:
    if value is None:
        return ""
    # ruamel marks the folds of a '>' text with \a in its nodes; they are not part of the text
    text = str(value).replace("\a", "").replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.strip().split("\n"))


@dataclass
class Text:
    """One translatable text in every language, and where each language's value lives."""

    id: str
    file: str
    what: str
    kind: Kind
    values: dict[str, str] = field(default_factory=dict)
    """lang -> the text as shown in the sheet; a missing language is absent."""
    nodes: dict[str, Node] = field(default_factory=dict)
    parents: dict[str, tuple[MappingNode, str]] = field(default_factory=dict)
    """Where a missing language would be added: (mapping, key)."""
    fuzzy: set[str] = field(default_factory=set)


class SheetError(Exception):
    """The spreadsheet cannot be imported as it is; the message says which cell and why."""


# ---------------------------------------------------------------- reading the content


def collect(root: Path) -> list[Text]:
    """Every translatable text under `root`, in file order: dialogs, knowledge, interface."""
    texts: list[Text] = []
    for folder in ("dialogs", "knowledge"):
        for path in sorted((root / folder).glob("*.yaml")):
            rel = f"{folder}/{path.name}"
            texts.extend(_yaml_texts(path.read_text(encoding="utf-8"), rel))
    texts.extend(_po_texts(root))
    return texts


def _compose(text: str) -> Node | None:
    return YAML(typ="rt").compose(text)  # type: ignore[no-any-return]


NOT_TEXT = frozenset({"review", "reviewed"})
"""Per-language fields that are not texts (the date a native speaker reviewed each language)."""


def _yaml_texts(source: str, rel: str) -> list[Text]:
    root = _compose(source)
    out: list[Text] = []
    if root is not None:
        _walk(root, (), rel, out, set())
    return out


def _walk(
    node: Node, path: tuple[str | int, ...], rel: str, out: list[Text], seen: set[int]
) -> None:
    if id(node) in seen:  # a YAML alias (*name) of a text already listed where it is defined
        return
    seen.add(id(node))
    if isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), rel, out, seen)
        return
    if not isinstance(node, MappingNode) or (path and path[-1] in NOT_TEXT):
        return
    pairs = [(k.value, v) for k, v in node.value if isinstance(k, ScalarNode)]
    keys = {k for k, _ in pairs}
    if (
        keys
        and keys <= set(LANGUAGES)
        and all(isinstance(v, ScalarNode) for _, v in pairs)
        and not all(v.style is None and _DATE.match(v.value) for _, v in pairs)
    ):
        # a text in every language, like a menu text or a button label
        text = Text(_id(rel, (*path, "*")), rel, _what(rel, path), "text")
        for lang, value in pairs:
            text.values[lang] = normalize(value.value)
            text.nodes[lang] = value
        for lang in LANGUAGES:
            text.parents[lang] = (node, lang)
        out.append(text)
        return
    blocks = {k: v for k, v in pairs if k in LANGUAGES and isinstance(v, MappingNode)}
    if blocks:  # an article: one block per language, each with the same fields
        fields: dict[str, Text] = {}
        for lang in LANGUAGES:
            block = blocks.get(lang)
            if block is None:
                continue
            for key, value in block.value:
                name = key.value
                if name not in fields:
                    kind: Kind = "keywords" if isinstance(value, SequenceNode) else "text"
                    fields[name] = Text(
                        _id(rel, (*path, "*", name)), rel, _what(rel, (*path, name)), kind
                    )
                entry = fields[name]
                if isinstance(value, SequenceNode):
                    entry.values[lang] = "\n".join(normalize(i.value) for i in value.value)
                elif isinstance(value, ScalarNode):
                    entry.values[lang] = normalize(value.value)
                else:
                    continue
                entry.nodes[lang] = value
        for entry in fields.values():
            name = entry.id.rsplit(".", 1)[-1]
            for lang, block in blocks.items():
                entry.parents[lang] = (block, name)
        out.extend(fields.values())
    for key, value in pairs:
        if key not in blocks:
            _walk(value, (*path, key), rel, out, seen)


def _id(rel: str, path: tuple[str | int, ...]) -> str:
    return f"{rel}:{'.'.join(str(p) for p in path)}"


def _what(rel: str, path: tuple[str | int, ...]) -> str:
    name = rel.split("/", 1)[-1].removesuffix(".yaml")
    kind = "article" if rel.startswith("knowledge/") and name != "hotlines" else name
    where = describe(path) if path else ""
    return f"{kind} {name}: {where}" if kind == "article" else f"{rel}: {where}"


def _po_texts(root: Path) -> list[Text]:
    from babel.messages.pofile import read_po

    texts: dict[str, Text] = {}
    for lang in LANGUAGES:
        po = root / "locales" / lang / "LC_MESSAGES" / "messages.po"
        if not po.exists():
            continue
        with po.open("rb") as fp:
            catalog = read_po(fp, locale=lang)
        for msg in catalog:
            if not msg.id:
                continue
            ids = msg.id if isinstance(msg.id, tuple) else (msg.id,)
            key = str(ids[0])
            text = texts.setdefault(
                key, Text(PO_ID + key, "locales", "interface (buttons and notices)", "po")
            )
            text.values["en"] = _plural_cell(ids)
            if lang != "en":
                strings = msg.string if isinstance(msg.string, tuple) else (msg.string,)
                if all(strings):
                    text.values[lang] = _plural_cell(strings)
                if msg.fuzzy:
                    text.fuzzy.add(lang)
    return list(texts.values())


def _plural_cell(forms: tuple[object, ...]) -> str:
    if len(forms) == 1:
        return normalize(forms[0])
    return "\n".join(f"[{i}] {normalize(f)}" for i, f in enumerate(forms))


def _plural_forms(cell: str) -> list[str]:
    parts = PLURAL.split(cell)
    if len(parts) < 3:
        return [cell]
    return [normalize(parts[i + 1]) for i in range(1, len(parts) - 1, 2)]


# ---------------------------------------------------------------- what translators did before


def load_status(root: Path) -> dict[str, dict[str, dict[str, Any]]]:
    path = root / STATUS_FILE
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return data if isinstance(data, dict) else {}


def write_status(root: Path, status: dict[str, dict[str, dict[str, Any]]]) -> None:
    head = (
        "# Written by `safar translations import`: for each translation, the fingerprint of the\n"
        "# source text it was made from, and whether a native speaker reviewed it. Do not edit.\n"
    )
    body = yaml.safe_dump(status, allow_unicode=True, sort_keys=True, width=99)
    (root / STATUS_FILE).write_text(head + body, encoding="utf-8")


def states(text: Text, source: str, records: dict[str, dict[str, Any]]) -> dict[str, State]:
    """The state of each translation of `text` (the source language has none), from what the
    last imports recorded for it (`records`: lang -> {source: fingerprint, reviewed: bool})."""
    src = digest(text.values.get(source, ""))
    out: dict[str, State] = {}
    for lang in LANGUAGES:
        if lang == source or (text.kind == "po" and lang == "en"):
            continue
        record = records.get(lang) or {}
        if not text.values.get(lang):
            out[lang] = "missing"
        elif lang in text.fuzzy or record.get("source", src) != src:
            out[lang] = "changed since translated"
        elif record.get("reviewed"):
            out[lang] = "reviewed"
        else:
            out[lang] = "to review"
    return out


def describe_states(by_lang: dict[str, State]) -> str:
    """'missing: tg; to review: ky, ru', or 'reviewed' when nothing is left to do."""
    order: tuple[State, ...] = ("missing", "changed since translated", "to review", "reviewed")
    groups = {s: [lang for lang, st in by_lang.items() if st == s] for s in order}
    if all(st == "reviewed" for st in by_lang.values()):
        return "reviewed"
    return "; ".join(f"{s}: {', '.join(langs)}" for s, langs in groups.items() if langs)


# ---------------------------------------------------------------- the spreadsheet

_COLUMNS = ("id", "what", "source")
_HASH = "fingerprint"


def _headers() -> list[str]:
    langs = [f"{LANGUAGE_NAMES[lang]} ({lang})" for lang in LANGUAGES]
    hashes = [f"{_HASH} {x}" for x in ("source", *LANGUAGES, "reviewed")]
    return [*_COLUMNS, *langs, "status", "reviewed", *hashes]


INSTRUCTIONS = """\
How to translate Safar in this spreadsheet

1. Work in the sheet "Texts". One row is one text; each language has its own column.
2. The column "source" says which language the text was written in: translate from that one.
3. "status" says what is left to do in each language:
   - missing: there is no translation yet: write it;
   - changed since translated: the source text changed after it was translated: update it;
   - to review: translated, but no native speaker has confirmed it yet;
   - reviewed: a native speaker confirmed it.
4. After a native speaker has reviewed a row in your language, write its code (ky, ru, tg or
   en) in the column "reviewed"; several codes are separated by spaces. Changing a reviewed
   text makes it "to review" again, unless you also write in "reviewed".
5. Keep {hotline}, {hotline_phone} and %(name)s exactly as they are: the bot fills them in.
6. Keywords: one keyword or phrase per line, as people really type it.
7. Lines starting with [0], [1], [2] are the forms of a text that counts ("1 part", "2 parts",
   "5 parts"): keep one line per form.
8. Do not change the columns "id" and "what", and do not delete the hidden columns.
   You may sort and filter rows.
9. Send the file back to the staff, who run: safar translations import FILE.xlsx
"""


def export(root: Path, out: Path, source: str = "en") -> int:
    """Write every translatable text under `root` to the spreadsheet `out`; returns the rows."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    fills = {
        "missing": PatternFill("solid", fgColor="F8D7DA"),
        "changed since translated": PatternFill("solid", fgColor="FFE8B3"),
        "reviewed": PatternFill("solid", fgColor="D4EDDA"),
    }
    status = load_status(root)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = SHEET
    headers = _headers()
    sheet.append(headers)
    wrap = Alignment(wrap_text=True, vertical="top")
    texts = collect(root)
    for text in texts:
        src = "en" if text.kind == "po" else source
        record = status.get(text.id, {})
        by_lang = states(text, src, record)
        reviewed = [lang for lang, st in by_lang.items() if st == "reviewed"]
        row = [
            text.id,
            text.what,
            src,
            *(text.values.get(lang, "") for lang in LANGUAGES),
            describe_states(by_lang),
            " ".join(reviewed),
            digest(text.values.get(src, "")),
            *(digest(text.values.get(lang, "")) for lang in LANGUAGES),
            digest(" ".join(reviewed)),
        ]
        sheet.append(row)
        r = sheet.max_row
        for cell in sheet[r]:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # a text, not a formula
        for c in range(1, len(_COLUMNS) + len(LANGUAGES) + 3):
            sheet.cell(r, c).alignment = wrap
        for i, lang in enumerate(LANGUAGES):
            fill = fills.get(by_lang.get(lang, ""))
            if fill is not None:
                sheet.cell(r, len(_COLUMNS) + 1 + i).fill = fill
    for c in range(1, len(headers) + 1):
        sheet.cell(1, c).font = Font(bold=True)
    widths = [30, 28, 8, *(55 for _ in LANGUAGES), 30, 10]
    for c, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(c)].width = width
    for c in range(len(widths) + 1, len(headers) + 1):
        sheet.column_dimensions[get_column_letter(c)].hidden = True
    sheet.freeze_panes = "D2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(widths))}{sheet.max_row}"
    help_sheet = book.create_sheet(HELP_SHEET, 0)
    for line in INSTRUCTIONS.splitlines():
        help_sheet.append([line])
    help_sheet.column_dimensions["A"].width = 100
    help_sheet["A1"].font = Font(bold=True, size=14)
    book.active = 1
    book.save(out)
    return len(texts)


@dataclass(frozen=True)
class Change:
    text: Text
    lang: str
    value: str


@dataclass
class Plan:
    """What an import will write, and what it refused (cell by cell)."""

    changes: list[Change] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    status: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    status_changed: bool = False


def read_sheet(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number, {header: cell text}) for every row of the Texts sheet."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    if SHEET not in book.sheetnames:
        raise SheetError(f"{path}: there is no sheet '{SHEET}': is this a Safar export?")
    rows = book[SHEET].iter_rows(values_only=True)
    header = [str(h or "") for h in next(rows, ())]
    missing = [h for h in _headers() if h not in header]
    if missing:
        raise SheetError(f"{path}: the columns {', '.join(missing)} are missing: export again")
    for n, row in enumerate(rows, start=2):
        cells = {h: "" if v is None else str(v) for h, v in zip(header, row, strict=False)}
        if cells.get("id"):
            yield n, cells
    book.close()


def plan(root: Path, sheet: Path) -> Plan:
    """Compare the spreadsheet with the files: a cell counts as edited only when it differs from
    what was exported (the hidden fingerprints), so files edited meanwhile are never undone."""
    texts = {t.id: t for t in collect(root)}
    result = Plan(status=load_status(root))
    letters = {lang: _column_letter(len(_COLUMNS) + 1 + i) for i, lang in enumerate(LANGUAGES)}
    for n, cells in read_sheet(sheet):
        tid = cells["id"]
        text = texts.get(tid)
        if text is None:
            result.problems.append(
                f"{SHEET}!A{n}: '{tid}' is no longer in the content (removed or renamed since "
                "the export): export again and copy the translation over"
            )
            continue
        source = cells.get("source") or "en"
        src_hash = cells.get(f"{_HASH} source", "")
        changed: set[str] = set()
        for i, lang in enumerate(LANGUAGES):
            cell = normalize(cells.get(_headers()[len(_COLUMNS) + i]))
            if text.kind == "keywords":
                cell = "\n".join(w.strip() for w in cell.split("\n") if w.strip())
            exported = cells.get(f"{_HASH} {lang}", "")
            if digest(cell) == exported:
                continue
            where = f"{SHEET}!{letters[lang]}{n}"
            if text.kind == "po" and lang == "en":
                result.problems.append(
                    f"{where}: the English of an interface string comes from the code, so this "
                    "change was not imported: ask a developer to change it in bot/"
                )
                continue
            now = digest(text.values.get(lang, ""))
            if now == digest(cell):
                continue  # already in the file: this sheet was imported before
            imported = (result.status.get(tid, {}).get(lang) or {}).get("imported")
            if now not in (exported, imported):
                result.problems.append(
                    f"{where}: {text.id} ({lang}) was also changed in the files since the "
                    "export, so it was not overwritten: export again and redo this cell"
                )
                continue
            if not cell and text.values.get(lang):
                result.problems.append(
                    f"{where}: {text.id} ({lang}) is empty: a text cannot be deleted from the "
                    "spreadsheet; write it again"
                )
                continue
            if lang not in text.nodes and text.kind != "po" and lang not in text.parents:
                result.problems.append(
                    f"{where}: {text.file} has no '{lang}' block to put this in: add it in the "
                    "file first"
                )
                continue
            result.changes.append(Change(text, lang, cell))
            changed.add(lang)
            record = result.status.setdefault(tid, {})
            # what this import wrote, so a corrected copy of the same sheet can be imported again
            record[lang] = {"imported": digest(cell)}
            if lang != source:
                record[lang]["source"] = src_hash
            result.status_changed = True
        _plan_reviews(result, text, cells, source, src_hash, changed)
    return result


def _plan_reviews(
    result: Plan,
    text: Text,
    cells: dict[str, str],
    source: str,
    src_hash: str,
    changed: set[str],
) -> None:
    """Record the languages marked in the `reviewed` column. A translation changed in this
    import is reviewed only if the `reviewed` cell was edited too: a review covers the text the
    reviewer read, not a later correction."""
    reviewed = cells.get("reviewed", "")
    marked = set(re.findall(r"[a-z]{2}", reviewed.lower())) & set(LANGUAGES)
    if digest(reviewed) == cells.get(f"{_HASH} reviewed"):
        marked -= changed
    record = result.status.setdefault(text.id, {})
    for lang in LANGUAGES:
        if lang == source or (text.kind == "po" and lang == "en"):
            continue
        entry = record.get(lang)
        was = bool(entry and entry.get("reviewed") and entry.get("source") == src_hash)
        if (lang in marked) == was:
            continue
        entry = record.setdefault(lang, {"source": src_hash})
        if lang in marked:
            entry["reviewed"] = True
            entry["source"] = src_hash
        else:
            entry.pop("reviewed", None)
        result.status_changed = True
    if not record:
        result.status.pop(text.id)


def _column_letter(n: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(n)


def apply(root: Path, result: Plan) -> list[str]:
    """Write the planned changes; returns 'file: text (lang)' for each text written."""
    by_file: dict[str, list[Change]] = {}
    for change in result.changes:
        by_file.setdefault(change.text.file, []).append(change)
    written: list[str] = []
    outputs: dict[Path, bytes] = {}  # every file is prepared before any is written
    for file, changes in by_file.items():
        if file == "locales":
            outputs.update(_po_outputs(root, changes))
        else:
            path = root / file
            original = path.read_text(encoding="utf-8")
            # re-read from the file on disk: the spans must match the text being edited
            current = {t.id: t for t in _yaml_texts(original, file)}
            edits = [(current[c.text.id], c.lang, c.value) for c in changes]
            outputs[path] = edit_yaml(original, edits).encode("utf-8")
        written += [f"{c.text.id} ({c.lang})" for c in changes]
    for path, data in outputs.items():
        path.write_bytes(data)
    if result.status_changed:
        write_status(root, {k: v for k, v in result.status.items() if v})
    return written


def import_(root: Path, sheet: Path) -> tuple[list[str], list[str]]:
    """Plan and apply an import: (texts written, cells refused)."""
    result = plan(root, sheet)
    return apply(root, result), result.problems


# ---------------------------------------------------------------- writing YAML, value by value


def edit_yaml(source: str, edits: list[tuple[Text, str, str]]) -> str:
    """`source` with each (text, lang, new value) written in place, in the value's own style;
    every other byte is kept. Fails rather than write a file that reads back differently."""
    spans: list[tuple[int, int, str]] = []
    for text, lang, value in edits:
        node = text.nodes.get(lang)
        if node is None:
            spans.append(_insertion(source, text, lang, value))
        elif isinstance(node, SequenceNode):
            spans.append(_sequence(source, node, value))
        else:
            assert isinstance(node, ScalarNode)
            spans.append(
                (node.start_mark.index, node.end_mark.index, _scalar(source, node, value))
            )
    out = source
    for start, end, new in sorted(spans, reverse=True):
        out = out[:start] + new + out[end:]
    after = {t.id: t for t in _yaml_texts(out, edits[0][0].file)} if edits else {}
    for text, lang, value in edits:
        got = after.get(text.id)
        if got is None or got.values.get(lang) != normalize(value):
            raise SheetError(f"{text.id} ({lang}): could not be written safely; edit it by hand")
    return out


def _flow_context(source: str, node: Node) -> bool:
    """Whether `node` sits inside [...] or {...}, where commas and brackets end a plain text."""
    before = source[: node.start_mark.index]
    line = before[before.rfind("\n") + 1 :]
    return line.count("{") + line.count("[") > line.count("}") + line.count("]")


def _plain_ok(value: str, flow: bool) -> bool:
    if not value or value != value.strip() or "\n" in value:
        return False
    if value[0] in "-?:,[]{}#&*!|>'\"%@`" or ": " in value or " #" in value or value[-1] == ":":
        return False
    if flow and any(c in value for c in ",[]{}"):
        return False
    try:
        return bool(yaml.safe_load(value) == value)
    except yaml.YAMLError:
        return False


def _quoted(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # JSON strings are YAML double-quoted strings


def _scalar(source: str, node: ScalarNode, value: str) -> str:
    style = node.style
    if style == "'":
        return "'" + value.replace("'", "''") + "'" if "\n" not in value else _quoted(value)
    if style in ("|", ">"):
        orig = source[node.start_mark.index : node.end_mark.index]
        header = orig.split("\n", 1)[0]
        rest = orig[len(header) + 1 :]
        first = next((line for line in rest.split("\n") if line.strip()), "")
        indent = " " * (len(first) - len(first.lstrip(" ")))
        tail = orig[len(orig.rstrip()) :] if orig.strip() != header.strip() else "\n"
        lines = value.split("\n")
        if any(line[:1].isspace() for line in lines):
            if lines[0][:1].isspace():
                return _quoted(value)
            style, header = "|", "|" + header[1:]
        if style == ">":
            value = re.sub(r"\n+", lambda m: "\n" * (len(m.group()) + 1), value)
            lines = value.split("\n")
        body = "\n".join(indent + line if line else "" for line in lines)
        return f"{header}\n{body}{tail}"
    if style is None and _plain_ok(value, _flow_context(source, node)):
        return value
    return _quoted(value)


def _sequence(source: str, node: SequenceNode, value: str) -> tuple[int, int, str]:
    items = [line.strip() for line in value.split("\n") if line.strip()]
    style = node.value[0].style if node.value else '"'
    start, end = node.start_mark.index, node.end_mark.index

    def item(word: str, flow: bool) -> str:
        if style == "'" and "'" not in word:
            return f"'{word}'"
        if style is None and _plain_ok(word, flow):
            return word
        return _quoted(word)

    if node.flow_style:
        return start, end, "[" + ", ".join(item(w, True) for w in items) + "]"
    orig = source[start:end]
    tail = orig[len(orig.rstrip()) :]
    column = start - (source.rfind("\n", 0, start) + 1)
    sep = "\n" + " " * column
    return start, end, sep.join(f"- {item(w, False)}" for w in items) + tail


def _insertion(source: str, text: Text, lang: str, value: str) -> tuple[int, int, str]:
    """Add a missing language (or an article block's missing field) at the end of its mapping."""
    mapping, key = text.parents[lang]
    rendered = (
        "[" + ", ".join(_quoted(w) for w in value.split("\n") if w.strip()) + "]"
        if text.kind == "keywords"
        else _quoted(value)
    )
    if mapping.flow_style:
        close = source.rfind("}", mapping.start_mark.index, mapping.end_mark.index)
        sep = ", " if mapping.value else ""
        return close, close, f"{sep}{key}: {rendered}"
    first_key = mapping.value[0][0]
    indent = " " * first_key.start_mark.column
    pos = mapping.value[-1][1].end_mark.index
    if source[pos - 1 : pos] == "\n":
        return pos, pos, f"{indent}{key}: {rendered}\n"
    eol = source.find("\n", pos)
    eol = len(source) if eol < 0 else eol
    return eol, eol, f"\n{indent}{key}: {rendered}"


# ---------------------------------------------------------------- writing PO catalogs


def _po_outputs(root: Path, changes: list[Change]) -> dict[Path, bytes]:
    """Each changed msgstr rewritten in place, in babel's own line format, and its fuzzy flag
    dropped; every other line of the catalog stays as it was."""
    from babel.messages.pofile import read_po

    outputs: dict[Path, bytes] = {}
    for lang in sorted({c.lang for c in changes}):
        po = root / "locales" / lang / "LC_MESSAGES" / "messages.po"
        raw = po.read_bytes()
        catalog = read_po(io.BytesIO(raw), locale=lang)
        lines = raw.decode("utf-8").split("\n")
        edits: list[tuple[int, list[str]]] = []
        for change in (c for c in changes if c.lang == lang):
            msgid = change.text.id.removeprefix(PO_ID)
            msg = next(
                (m for m in catalog if (m.id[0] if isinstance(m.id, tuple) else m.id) == msgid),
                None,
            )
            if msg is None or not msg.lineno:
                raise SheetError(f"{change.text.id}: not in the {lang} catalog: run make locales")
            if isinstance(msg.id, tuple):
                forms = _plural_forms(change.value)
                wanted = catalog.num_plurals
                if len(forms) != wanted:
                    raise SheetError(
                        f"{change.text.id} ({lang}): needs {wanted} forms, one per line starting "
                        f"[0] to [{wanted - 1}]; got {len(forms)}"
                    )
                strings = [_po_string(f"msgstr[{i}]", f) for i, f in enumerate(forms)]
            else:
                strings = [_po_string("msgstr", change.value)]
            edits.append((msg.lineno, [line for s in strings for line in s]))
        for lineno, new in sorted(edits, reverse=True):
            _replace_msgstr(lines, lineno - 1, new)
        outputs[po] = "\n".join(lines).encode("utf-8")
    return outputs


def _po_string(keyword: str, value: str) -> list[str]:
    from babel.messages.pofile import normalize as po_normalize

    return f"{keyword} {po_normalize(value, prefix='', width=99)}".split("\n")


def _replace_msgstr(lines: list[str], msgid_at: int, new: list[str]) -> None:
    """Swap the msgstr lines of the entry whose msgid is on line `msgid_at` (0-based) for `new`,
    and take 'fuzzy' out of its flags: a translator has now written it."""
    k = msgid_at + 1
    while k < len(lines) and (lines[k].startswith('"') or lines[k].startswith("msgid_plural")):
        k += 1
    start = k
    while k < len(lines) and (lines[k].startswith("msgstr") or lines[k].startswith('"')):
        k += 1
    lines[start:k] = new
    j = msgid_at - 1
    while j >= 0 and lines[j].startswith("#"):
        if lines[j].startswith("#,"):
            flags = [f.strip() for f in lines[j][2:].split(",")]
            kept = [f for f in flags if f and f != "fuzzy"]
            if kept != flags:
                if kept:
                    lines[j] = "#, " + ", ".join(kept)
                else:
                    del lines[j]
            break
        j -= 1
