"""Safar: trustworthy answers for labour migrants, on Telegram, SMS and the web."""

LANGUAGES: tuple[str, ...] = ("ky", "ru", "tg", "en")
"""The four languages every text exists in; their order is the order of the language menu."""

LANGUAGE_NAMES: dict[str, str] = {
    "ky": "Кыргызча",
    "ru": "Русский",
    "tg": "Тоҷикӣ",
    "en": "English",
}
"""Each language named in itself, so a person finds theirs without reading another."""
