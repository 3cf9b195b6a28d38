"""Fill the .po catalogs from a YAML table of translations (msgid -> {ky, ru, tg}).

Used once to seed the catalogs; translators then edit the .po files directly (Poedit, Weblate).
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml
from babel.messages.pofile import read_po, write_po

root = Path(__file__).resolve().parent.parent / "locales"
table = yaml.safe_load(Path(sys.argv[1]).read_text(encoding="utf-8"))
for lang in ("ky", "ru", "tg", "en"):
    po = root / lang / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as fp:
        catalog = read_po(fp, locale=lang)
    for msg in catalog:
        if not msg.id:
            continue
        key = msg.id if isinstance(msg.id, str) else msg.id[0]
        row = table.get(key)
        if row is None:
            continue
        if lang == "en":
            msg.string = ("", "") if isinstance(msg.id, tuple) else ""
            continue
        value = row[lang]
        msg.string = tuple(value) if isinstance(msg.id, tuple) else value
        msg.flags.discard("fuzzy")
    with po.open("wb") as fp:
        write_po(fp, catalog, width=99, omit_header=False)
