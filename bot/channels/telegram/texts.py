"""The Telegram channel's own interface strings: commands, notes, the bot's profile texts.

Every string is written as a literal `tr.gettext("…")` call so `make messages` extracts it.
"""

from __future__ import annotations

import logging

from telegram import BotCommand

from bot import LANGUAGES
from bot.conversations import ContentHolder
from bot.engine.types import Command
from bot.i18n import Tr

log = logging.getLogger(__name__)

COMMAND_NAMES: tuple[Command, ...] = ("start", "menu", "language", "help", "operator", "forget")
"""The commands in Telegram's menu, in this order; each is an engine command of the same name."""


class Texts:
    def __init__(self, content: ContentHolder) -> None:
        self.content = content

    def tr(self, lang: str | None) -> Tr:
        return self.content.current.content.catalogs(lang)

    # -- the strings -----------------------------------------------------------------------

    def stale(self, lang: str | None) -> str:
        """The toast for a button on an old message (at most 200 characters)."""
        return self.tr(lang).gettext("This menu is out of date. Here is where you are now.")

    def not_text(self, lang: str | None) -> str:
        return self.tr(lang).gettext(
            "I can only read text messages. Please type your question or choose a topic."
        )

    def language_hint(self, lang: str | None) -> str:
        return self.tr(lang).gettext("To change the language, send /language.")

    def group(self, lang: str | None) -> tuple[str, str]:
        """The answer in a group chat, and the label of the button that opens a private chat."""
        tr = self.tr(lang)
        text = tr.gettext(
            "I answer questions only in a private chat, so that nobody else sees them. "
            "Tap the button below to write to me."
        )
        return text, tr.gettext("Write to Safar privately")

    def failed(self, lang: str | None) -> str:
        return self.tr(lang).gettext(
            "Sorry, something went wrong. Please try again, or send /menu."
        )

    def commands(self, lang: str | None) -> list[BotCommand]:
        """The command menu, in `COMMAND_NAMES` order, described in `lang`."""
        tr = self.tr(lang)
        about = {
            "start": tr.gettext("Start over"),
            "menu": tr.gettext("Main menu"),
            "language": tr.gettext("Change the language"),
            "help": tr.gettext("How to use Safar"),
            "operator": tr.gettext("Talk to a person"),
            "forget": tr.gettext("Delete everything Safar keeps about me"),
        }
        return [BotCommand(name, about[name]) for name in COMMAND_NAMES]

    def description(self, lang: str | None) -> tuple[str, str]:
        """The profile texts: shown in an empty chat before Start, and on the bot's page."""
        tr = self.tr(lang)
        long = tr.gettext(
            "Safar gives trustworthy answers for labour migrants and their families: leaving "
            "safely, documents, your rights, coming home and legal help. In Kyrgyz, "
            "Russian, Tajik and English. Press Start."
        )
        short = tr.gettext(
            "Trustworthy answers for labour migrants, in Kyrgyz, Russian, Tajik and English."
        )
        return long, short


def guess_language(language_code: str | None) -> str | None:
    """Telegram's language_code ("ru", "ru-RU", "tg") as one of ours, or None."""
    code = (language_code or "")[:2].lower()
    return code if code in LANGUAGES else None
