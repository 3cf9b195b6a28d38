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
DIGITS_FILE = DATA / "search-digits.yaml"
SMALLTALK_FILE = DATA / "search-smalltalk.yaml"
SENSES_FILE = DATA / "search-senses.yaml"
FILES = (FOLD_FILE, WORDS_FILE, DIGITS_FILE, SMALLTALK_FILE, SENSES_FILE)

TOKEN = re.compile(r"[^\W\d_]+")
"""Runs of letters: digits and punctuation separate words and are not words themselves."""
QUERY_TOKEN = re.compile(r"[^\W_]+")
"""In a message, letters and digits together: "kan4a" is канча typed with a digit for ч."""
RAW_WORD = TOKEN
"""A word as written, before folding, once `APOSTROPHES` are dropped: an article's text is
folded word by word through a cache rather than letter by letter."""
APOSTROPHES = ("'", "’", "ʼ", "`", "ʻ")
"""The marks folding drops inside a word (o'zbek): dropped first, so words split the same."""
SENTENCE = re.compile(r"[^.!?;\n]+[.!?;\n]*")
"""A message's sentences with the marks that end them: a long message is also scored sentence by
sentence, and a question mark says which sentence is the question."""

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
        self._words_cache: dict[str, str] = {}
        self._by_last: dict[str, dict[str, tuple[str, ...]]] = {}
        self._stems_cache: dict[str, frozenset[str]] = {}
        self._kinds: dict[str, str | None] = {}
        self._phrases_of: dict[str, list[int]] = {}
        self._senses_of: dict[str, list[int]] = {}
        self._offtopic_cache: dict[str, bool] = {}
        self._digit_letters: list[tuple[str, dict[str, str]]] = []
        self._digit_words: dict[str, list[str]] = {}
        self._variants: dict[str, frozenset[str]] = {}
        self._offtopic: dict[str, frozenset[str]] = {}
        self._smalltalk_words: dict[str, dict[str, str]] = {}
        """language -> stem -> kind ("greeting", "thanks", "wish", "bye")."""
        self._smalltalk_phrases: list[tuple[str, tuple[str, ...]]] = []
        self.senses: list[tuple[tuple[frozenset[str], ...], tuple[str, ...] | None]] = []
        """(words, each as the set of its forms; the words they mean, or None for offtopic)."""
        self.smalltalk_kinds: tuple[str, ...] = ()

    @classmethod
    def from_files(
        cls,
        fold: Path = FOLD_FILE,
        words: Path = WORDS_FILE,
        digits: Path = DIGITS_FILE,
        smalltalk: Path = SMALLTALK_FILE,
        senses: Path = SENSES_FILE,
    ) -> Folder:
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
        talk = _load(smalltalk) if smalltalk.exists() else {}
        if not isinstance(talk, dict):
            raise DataError(f"{smalltalk}: expected one block per kind (greeting, thanks, ...)")
        folder._set_words(lists, words, talk, smalltalk)
        folder._set_digits(_load(digits) if digits.exists() else {}, digits)
        folder._set_senses(_load(senses) if senses.exists() else [], senses)
        return folder

    def _set_digits(self, data: Any, path: Path) -> None:
        if not isinstance(data, dict):
            raise DataError(f"{path}: expected one block per language with 'letters:' or 'words:'")
        self._digit_letters, self._digit_words = [], {}
        for lang in LANGUAGES:
            block = data.get(lang) or {}
            letters, words = block.get("letters") or {}, block.get("words") or {}
            if not isinstance(letters, dict) or not isinstance(words, dict):
                raise DataError(
                    f"{path}: {lang} > letters and words must be 'digit: letters' maps"
                )
            bad = [k for k in letters if not (isinstance(k, (str, int)) and str(k).isdigit())]
            if bad:
                raise DataError(f"{path}: {lang} > letters: keys must be digits, not {bad[:3]}")
            if letters:
                table = {str(k): self.fold(str(v)).strip() for k, v in letters.items()}
                self._digit_letters.append((lang, table))
            for word, meant in words.items():
                self._digit_words[self.fold(str(word)).strip()] = self.keys(str(meant))
        self._variants.clear()

    def _set_senses(self, data: Any, path: Path) -> None:
        if not isinstance(data, list):
            raise DataError(f"{path}: expected a list of '- {{words: [...], means: ...}}'")
        self.senses = []
        for i, item in enumerate(data, 1):
            words = item.get("words") if isinstance(item, dict) else None
            means = item.get("means") if isinstance(item, dict) else None
            if (
                not isinstance(words, list)
                or len(words) < 2
                or not (means == "offtopic" or isinstance(means, list))
            ):
                raise DataError(
                    f"{path}: sense {i} needs 'words:' (two or more) and 'means:' (a list of "
                    "words, or offtopic)"
                )
            keys = tuple(frozenset(self.stems(k)) for w in words for k in self.keys(str(w))[:1])
            meant = (
                None if means == "offtopic" else tuple(k for m in means for k in self.keys(str(m)))
            )
            self.senses.append((keys, meant))
        self._senses_of = {}
        for i, (words_, _) in enumerate(self.senses):
            for form in words_[0]:
                self._senses_of.setdefault(form, []).append(i)

    def _set_words(
        self,
        lists: Mapping[str, Any],
        path: Path,
        talk: Mapping[str, Any] | None = None,
        talk_path: Path | None = None,
    ) -> None:
        raw: list[tuple[str, str, str]] = []
        talk = talk or {}
        self.smalltalk_kinds = tuple(str(k) for k in talk)
        smalltalk: dict[str, list[tuple[str, list[str]]]] = {lang: [] for lang in LANGUAGES}
        for kind, block in talk.items():
            if not isinstance(block, dict):
                raise DataError(f"{talk_path}: '{kind}' must be one list per language")
            for lang, items in block.items():
                if lang not in smalltalk or not isinstance(items, list):
                    raise DataError(
                        f"{talk_path}: {kind} > {lang} must be a list, for ky/ru/tg/en"
                    )
                smalltalk[lang] += [(str(kind), self.keys(str(item))) for item in items]
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
            talk_words = frozenset(k[0] for _, k in smalltalk[lang] if len(k) == 1)
            self._offtopic[lang] = frozenset(folded("offtopic"))
            self.words[lang] = Words(
                frozenset(folded("stopwords")) | places,
                places,
                frozenset(folded("chatter")) | talk_words,
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
        self._offtopic = {
            lang: frozenset(self.stem(k, lang) for k in keys) | {squeeze(k) for k in keys}
            for lang, keys in self._offtopic.items()
        }
        self._smalltalk_words = {lang: {} for lang in LANGUAGES}
        self._smalltalk_phrases = []
        for lang, entries in smalltalk.items():
            for kind, keys in entries:
                if len(keys) == 1:
                    for form in (squeeze(keys[0]), self.stem(keys[0], lang)):
                        self._smalltalk_words[lang].setdefault(form, kind)
                elif keys:
                    self._smalltalk_phrases.append((kind, tuple(squeeze(k) for k in keys)))
        self._phrases_of = {}
        for i, (_, phrase) in enumerate(self._smalltalk_phrases):
            for word in phrase:
                self._phrases_of.setdefault(word, []).append(i)
        self.synonyms = {}
        for word, target, lang in raw:
            for key in self.keys(word):
                # under the word and its stem, so other endings of a slang word find it too
                # (ксива / ксиву)
                for form in dict.fromkeys((squeeze(key), self.stem(key, lang))):
                    found = self.synonyms.setdefault(form, [])
                    found += [
                        (t, lang)
                        for t in self.content(self.keys(target))
                        if t != key and (t, lang) not in found
                    ]
        self._stems.clear()
        self._stopword.clear()
        self._terms.clear()
        self._words_cache.clear()
        self._by_last.clear()
        self._stems_cache.clear()
        self._kinds.clear()
        self._offtopic_cache.clear()

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

    def fold_word(self, word: str) -> str:
        """`fold` of one word as written (see RAW_WORD), remembered: an article's words repeat."""
        key = self._words_cache.get(word)
        if key is None:
            key = self.fold(word)
            if len(self._words_cache) >= CACHE:
                self._words_cache.clear()
            self._words_cache[word] = key
        return key

    def query_keys(self, text: str) -> list[str]:
        """`keys` of a message, where a digit inside a word may stand for a letter.

        "4to", "kan4a" and "i6ke" are read with the digits of bot/data/search-digits.yaml; the
        first language's reading is the key, the others are tried as its variants (see `stems`).
        A number, or a digit no language lists, separates words as in `keys`.
        """
        out: list[str] = []
        for token in QUERY_TOKEN.findall(self.fold(text)):
            if token.isalpha():
                if len(token) > 1:
                    out.append(token)
                continue
            if token.isdigit():
                continue
            words = self._digit_words.get(token)
            if words is not None:
                out += words
                continue
            readings = [
                "".join(table.get(c, c) for c in token)
                for _, table in self._digit_letters
                if all(c in table for c in token if c.isdigit())
            ]
            if not readings:
                out += [w for w in TOKEN.findall(token) if len(w) > 1]
                continue
            first = readings[0]
            if len(set(readings)) > 1:
                self._variants[first] = frozenset(readings[1:]) - {first}
            out.append(first)
        return out

    def sentences(self, text: str) -> list[tuple[str, bool]]:
        """A message's sentences, each with whether it asks (ends with a question mark)."""
        return [
            (m.group(), "?" in m.group()) for m in SENTENCE.finditer(text) if m.group().strip()
        ]

    def is_offtopic(self, key: str) -> bool:
        """Whether `key` is a word that only ever means a subject we do not answer (погода)."""
        found = self._offtopic_cache.get(key)
        if found is None:
            sq = squeeze(key)
            found = any(
                sq in words or self.stem(key, lang) in words
                for lang, words in self._offtopic.items()
            )
            if len(self._offtopic_cache) >= CACHE:
                self._offtopic_cache.clear()
            self._offtopic_cache[key] = found
        return found

    def smalltalk_kind(self, key: str) -> str | None:
        """The kind of small talk `key` is ("thanks" for рахматыңыз), or None."""
        if key in self._kinds:
            return self._kinds[key]
        sq, found = squeeze(key), None
        for lang, words in self._smalltalk_words.items():
            found = words.get(sq) or words.get(self.stem(key, lang))
            if found is not None:
                break
        if len(self._kinds) >= CACHE:
            self._kinds.clear()
        self._kinds[key] = found
        return found

    def smalltalk(self, keys: list[str]) -> str | None:
        """The kind of small talk a message is, when small-talk words make up most of it.

        A word of its own that is not small talk is allowed for every three that are ("Салам
        ака, үй-бүлөңүз аманбы"); a question in the message wins ("Салам, паспортум жоголду").
        """
        if len(keys) > 4 * MAX_SMALLTALK:
            return None  # a long message is never only small talk
        counts: Counter[str] = Counter()
        covered: set[int] = set()
        squeezed = [squeeze(k) for k in keys]
        present = {p for k in squeezed for p in self._phrases_of.get(k, ())}
        for kind, phrase in (self._smalltalk_phrases[p] for p in sorted(present)):
            spots = [i for i, k in enumerate(squeezed) if k in phrase]
            if {squeezed[i] for i in spots} >= set(phrase):
                covered.update(spots)
                counts[kind] += len(phrase)
        for i, key in enumerate(keys):
            found = None if i in covered else self.smalltalk_kind(key)
            if found is not None:
                covered.add(i)
                counts[found] += 1
        if not counts:
            return None
        left = [k for i, k in enumerate(keys) if i not in covered and not self.is_stopword(k)]
        if len(left) * 3 > len(covered):
            return None
        order = {kind: i for i, kind in enumerate(SMALLTALK_ORDER)}
        return min(counts, key=lambda kind: (-counts[kind], order.get(kind, len(order))))

    def read_senses(self, keys: list[str]) -> tuple[list[str], int]:
        """`keys` with the senses of bot/data/search-senses.yaml applied: words that mean
        something else together are replaced by what they mean; the number of words that mean a
        subject we do not answer ("курс доллара") comes back as the second value."""
        offtopic = 0
        forms = [self.stems(k) for k in keys]
        present = {i for f in forms for form in f for i in self._senses_of.get(form, ())}
        for words, means in (self.senses[i] for i in sorted(present)):
            found: list[int] = []
            for word in words:
                spot = next(
                    (i for i, f in enumerate(forms) if i not in found and not word.isdisjoint(f)),
                    None,
                )
                if spot is None:
                    break
                found.append(spot)
            else:
                keys = [k for i, k in enumerate(keys) if i not in found]
                forms = [f for i, f in enumerate(forms) if i not in found]
                if means is None:
                    offtopic += len(words)
                else:
                    added = [m for m in means if m not in keys]
                    keys += added
                    forms += [self.stems(m) for m in added]
        return keys, offtopic

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
        by_last = self._by_last.get(lang)
        if by_last is None:
            by_last = self._by_last[lang] = _by_last_letter(words.suffixes)
        word = key
        for _ in range(words.passes):
            for sfx in by_last.get(word[-1:], ()):
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
        keys = {key} | self._variants.get(key, frozenset())
        keys |= {k.replace(old, new) for k in keys for old, new in self._alternatives if old in k}
        return {squeeze(k) for k in keys}

    def stems(self, key: str) -> set[str]:
        """Every language's stem of a query word: the writer's language is not known.

        A letter that a keyboard lacks and people replace by another (Tajik ҷ typed as ч) is
        tried both ways.
        """
        found = self._stems_cache.get(key)
        if found is None:
            keys = {key} | self._variants.get(key, frozenset())
            keys |= {
                k.replace(old, new) for k in keys for old, new in self._alternatives if old in k
            }
            found = frozenset({squeeze(k) for k in keys}) | {
                self.stem(k, lang) for k in keys for lang in self.words
            }
            if len(self._stems_cache) >= CACHE:
                self._stems_cache.clear()
            self._stems_cache[key] = found
        return set(found)


MAX_SMALLTALK = 12
"""Words of small talk a message may hold, stopwords aside: "Салам ака, кандайсыз, ден
соолугуңуз жакшыбы, үй-бүлөңүз аманбы?" has eight."""
SMALLTALK_ORDER = ("thanks", "bye", "wish", "greeting")
"""Which kind wins a tie: "Спасибо, до свидания" is a thank-you first."""


def _by_last_letter(suffixes: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Endings grouped by their last letter, longest first: a word is tried only against the
    endings it can have."""
    out: dict[str, list[str]] = {}
    for sfx in suffixes:
        out.setdefault(sfx[-1:], []).append(sfx)
    return {k: tuple(v) for k, v in out.items()}


@cache
def _unmarked(char: str) -> str:
    """A letter the table does not know, without its marks (é -> e); other symbols as is."""
    return "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))


def squeeze(text: str) -> str:
    """Doubled letters count once: каттоо, kattoo and katoo are one word."""
    return _DOUBLE.sub(r"\1", text)


_DOUBLE = re.compile(r"([a-z])\1+")


_LOADED: dict[tuple[float, ...], Folder] = {}


def default_folder() -> Folder:
    """The folder built from the shipped data files; read again when one of them changed, so a
    content reload also picks up new synonyms or stopwords."""
    stamp = tuple(path.stat().st_mtime if path.exists() else 0.0 for path in FILES)
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
