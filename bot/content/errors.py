"""Turn pydantic's validation errors into sentences a non-programmer can act on."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from bot import LANGUAGE_NAMES
from bot.content.problems import Problem, did_you_mean
from bot.content.yamlfile import Key, YamlDoc


def describe(loc: Key) -> str:
    """('nodes', 'main', 'options', 1, 'goto') -> "nodes > main > option 2 > goto"."""
    parts: list[str] = []
    for i, part in enumerate(loc):
        if isinstance(part, int):
            parent = str(loc[i - 1]) if i else ""
            parts.append(f"{parent.rstrip('s') or 'item'} {part + 1}")
            if parts[:-1] and parts[-2] == parent:
                parts.pop(-2)
        else:
            parts.append(str(part))
    return " > ".join(parts)


def pydantic_problems(
    exc: ValidationError, doc: YamlDoc, path: str, model: type[BaseModel]
) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc: Key = tuple(err["loc"])
        if len(loc) > 2 and loc[0] == "nodes" and loc[2] in _NODE_TYPES:
            loc = loc[:2] + loc[3:]  # pydantic adds the union tag; staff never wrote it
        problems.append(Problem(path, doc.line(loc), _message(err, loc, doc.data, model)))
    return sorted(set(problems))


def _message(err: Any, loc: Key, data: object, model: type[BaseModel]) -> str:
    kind = err["type"]
    where = describe(loc[:-1]) if loc else ""
    field = str(loc[-1]) if loc else ""
    prefix = f"{where}: " if where else ""
    if kind == "missing":
        if field in LANGUAGE_NAMES:
            return (
                f"{prefix}the {LANGUAGE_NAMES[field]} text is missing: add a line "
                f"'{field}: ...' with the text in that language"
            )
        return f"{prefix}'{field}' is missing: add it"
    if kind == "extra_forbidden":
        node_type = _get(data, (*loc[:-1], "type"))
        allowed = _allowed_fields(model, loc[:-1], node_type)
        hint = did_you_mean(field, allowed) if allowed else ""
        has = f"a {node_type} node has" if isinstance(node_type, str) else "allowed"
        return f"{prefix}unknown field '{field}'{hint}: remove it or fix its name" + (
            f" ({has}: {', '.join(sorted(allowed))})" if allowed and not hint else ""
        )
    if kind == "union_tag_invalid":
        tag = err.get("ctx", {}).get("tag", "?")
        return (
            f"{describe(loc)}: type '{tag}' is not known{did_you_mean(str(tag), _NODE_TYPES)}: "
            "use menu, answer or handoff"
        )
    if kind == "union_tag_not_found":
        return f"{describe(loc)}: 'type' is missing: add 'type: menu', 'answer' or 'handoff'"
    if kind == "too_long" and field == "options":
        n = len(_get(data, loc) or [])
        return (
            f"{describe(loc)}: a menu can have at most 9 options (has {n}), one digit each "
            "on SMS: move some into a submenu"
        )
    if kind in ("too_short", "string_too_short"):
        return f"{describe(loc)}: must not be empty: write the text or remove the line"
    if kind == "string_too_long":
        limit = err.get("ctx", {}).get("max_length")
        return f"{describe(loc)}: too long (at most {limit} characters): shorten it"
    if kind in ("date_from_datetime_parsing", "date_parsing", "date_type"):
        return f"{describe(loc)}: must be a date like 2026-11-23"
    if kind == "string_type":
        return f"{describe(loc)}: must be text; put it in quotes if it looks like a number"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"{describe(loc)}: must be a group of 'key: value' lines (check the indentation)"
    if kind == "list_type":
        return f"{describe(loc)}: must be a list: one '- item' per line, or [a, b]"
    if kind == "string_pattern_mismatch":
        return (
            f"{describe(loc)}: '{err.get('input')}' does not look right ({_pattern_hint(field)})"
        )
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return f"{describe(loc)}: '{err.get('input')}' is not allowed: use one of {expected}"
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"{describe(loc)}: {msg}" if loc else msg


_NODE_TYPES = ("menu", "answer", "handoff")


def _pattern_hint(field: str) -> str:
    return {
        "url": "a web address starting with https://",
        "phone": "a phone number like +992 918 85 34 34",
    }.get(field, "check the format")


def _get(data: object, loc: Key) -> Any:
    for part in loc:
        try:
            data = data[part]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _allowed_fields(model: type[BaseModel], loc: Key, node_type: object = None) -> list[str]:
    """The field names valid at `loc`, by walking the model's annotations; at a node, only the
    fields of its own type (a menu's, not every node type's)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or current is None:
            current = _inner(current)
            continue
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields.get(str(part))
            current = _inner(info.annotation) if info else None
        else:
            current = _inner(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    union = [
        m
        for m in getattr(current, "__args__", ())
        if isinstance(m, type) and issubclass(m, BaseModel)
    ]
    typed = [m for m in union if node_type in getattr(_field_type(m), "__args__", ())]
    names: set[str] = set()
    for member in typed or union:
        names |= set(member.model_fields)
    return sorted(names)


def _field_type(model: type[BaseModel]) -> Any:
    info = model.model_fields.get("type")
    return info.annotation if info else None


def _inner(annotation: Any) -> Any:
    """list[X] -> X, dict[K, V] -> V, X | None -> X; leaves a model or union alone."""
    args = getattr(annotation, "__args__", None)
    origin = getattr(annotation, "__origin__", None)
    if origin in (list, dict) and args:
        return _inner(args[-1])
    if origin is not None and args and getattr(origin, "__name__", "") == "Annotated":
        return _inner(args[0])
    if args and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return _inner(rest[0]) if len(rest) == 1 else annotation
    meta = getattr(annotation, "__metadata__", None)
    if meta is not None:
        return _inner(annotation.__origin__)
    return annotation
