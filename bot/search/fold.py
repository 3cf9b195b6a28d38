"""From text as people type it to the keys the search compares.

Everything is folded into one plain Latin spelling (see bot/data/search-fold.yaml), so "паспорт",
"pasport" and "passport" meet; then endings are stripped by each language's rules (see
bot/data/search-words.yaml) so that inflected forms meet too. Messages and articles go through the
same steps, so the folding only has to be consistent, not linguistically exact.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from bot import LANGUAGES

DATA = Path(__file__).resolve().parent.parent / "data"
FOLD_FILE = DATA / "search-fold.yaml"
WORDS_FILE = DATA / "search-words.yaml"

TOKEN = re.compile(r"[^\W\d_]+")
"""Runs of letters: digits and punctuation separate words and are not words themselves."""

CACHE = 200_000
"""Words whose stems and stopword status are remembered, per table; a full table starts over, so
a flood of made-up words costs time, never unbounded memory."""
MIN_STEM = 4
"""By default a stem keeps at least four letters: shorter stems make unrelated words meet."""

STEMMED_STOPWORDS = ("ky", "tg")
"""Languages whose stopwords take endings (Kyrgyz эмне-лер-ди, Tajik чи-ро): a word is a stopword
when its stem by that language's rules is a stopword's stem. Russian stopwords are short and
their stems would catch real words (пусть / пустили), so only its places are stemmed (Москве)."""

CYRILLIC = re.compile(r"[\u0400-\u04ff]")
LATIN = re.compile(r"[a-zA-Z\u00c0-\u024f]")


class DataError(ValueError):
    """A search data file is malformed: the message names the file and what to fix."""


def _load(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DataError(f"{path}: cannot read the search data: {exc}") from None


@dataclass(frozen=True)
class Words:
    """One language's lists from search-words.yaml, already folded."""

    stopwords: frozenset[str]
    """Including the places."""
    places: frozenset[str]
    chatter: frozenset[str]
    suffixes: tuple[str, ...]
    """Longest first."""
    passes: int
    """How many endings may be stripped in a row: Kyrgyz and Tajik stack them, Russian not."""
    min_stem: int
    """The shortest stem to leave: Kyrgyz иш and Tajik пул are whole words."""
    prefixes: tuple[str, ...]
    """Verb prefixes (Tajik ме-, на-) stripped from a word that also lost an ending."""
    markers: tuple[str, ...]


class Folder:
    """Folds text to search keys. Built once from the data files; cheap to call."""

    def __init__(
        self,
        letters: Mapping[str, str],
        spellings: Mapping[str, str],
        alternatives: Mapping[str, str] | None = None,
    ) -> None:
        self._table: dict[int, str] = {ord(k): v for k, v in letters.items() if len(k) == 1}
        self._known = {chr(c) for c in range(128)} | {chr(c) for c in self._table}
        self._spellings = tuple((re.compile(k), v) for k, v in spellings.items())
        self._alternatives = tuple((alternatives or {}).items())
        self.words: dict[str, Words] = {}
        self.ignore: frozenset[str] = frozenset()
        self._stem_ignore: dict[str, frozenset[str]] = {}
        self._places: dict[str, frozenset[str]] = {}
        self._stopword: dict[str, bool] = {}
        self._terms: dict[str, dict[str, str]] = {}
        self.synonyms: dict[str, list[tuple[str, str]]] = {}
        """A colloquial word -> the words the articles use for it, with their language."""
        self._stems: dict[tuple[str, str], str] = {}

    @classmethod
    def from_files(cls, fold: Path = FOLD_FILE, words: Path = WORDS_FILE) -> Folder:
        table = _load(fold)
        if not isinstance(table, dict) or not isinstance(table.get("letters"), dict):
            raise DataError(f"{fold}: expected 'letters:' and 'spellings:' maps")
        bad = [k for k in table["letters"] if not isinstance(k, str) or len(k) != 1]
        if bad:
            raise DataError(f"{fold}: 'letters' keys must be single letters, not {bad[:3]}")
        try:
            folder = cls(
                {str(k): str(v or "") for k, v in table["letters"].items()},
                {str(k): str(v or "") for k, v in (table.get("spellings") or {}).items()},
                {str(k): str(v or "") for k, v in (table.get("alternatives") or {}).items()},
            )
        except re.error as exc:
            raise DataError(f"{fold}: a 'spellings' key is not a valid pattern: {exc}") from None
        lists = _load(words)
        if not isinstance(lists, dict):
            raise DataError(f"{words}: expected one block per language")
        folder._set_words(lists, words)
        return folder

    def _set_words(self, lists: Mapping[str, Any], path: Path) -> None:
        raw: list[tuple[str, str, str]] = []
        for lang in LANGUAGES:
            block = lists.get(lang) or {}
            if not isinstance(block, dict):
                raise DataError(f"{path}: '{lang}' must be a block with stopwords, chatter, ...")

            def folded(name: str, block: dict[str, Any] = block, lang: str = lang) -> list[str]:
                items = block.get(name) or []
                if not isinstance(items, list):
                    raise DataError(f"{path}: {lang} > {name} must be a list")
                if name == "suffixes":  # endings, not words: a single letter counts
                    return [self.fold(str(item)).strip() for item in items]
                return [k for item in items for k in self.keys(str(item))]

            sfx = {s for s in folded("suffixes") if s}
            passes, min_stem = block.get("passes", 1), block.get("min_stem", MIN_STEM)
            for name, value in (("passes", passes), ("min_stem", min_stem)):
                if not isinstance(value, int) or not 0 <= value <= 6:
                    raise DataError(f"{path}: {lang} > {name} must be a number from 0 to 6")
            prefixes = {self.fold(str(p)).strip() for p in block.get("prefixes") or []}
            places = frozenset(folded("places"))
            self.words[lang] = Words(
                frozenset(folded("stopwords")) | places,
                places,
                frozenset(folded("chatter")),
                tuple(sorted(sfx, key=lambda s: (-len(s), s))),
                passes,
                min_stem,
                tuple(sorted((p for p in prefixes if p), key=lambda p: (-len(p), p))),
                tuple(folded("markers")),
            )
            synonyms = block.get("synonyms") or {}
            if not isinstance(synonyms, dict):
                raise DataError(f"{path}: {lang} > synonyms must be 'word: [words]' lines")
            for word, targets in synonyms.items():
                for target in targets if isinstance(targets, list) else [targets]:
                    raw.append((str(word), str(target), lang))
        self.ignore = frozenset(
            squeeze(k) for w in self.words.values() for k in w.stopwords | w.chatter
        )
        self._stem_ignore = {
            lang: frozenset(
                self.stem(k, lang)
                for k in (w.stopwords | w.chatter if lang in STEMMED_STOPWORDS else w.places)
            )
            for lang, w in self.words.items()
        }
        self._places = {
            lang: frozenset(self.stem(k, lang) for k in w.places) for lang, w in self.words.items()
        }
        self.synonyms = {}
        for word, target, lang in raw:
            for key in self.keys(word):
                found = self.synonyms.setdefault(squeeze(key), [])
                found += [
                    (t, lang)
                    for t in self.content(self.keys(target))
                    if t != key and (t, lang) not in found
                ]
        self._stems.clear()
        self._stopword.clear()
        self._terms.clear()

    def fold(self, text: str) -> str:
        """One plain Latin spelling for any way of typing the same words."""
        text = unicodedata.normalize("NFC", text).lower()
        if not text.isascii():
            # letters the table does not know lose their marks (é -> e), once and for all
            for char in set(text) - self._known:
                self._table[ord(char)] = _unmarked(char)
                self._known.add(char)
        text = text.translate(self._table)
        for old, new in self._spellings:
            text = old.sub(new, text)
        return text

    def keys_of_lines(self, lines: Iterable[str]) -> list[list[str]]:
        """`keys` of each line, folded in one go: an article has dozens of keyword lines."""
        return [
            [w for w in TOKEN.findall(line) if len(w) > 1]
            for line in self.fold("\n".join(lines)).split("\n")
        ]

    def keys(self, text: str) -> list[str]:
        """The folded words of `text`, in order, stopwords included.

        Doubled letters are kept until the endings are off (мигрант+тар), see `stem`.
        """
        return [w for w in TOKEN.findall(self.fold(text)) if len(w) > 1]

    def content(self, keys: Iterable[str]) -> list[str]:
        """The keys that carry meaning: no stopwords, no greetings, in any of their forms."""
        return [k for k in keys if not self.is_stopword(k)]

    def is_stopword(self, key: str) -> bool:
        """Whether `key` is a stopword or greeting, also with a Kyrgyz or Tajik ending on it
        (эмнелерди is эмне, чиро is чи)."""
        found = self._stopword.get(key)
        if found is None:
            found = squeeze(key) in self.ignore or any(
                self.stem(key, lang) in stems for lang, stems in self._stem_ignore.items()
            )
            if len(self._stopword) >= CACHE:
                self._stopword.clear()
            self._stopword[key] = found
        return found

    def is_place(self, key: str) -> bool:
        """Whether `key` is one of the cities in the data, in any of its forms (Москве, Ошто)."""
        return any(self.stem(key, lang) in stems for lang, stems in self._places.items())

    def stem(self, key: str, lang: str) -> str:
        """Strip endings by `lang`'s rules, longest first, then squeeze doubled letters.

        Squeezing comes last so that a doubled letter at the joint (мигрант+тар) does not hide
        the ending; after it каттоо, kattoo and katoo are one stem.
        """
        stem = self._stems.get((key, lang))
        if stem is not None:
            return stem
        words = self.words[lang]
        word = key
        for _ in range(words.passes):
            for sfx in words.suffixes:
                if word.endswith(sfx) and len(word) - len(sfx) >= words.min_stem:
                    word = word[: -len(sfx)]
                    break
            else:
                break
        if word != key:
            for pfx in words.prefixes:
                if word.startswith(pfx) and len(word) - len(pfx) >= words.min_stem:
                    word = word[len(pfx) :]
                    break
        word = squeeze(word)
        if len(self._stems) >= CACHE:
            self._stems.clear()
        self._stems[(key, lang)] = word
        return word

    def index_terms(self, keys: Iterable[str], lang: str) -> Counter[str]:
        """How often each stem occurs among `keys` of a text in `lang`, stopwords left out."""
        cache = self._terms.setdefault(lang, {})
        out: Counter[str] = Counter()
        for key, n in Counter(keys).items():
            term = cache.get(key)
            if term is None:
                term = "" if self.is_stopword(key) else self.stem(key, lang)
                if len(cache) >= CACHE:
                    cache.clear()
                cache[key] = term
            if term:
                out[term] += n
        return out

    def variants(self, key: str) -> set[str]:
        """`key` and its spellings with a letter a keyboard lacks typed as another (ч for ҷ),
        doubled letters squeezed: what a phrase matcher compares, without any stemming."""
        keys = {key} | {key.replace(old, new) for old, new in self._alternatives if old in key}
        return {squeeze(k) for k in keys}

    def stems(self, key: str) -> set[str]:
        """Every language's stem of a query word: the writer's language is not known.

        A letter that a keyboard lacks and people replace by another (Tajik ҷ typed as ч) is
        tried both ways.
        """
        keys = {key} | {key.replace(old, new) for old, new in self._alternatives if old in key}
        return {squeeze(k) for k in keys} | {
            self.stem(k, lang) for k in keys for lang in self.words
        }


@cache
def _unmarked(char: str) -> str:
    """A letter the table does not know, without its marks (é -> e); other symbols as is."""
    return "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))


def squeeze(text: str) -> str:
    """Doubled letters count once: каттоо, kattoo and katoo are one word."""
    return _DOUBLE.sub(r"\1", text)


_DOUBLE = re.compile(r"([a-z])\1+")


_LOADED: dict[tuple[float, float], Folder] = {}


def default_folder() -> Folder:
    """The folder built from the shipped data files; read again when one of them changed, so a
    content reload also picks up new synonyms or stopwords."""
    stamp = (FOLD_FILE.stat().st_mtime, WORDS_FILE.stat().st_mtime)
    folder = _LOADED.get(stamp)
    if folder is None:
        folder = Folder.from_files()
        _LOADED.clear()
        _LOADED[stamp] = folder
    return folder


def script_of(text: str) -> str:
    """'cyr', 'lat' or '' by the majority of letters."""
    cyr = len(CYRILLIC.findall(text))
    lat = len(LATIN.findall(text))
    if not cyr and not lat:
        return ""
    return "cyr" if cyr >= lat else "lat"
