"""Interface strings (not content) through gettext catalogs, one per language.

The language is always passed in per request: one process serves people in four languages at
once, so a process-wide `gettext.install` would mix them up.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from bot import LANGUAGES

DOMAIN = "messages"


@dataclass(frozen=True)
class Tr:
    """The gettext functions of one language, handed to code that builds a reply."""

    lang: str
    catalog: NullTranslations

    def gettext(self, message: str) -> str:
        return self.catalog.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.catalog.ngettext(singular, plural, n)


class Catalogs:
    def __init__(self, catalogs: dict[str, NullTranslations]) -> None:
        self._catalogs = catalogs

    def __call__(self, lang: str | None) -> Tr:
        lang = lang if lang in self._catalogs else "en"
        return Tr(lang, self._catalogs.get(lang) or NullTranslations())

    @classmethod
    def load(cls, locales_dir: Path) -> Catalogs:
        """Prefer the compiled .mo; compile the .po in memory when the .mo is missing or older,
        so an edited translation is live after a reload without a build step."""
        catalogs: dict[str, NullTranslations] = {}
        for lang in LANGUAGES:
            base = locales_dir / lang / "LC_MESSAGES"
            po, mo = base / f"{DOMAIN}.po", base / f"{DOMAIN}.mo"
            if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
                with mo.open("rb") as fp:
                    catalogs[lang] = Translations(fp, domain=DOMAIN)
            elif po.exists():
                catalogs[lang] = compile_po(po, lang)
        return cls(catalogs)


def compile_po(po: Path, lang: str) -> Translations:
    with po.open("rb") as fp:
        catalog = read_po(fp, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return Translations(buf, domain=DOMAIN)
