"""Danger first: recognise a person in an urgent situation, or asking for a person, from data.

People in danger rarely use the words of an article title: "кожоюн паспортумду бербей жатат",
"nas zaperli", "шавҳарам маро мезанад". Ordinary search ranks such a message among 20 articles and
may pick a near one (children and school for violence at home). So before it, every message is
compared with short danger phrases that staff keep in knowledge/urgent.yaml (the file explains
the phrase syntax). A phrase matches when all its words occur within a window of the message, in
any order, each word in any of its forms: the message is folded with the search's own folding
(bot/search/fold.py), so Cyrillic, Latin, keyboard-plain and capitals meet without listing each
spelling, and a word matches its longer forms by its beginning.

Matching is a few dictionary look-ups per word of the message, remembered per word, so it costs
microseconds: it runs on every message, before everything else.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from rapidfuzz.distance import OSA

from bot import LANGUAGE_NAMES, LANGUAGES
from bot.search.fold import Folder, default_folder, squeeze

MAX_CHARS = 2000
"""A message longer than this is read only this far: a danger is told in the first lines, and a
10 MB paste must cost no more than a long message."""
CACHE = 50_000
"""Message words whose matches are remembered; a full table starts over."""
SHORT = 3
"""Words of up to this many letters match only themselves, or with one letter more."""
CORE = 6
"""Words from this many letters may also differ in their last letter (забрали / забрал)."""
FUZZY = 7
"""Words from this many letters also match a message word with one slip (a swapped, missing,
extra or wrong letter) before their last two letters: паспрот, корфрамо, emplyer."""
WINDOW = 10
UNLESS_WINDOW = 3
PERSON = "person"
CLAUSE = re.compile(r"[,.;:!?()\n]+")

Kind = Literal["short", "prefix", "core", "exact"]
Key = tuple[str | int, ...]
"""Where in the file a problem is: ("categories", "violence", "tg", 2)."""


@dataclass(frozen=True)
class Urgent:
    """What the detector found: the danger, the article to answer with, and why."""

    category: str
    article: str
    phrase: str
    """The phrase of knowledge/urgent.yaml that matched, as staff wrote it."""
    lang: str
    """The language block of that phrase: a hint of the language the person writes in."""


@dataclass(frozen=True)
class Category:
    """One danger (or `person`) as read from the file: phrases per language, and exceptions."""

    name: str
    article: str
    phrases: Mapping[str, Sequence[str]]
    unless: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Word:
    kind: Kind
    key: str
    """What a message word must begin with (or be, for short and exact words)."""
    full: str = ""
    """The whole word as written, for words long enough to be matched with a typo."""


@dataclass(frozen=True)
class _Phrase:
    group: int
    """The category's index; -1 for the category's `unless` phrases (see `veto`)."""
    slots: tuple[frozenset[int], ...]
    text: str
    lang: str
    veto: int = -1
    """For an unless phrase: the index of the category it cancels."""


def _parse_phrase(text: str, folder: Folder) -> tuple[list[list[_Word]], str | None]:
    """The word slots of a phrase, or why it cannot be used (a message for staff)."""
    slots: list[list[_Word]] = []
    for part in text.split():
        words: list[_Word] = []
        for raw in part.split("/"):
            kind: Kind = "prefix"
            star = raw.endswith("*")
            exact = raw.startswith("=")
            if star and exact:
                return [], f"'{raw}': use either =word (only that word) or word* (any ending)"
            body = raw.strip("*=")
            keys = folder.keys(body)
            if not body or not keys:
                return [], f"'{part}' has an empty or unreadable word: write letters between '/'"
            if len(keys) > 1:
                return [], (
                    f"'{raw}' is read as {len(keys)} words ({' '.join(keys)}): write one word "
                    "per place, or separate the words with spaces"
                )
            key = squeeze(keys[0])
            if exact:
                kind = "exact"
            elif star:
                kind = "prefix"
            elif len(key) <= SHORT:
                kind = "short"
            elif len(key) >= CORE:
                words.append(_Word("core", key[:-1], key if len(key) >= FUZZY else ""))
                continue
            words.append(_Word(kind, key))
        slots.append(words)
    if not slots:
        return [], "the phrase has no words: write the words, or remove the line"
    return slots, None


class _Matcher:
    """Phrases compiled into look-up tables from the beginnings of message words."""

    def __init__(self, folder: Folder) -> None:
        self.folder = folder
        self.phrases: list[_Phrase] = []
        self._ids: dict[_Word, int] = {}
        self._users: list[list[tuple[int, int]]] = []
        """word id -> (phrase, slot) pairs that contain it."""
        self._exact: dict[str, list[int]] = defaultdict(list)
        self._short: dict[str, list[int]] = defaultdict(list)
        self._prefix: dict[str, list[int]] = defaultdict(list)
        self._fuzzy: dict[str, list[tuple[int, str]]] = defaultdict(list)
        """The first two letters of long words -> (word id, the word). A slip in the first two
        letters is rare, and checking every word would cost a hundred times more."""
        self._longest = 0
        self._beginnings: set[str] = set()
        """Every beginning of a prefix word: a message word stops being looked up as soon as
        its beginning is none of them."""
        self._cache: dict[str, tuple[tuple[int, bool], ...]] = {}
        self.siblings: tuple[_Matcher, ...] = ()
        """Matchers of the same file: a word one of them knows is not a typo of another's."""

    def add(self, phrase: str, lang: str, group: int, veto: int = -1) -> str | None:
        slots, problem = _parse_phrase(phrase, self.folder)
        if problem is not None:
            return problem
        pid = len(self.phrases)
        ids = []
        for s, words in enumerate(slots):
            slot = set()
            for word in words:
                wid = self._word(word)
                self._users[wid].append((pid, s))
                slot.add(wid)
            ids.append(frozenset(slot))
        self.phrases.append(_Phrase(group, tuple(ids), phrase, lang, veto))
        return None

    def _word(self, word: _Word) -> int:
        wid = self._ids.get(word)
        if wid is not None:
            return wid
        wid = self._ids[word] = len(self._users)
        self._users.append([])
        if word.kind == "exact":
            self._exact[word.key].append(wid)
        elif word.kind == "short":
            self._short[word.key].append(wid)
        else:
            self._prefix[word.key].append(wid)
            self._longest = max(self._longest, len(word.key))
            self._beginnings.update(word.key[:n] for n in range(2, len(word.key) + 1))
        return wid

    def finish(self) -> None:
        """Index the long words for typos, once every phrase is in."""
        for word, wid in self._ids.items():
            full = word.full  # set for long plain words only: staff chose a word* on purpose
            if not full:
                continue
            self._fuzzy[full[:2]].append((wid, full))

    def words(self, token: str) -> tuple[tuple[int, bool], ...]:
        """The ids of the phrase words `token` is a form of, each with whether only by a typo."""
        found = self._cache.get(token)
        if found is not None:
            return found
        keys = self.folder.variants(token)
        out = dict.fromkeys(self.forms(keys), False)
        if not any(matcher.knows(keys) for matcher in (self, *self.siblings)):
            for key in keys:
                self._typos(key, out)
        found = tuple(out.items())
        if len(self._cache) >= CACHE:
            self._cache.clear()
        self._cache[token] = found
        return found

    def forms(self, keys: Iterable[str]) -> set[int]:
        """The ids of the phrase words a message word (its `keys`) is a form of, typos aside."""
        out: set[int] = set()
        for key in keys:
            out.update(self._exact.get(key, ()))
            out.update(self._short.get(key, ()))
            out.update(self._short.get(key[:-1], ()))
            for n in range(2, min(len(key), self._longest) + 1):
                part = key[:n]
                if part not in self._beginnings:
                    break
                out.update(self._prefix.get(part, ()))
        return out

    def knows(self, keys: Iterable[str]) -> bool:
        """Whether a message word is one of the file's words itself, with at most one more
        letter (a word staff wrote is not a typo of another: корфармо is not корманд)."""
        for key in keys:
            if key in self._exact or key in self._short or key[:-1] in self._short:
                return True
            if key in self._prefix or key[:-1] in self._prefix:
                return True
        return False

    def _typos(self, key: str, out: dict[int, bool]) -> None:
        """Long phrase words that the beginning of `key` is one slip away from. The slip must
        come before their last two letters, where endings are: a different ending is another
        word (забрать is not забрали, балдары is not балдарды), and a word that stops short is
        another form (потерял is not потерялся)."""
        for wid, full in self._fuzzy.get(key[:2], ()):
            if wid in out or key.startswith(full[:-2]):
                continue
            for n in (len(full) - 1, len(full), len(full) + 1):
                part = key[:n]
                if (
                    len(part) == n
                    and part[-1] == full[-1]
                    and OSA.distance(full, part, score_cutoff=1) <= 1
                ):
                    out[wid] = True
                    break

    def matches(
        self, tokens: Sequence[str], clauses: Sequence[int], window: int, unless_window: int
    ) -> list[tuple[_Phrase, frozenset[int]]]:
        """Every phrase whose words all occur within `window` words, with the positions used;
        minus those an `unless` phrase overlaps. An unless phrase must lie within one clause
        (`clauses`: each word's clause number): "сын пропал, паспорт у меня" is not "пропал
        паспорт"."""
        hits: dict[int, list[tuple[int, int, bool]]] = defaultdict(list)
        cover: dict[int, int] = defaultdict(int)
        for pos, token in enumerate(tokens):
            for wid, typo in self.words(token):
                for pid, slot in self._users[wid]:
                    hits[pid].append((pos, slot, typo))  # in word order
                    cover[pid] |= 1 << slot
        found: list[tuple[_Phrase, frozenset[int]]] = []
        vetoes: dict[int, list[frozenset[int]]] = defaultdict(list)
        for pid, events in hits.items():
            phrase = self.phrases[pid]
            slots = len(phrase.slots)
            if cover[pid] != (1 << slots) - 1:
                continue
            if phrase.veto >= 0:
                by_clause: dict[int, list[tuple[int, int, bool]]] = defaultdict(list)
                for event in events:
                    by_clause[clauses[event[0]]].append(event)
                for part in by_clause.values():
                    where = _window(part, slots, unless_window)
                    if where is not None:
                        vetoes[phrase.veto].append(where)
                continue
            where = _window(events, slots, window)
            if where is not None:
                found.append((phrase, where))
        return [
            (phrase, where)
            for phrase, where in found
            if not any(_overlap(where, veto) for veto in vetoes.get(phrase.group, ()))
        ]


def _overlap(a: frozenset[int], b: frozenset[int]) -> bool:
    """Whether two matches overlap: a word of one lies between the first and last of the other."""
    return min(a) <= max(b) and min(b) <= max(a)


def _window(events: list[tuple[int, int, bool]], slots: int, size: int) -> frozenset[int] | None:
    """The positions of the tightest run of at most `size` words that holds every slot, or
    None. Typos may stand for some words of a phrase, never for all of them. `events` are
    (position, slot, typo) in the order of the words."""
    if slots == 1:
        return next((frozenset((pos,)) for pos, _, typo in events if not typo), None)
    best: tuple[int, frozenset[int]] | None = None
    for start in range(len(events)):
        chosen: dict[int, tuple[int, bool]] = {}
        first = events[start][0]
        for pos, slot, typo in events[start:]:
            if pos - first >= size:
                break
            if slot not in chosen or (chosen[slot][1] and not typo):
                chosen[slot] = (pos, typo)
            if len(chosen) == slots and not any(t for _, t in chosen.values()):
                break
        if len(chosen) < slots:
            continue
        if all(t for _, t in chosen.values()):
            continue
        where = frozenset(p for p, _ in chosen.values())
        span = max(where) - min(where)
        if best is None or span < best[0]:
            best = (span, where)
            if span == slots - 1:
                break  # the words side by side: none can be tighter
    return None if best is None else best[1]


class UrgentDetector:
    """Finds an urgent situation, or a request for a person, in a message; built from data."""

    def __init__(
        self,
        categories: Sequence[Category] = (),
        person: Category | None = None,
        window: int = WINDOW,
        unless_window: int = UNLESS_WINDOW,
        digits: Mapping[str, str] | None = None,
        folder: Folder | None = None,
    ) -> None:
        self.folder = folder or default_folder()
        self.categories = tuple(categories)
        self.window, self.unless_window = window, unless_window
        self._digits = dict(digits or {})
        self._digit_pattern = (
            re.compile(
                rf"(?<=[^\W\d_])[{''.join(map(re.escape, self._digits))}]"
                rf"|[{''.join(map(re.escape, self._digits))}](?=[^\W\d_])"
            )
            if self._digits
            else None
        )
        self.problems: list[tuple[Key, str]] = []
        """Phrases that could not be read, as (where in the file, message): the loader
        reports them with their line."""
        self._danger = self._compile(self.categories, "categories")
        self._person = self._compile((person,) if person else (), PERSON)
        self._danger.siblings, self._person.siblings = (self._person,), (self._danger,)

    @classmethod
    def empty(cls) -> UrgentDetector:
        """Detects nothing: for content without knowledge/urgent.yaml."""
        return cls()

    def _compile(self, categories: Iterable[Category], where: str) -> _Matcher:
        matcher = _Matcher(self.folder)
        for i, cat in enumerate(categories):
            base: Key = (where, cat.name) if where != PERSON else (PERSON,)
            for lang, phrases in cat.phrases.items():
                for j, phrase in enumerate(phrases):
                    problem = matcher.add(phrase, lang, i)
                    if problem:
                        self.problems.append(_phrase_problem((*base, lang, j), problem))
            for lang, phrases in cat.unless.items():
                for j, phrase in enumerate(phrases):
                    problem = matcher.add(phrase, lang, -1, veto=i)
                    if problem:
                        self.problems.append(_phrase_problem((*base, "unless", lang, j), problem))
        matcher.finish()
        return matcher

    def tokens(self, text: str) -> tuple[list[str], list[int]]:
        """The folded words of a message, digits inside words read as letters, and the number
        of the clause (between punctuation marks) each word is in."""
        text = text[:MAX_CHARS]
        if self._digit_pattern is not None:
            text = self._digit_pattern.sub(lambda m: self._digits[m.group(0)], text)
        words: list[str] = []
        clauses: list[int] = []
        for i, clause in enumerate(CLAUSE.split(text)):
            keys = self.folder.keys(clause)
            words += keys
            clauses += [i] * len(keys)
        return words, clauses

    def detect(self, text: str) -> Urgent | None:
        """The urgent situation `text` describes, or None. The phrase with most words wins;
        on a tie, the category listed first in the file."""
        found = self._danger.matches(*self.tokens(text), self.window, self.unless_window)
        if not found:
            return None
        phrase, _ = min(found, key=lambda f: (-len(f[0].slots), f[0].group, f[0].text))
        cat = self.categories[phrase.group]
        return Urgent(cat.name, cat.article, phrase.text, phrase.lang)

    def wants_person(self, text: str) -> bool:
        """Whether `text` asks to talk to a person (an operator) rather than the bot."""
        return bool(self._person.matches(*self.tokens(text), self.window, self.unless_window))


# -- reading the data file -------------------------------------------------------------------


def _phrase_problem(key: Key, problem: str) -> tuple[Key, str]:
    """categories > violence > ru > phrase 3: ..., pointing at the phrase's own line."""
    *where, index = key
    return key, f"{' > '.join(map(str, where))} > phrase {int(index) + 1}: {problem}"


TOP_FIELDS = ("window", "unless_window", "digits", "categories", "person")
CATEGORY_FIELDS = ("article", *LANGUAGES, "unless")
CATEGORY_ID = re.compile(r"^[a-z][a-z0-9_]*$")


def read_urgent(
    data: Any, folder: Folder | None = None
) -> tuple[UrgentDetector | None, list[tuple[Key, str]]]:
    """The detector from knowledge/urgent.yaml's data, and every problem found, each with the
    place in the file it is about. The detector is None when the file cannot be used."""
    problems: list[tuple[Key, str]] = []
    if not isinstance(data, dict):
        return None, [((), "the file must be a group of 'key: value' lines at the top level")]
    for name in data:
        if name not in TOP_FIELDS:
            problems.append(((str(name),), _unknown(str(name), TOP_FIELDS, ())))
    window = _number(data, "window", WINDOW, problems)
    unless_window = _number(data, "unless_window", UNLESS_WINDOW, problems)
    digits = _digits(data.get("digits"), problems)
    categories: list[Category] = []
    raw = data.get("categories")
    if not isinstance(raw, dict) or not raw:
        problems.append(
            (
                ("categories",),
                "'categories' is missing or empty: add at least one danger, e.g. "
                "'trafficking:' with 'article:' and phrases per language",
            )
        )
        raw = {}
    for name, block in raw.items():
        key: Key = ("categories", str(name))
        if not CATEGORY_ID.match(str(name)):
            problems.append((key, f"category '{name}' must be lowercase letters, digits and _"))
        cat = _category(str(name), block, key, problems)
        if cat is not None:
            categories.append(cat)
    person = _category(PERSON, data.get("person"), (PERSON,), problems, needs_article=False)
    if person is None and "person" not in data:
        problems.append(
            (
                (),
                "'person:' is missing: add the phrases (per language) that ask to talk to a "
                'person, e.g. \'ru: ["оператор", "живой человек"]\'',
            )
        )
    if problems:
        return None, problems
    detector = UrgentDetector(categories, person, window, unless_window, digits, folder)
    if detector.problems:
        return None, detector.problems
    return detector, []


def _unknown(name: str, allowed: Sequence[str], where: Key) -> str:
    from bot.content.problems import did_you_mean

    prefix = f"{' > '.join(map(str, where))}: " if where else ""
    if len(name) == 2 and name.isalpha() and name.islower() and "ky" in allowed:
        return (
            f"{prefix}'{name}' is not a language of the bot: use "
            f"{', '.join(LANGUAGES[:-1])} or {LANGUAGES[-1]}"
        )
    hint = did_you_mean(name, allowed)
    return f"{prefix}unknown field '{name}'{hint}: remove it or fix its name" + (
        "" if hint else f" (allowed: {', '.join(allowed)})"
    )


def _number(data: dict[str, Any], name: str, default: int, problems: list[tuple[Key, str]]) -> int:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 50:
        problems.append(((name,), f"'{name}' must be a number of words from 1 to 50"))
        return default
    return value


def _digits(raw: Any, problems: list[tuple[Key, str]]) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append((("digits",), "'digits' must be lines like '\"4\": ч'"))
        return {}
    out = {}
    for digit, letters in raw.items():
        d, letters = str(digit), str(letters or "")
        if len(d) != 1 or not d.isdigit() or not letters.isalpha():
            problems.append(
                (("digits", digit), f"digits: '{d}: {letters}' must map one digit to letters")
            )
        else:
            out[d] = letters
    return out


def _category(
    name: str, block: Any, key: Key, problems: list[tuple[Key, str]], needs_article: bool = True
) -> Category | None:
    where = " > ".join(map(str, key))
    if not isinstance(block, dict):
        problems.append((key, f"{where}: must be a group of lines: article, ky, ru, tg, en"))
        return None
    allowed = CATEGORY_FIELDS if needs_article else (*LANGUAGES, "unless")
    ok = True
    for field_name in block:
        if str(field_name) not in allowed:
            problems.append(((*key, str(field_name)), _unknown(str(field_name), allowed, key)))
            ok = False
    article = block.get("article")
    if needs_article and (not isinstance(article, str) or not article.strip()):
        problems.append(
            (key, f"{where}: 'article' is missing: add the id of the article to answer with")
        )
        ok = False
    phrases: dict[str, list[str]] = {}
    for lang in LANGUAGES:
        if lang not in block:
            problems.append(
                (
                    key,
                    f"{where}: no {LANGUAGE_NAMES[lang]} ({lang}) phrases: add '{lang}: [...]': "
                    "a message must be understood in every language",
                )
            )
            ok = False
            continue
        items = _phrases(block[lang], (*key, lang), problems)
        if items is None:
            ok = False
        else:
            phrases[lang] = items
    unless: dict[str, list[str]] = {}
    raw_unless = block.get("unless")
    if raw_unless is not None:
        if not isinstance(raw_unless, dict):
            problems.append(((*key, "unless"), f"{where} > unless: must be lines 'ru: [...]'"))
            ok = False
        else:
            for lang, items in raw_unless.items():
                if str(lang) not in LANGUAGES:
                    problems.append(
                        (
                            (*key, "unless", str(lang)),
                            _unknown(str(lang), LANGUAGES, (*key, "unless")),
                        )
                    )
                    ok = False
                    continue
                got = _phrases(items, (*key, "unless", str(lang)), problems)
                if got is None:
                    ok = False
                else:
                    unless[str(lang)] = got
    if not ok:
        return None
    return Category(name, str(article or "").strip(), phrases, unless)


def _phrases(raw: Any, key: Key, problems: list[tuple[Key, str]]) -> list[str] | None:
    where = " > ".join(map(str, key))
    if not isinstance(raw, list):
        problems.append((key, f"{where}: must be a list: one '- phrase' per line, or [a, b]"))
        return None
    if not raw:
        problems.append((key, f"{where}: the list is empty: add at least one phrase"))
        return None
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, str) or not item.strip():
            problems.append(((*key, i), f"{where}: phrase {i + 1} must be text: put it in quotes"))
            return None
        out.append(item.strip())
    return out
