"""YAML loading that remembers the line of every key, so errors can point at it.

PyYAML silently keeps the last of two equal keys; staff copy-pasting a node would then lose one
without a word, so duplicates are reported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

try:
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - pure-Python PyYAML
    _Loader = yaml.SafeLoader

Key = tuple[str | int, ...]


@dataclass
class YamlDoc:
    data: Any
    lines: dict[Key, int] = field(default_factory=dict)
    duplicates: list[tuple[Key, int, int]] = field(default_factory=list)

    def line(self, path: Key) -> int:
        """The line of `path`, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return 1


class YamlSyntaxError(Exception):
    def __init__(self, line: int, message: str) -> None:
        self.line = line
        super().__init__(message)


def load_yaml(path: Path) -> YamlDoc:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise YamlSyntaxError(
            1, f"the file is not UTF-8 text ({exc.reason}): save it as UTF-8"
        ) from None
    return parse_yaml(text)


def parse_yaml(text: str) -> YamlDoc:
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = exc.problem or "invalid YAML"
        hint = _syntax_hint(problem)
        raise YamlSyntaxError(line, f"YAML syntax error: {problem}{hint}") from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(1, f"YAML syntax error: {exc}") from None
    doc = YamlDoc(data=data)
    if node is not None:
        _walk(node, (), doc)
    return doc


def _syntax_hint(problem: str) -> str:
    if "mapping values are not allowed" in problem:
        return " (a text containing ': ' must be put in quotes, or written as a block with '|')"
    if "found character '\\t'" in problem:
        return " (use spaces, not tabs, to indent)"
    if "could not find expected ':'" in problem:
        return " (each line needs 'key: value'; check the indentation and closing quotes)"
    if "did not find expected key" in problem or "expected <block end>" in problem:
        return " (check the indentation of this line against the lines above it)"
    return ""


def _walk(node: yaml.Node, path: Key, doc: YamlDoc) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                doc.duplicates.append(((*path, key), seen[key], line))
            seen[key] = line
            doc.lines[(*path, key)] = line
            _walk(value_node, (*path, key), doc)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            doc.lines[(*path, i)] = item.start_mark.line + 1
            _walk(item, (*path, i), doc)
