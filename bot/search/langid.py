"""Which language a message is written in, so the bot can answer in it.

A naive Bayes model over folded words and letter trigrams, trained on the articles themselves
(every article exists in all four languages, about 50,000 letters each) plus the everyday word
lists of bot/data/search-words.yaml (markers, stopwords, greetings). Folding first means one
model serves native script, Latin typing and Russian keyboards alike. On top of it, two facts
the model cannot miss: letters that only Kyrgyz (ң ө ү) or only Tajik (ғ ӣ қ ӯ ҳ ҷ) has settle
the question, and a message in Cyrillic is never English.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot import LANGUAGES
from bot.search.fold import Folder, script_of

KY_LETTERS = re.compile(r"[ңөүҢӨҮ]")
TG_LETTERS = re.compile(r"[ғӣқӯҳҷҒӢҚӮҲҶ]")

MARKER_WEIGHT = 25
"""A marker counts like this many occurrences in the articles: they are everyday words that the
articles, written in a formal register, use less than people do."""
ALPHA = 0.1
TRIGRAM_WEIGHT = 0.35
"""Trigrams overlap, so each says less than a word; they decide words the articles never use."""
LATIN_PRIOR = {"en": 2.0}
"""A message in Latin letters is most often English; the others must win on their words."""
DEFAULT = {"cyr": "ru", "lat": "en", "": "en"}
"""The best guess when a message has no evidence at all ("ок", "qwerty", "???")."""
SURE_MARGIN = 2.5
"""Log-odds between the best and the second language above which the guess counts as clear."""
OWN_WORD = 4.0
"""Log-odds from which a word counts as Kyrgyz's or Tajik's own rather than Russian."""
OWN_SHARE = 0.2
"""The share of a message's known words that must be Kyrgyz's or Tajik's own to outvote Russian:
one such word decides a short message, but a long Russian message may hold one by chance."""
KEY_CACHE = 20_000
"""Words whose scores are kept; a bound, so a flood of new words cannot grow the process."""


@dataclass(frozen=True)
class Guess:
    lang: str
    sure: bool


class LanguageModel:
    def __init__(self, folder: Folder) -> None:
        self._folder = folder
        self._words: dict[str, Counter[str]] = {lang: Counter() for lang in LANGUAGES}
        self._grams: dict[str, Counter[str]] = {lang: Counter() for lang in LANGUAGES}
        self._word_logp: dict[str, dict[str, float]] = {}
        self._gram_logp: dict[str, dict[str, float]] = {}
        self._word_unseen: dict[str, float] = {}
        self._gram_unseen: dict[str, float] = {}
        self._key_cache: dict[str, dict[str, float]] = {}

    @classmethod
    def train(cls, folder: Folder, keys: Mapping[str, Counter[str]]) -> LanguageModel:
        """`keys`: language -> how often each folded word occurs in texts written in it."""
        model = cls(folder)
        for lang in LANGUAGES:
            words = folder.words[lang]
            model._add(lang, keys.get(lang, Counter()), 1)
            # the word lists are everyday language, which the articles' formal register lacks
            everyday = Counter(words.markers) + Counter(words.stopwords | words.chatter)
            model._add(lang, everyday, MARKER_WEIGHT)
        model._finish()
        return model

    def _add(self, lang: str, keys: Counter[str], weight: int) -> None:
        words, grams = self._words[lang], self._grams[lang]
        for key, n in keys.items():
            words[key] += n * weight
            padded = f" {key} "
            for i in range(len(padded) - 2):
                grams[padded[i : i + 3]] += n * weight

    def _finish(self) -> None:
        word_vocab = set().union(*self._words.values())
        gram_vocab = set().union(*self._grams.values())
        for lang in LANGUAGES:
            for counts, vocab, logp, unseen in (
                (self._words[lang], word_vocab, self._word_logp, self._word_unseen),
                (self._grams[lang], gram_vocab, self._gram_logp, self._gram_unseen),
            ):
                denom = counts.total() + ALPHA * (len(vocab) + 1)
                logp[lang] = {k: math.log((c + ALPHA) / denom) for k, c in counts.items()}
                unseen[lang] = math.log(ALPHA / denom)
        self._word_vocab = frozenset(word_vocab)

    def scores(self, keys: list[str], langs: Iterable[str]) -> dict[str, float]:
        out = dict.fromkeys(langs, 0.0)
        for key in keys:
            per = self._key_scores(key)
            for lang in out:
                out[lang] += per[lang]
        return out

    def _key_scores(self, key: str) -> dict[str, float]:
        """One word's log-likelihood in every language, kept: a person's words repeat, and a
        long message's hundreds of trigrams were most of a search's time."""
        found = self._key_cache.get(key)
        if found is not None:
            return found
        grams = _trigrams(key)
        known = key in self._word_vocab
        found = {}
        for lang in LANGUAGES:
            gl, gu = self._gram_logp[lang], self._gram_unseen[lang]
            word = self._word_logp[lang].get(key, self._word_unseen[lang]) if known else 0.0
            found[lang] = word + TRIGRAM_WEIGHT * sum(gl.get(g, gu) for g in grams)
        if len(self._key_cache) >= KEY_CACHE:
            self._key_cache.clear()
        self._key_cache[key] = found
        return found

    def guess(self, text: str) -> Guess:
        """The language of `text`, and whether the evidence is clear."""
        script = script_of(text)
        ky, tg = bool(KY_LETTERS.search(text)), bool(TG_LETTERS.search(text))
        if ky != tg:
            return Guess("ky" if ky else "tg", True)
        keys = self._folder.keys(text)
        if not keys:
            return Guess(DEFAULT[script], False)
        if script == "cyr":
            langs: tuple[str, ...] = ("ky", "tg") if ky and tg else ("ru", "ky", "tg")
        else:
            langs = LANGUAGES
        scores = self.scores(keys, langs)
        if script == "lat":
            for lang, bonus in LATIN_PRIOR.items():
                scores[lang] += bonus
        ranked = sorted(scores, key=lambda lang: scores[lang], reverse=True)
        known = any(k in self._word_vocab for k in keys)
        if not known:
            # no word the model has seen: letters alone are a weak hint, the script a safer one
            default = DEFAULT[script]
            return Guess(default if default in langs else ranked[0], False)
        best = ranked[0]
        if best == "ru":
            # Kyrgyz and Tajik borrow Russian nouns freely ("Работодатель зарплата бербей
            # жатат"): one word that is plainly Kyrgyz or Tajik says whose message it is
            own = self._own_words(keys, ("ky", "tg"))
            if own:
                return Guess(own, True)
        margin = scores[best] - scores[ranked[1]]
        if margin >= SURE_MARGIN:
            return Guess(best, True)
        # unclear ("ок", "салам" are said in every language): lean to the script's default
        default = DEFAULT[script]
        if default in scores and scores[best] - scores[default] < SURE_MARGIN:
            return Guess(default, False)
        return Guess(best, False)

    def _own_words(self, keys: list[str], langs: tuple[str, ...]) -> str | None:
        """The language in `langs` with the most words far likelier in it than in Russian."""
        counts: Counter[str] = Counter()
        ru, ru_unseen = self._word_logp["ru"], self._word_unseen["ru"]
        known = 0
        for key in keys:
            if key not in self._word_vocab or self._folder.is_place(key):
                continue  # a city's Kyrgyz spelling (Ошто) says nothing about the message
            known += 1
            base = ru.get(key, ru_unseen)
            for lang in langs:
                if self._word_logp[lang].get(key, self._word_unseen[lang]) - base >= OWN_WORD:
                    counts[lang] += 1
        if not counts:
            return None
        lang, count = counts.most_common(1)[0]
        return lang if count >= OWN_SHARE * known else None


def _trigrams(key: str) -> list[str]:
    padded = f" {key} "
    return [padded[i : i + 3] for i in range(len(padded) - 2)]
