"""Hotline numbers and hours: kept in one file, formatted in the reader's language."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from babel.dates import get_day_names, get_timezone_location

from bot.content.models import Hotline
from bot.i18n import Tr

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def format_hours(hotline: Hotline, tr: Tr) -> str:
    """'Mon–Fri 08:00–12:00, 13:00–17:00; Sat 08:00–12:00, Dushanbe time' in `tr`'s language.

    Consecutive days with the same hours are joined so the line stays short enough for SMS.
    """
    names = get_day_names("abbreviated", locale=tr.lang)
    groups: list[tuple[int, int, list[str]]] = []
    for i, day in enumerate(DAYS):
        ranges = hotline.hours.get(day)  # type: ignore[call-overload]
        if not ranges:
            continue
        if groups and groups[-1][1] == i - 1 and groups[-1][2] == ranges:
            groups[-1] = (groups[-1][0], i, ranges)
        else:
            groups.append((i, i, ranges))
    parts = []
    for first, last, ranges in groups:
        days = names[first] if first == last else f"{names[first]}–{names[last]}"
        parts.append(f"{days} {', '.join(r.replace('-', '–') for r in ranges)}")
    city = get_timezone_location(hotline.timezone, locale=tr.lang, return_city=True)
    zone = tr.gettext("%(city)s time") % {"city": city}
    return f"{'; '.join(parts)}, {zone}"


def format_hotline(hotline: Hotline, tr: Tr) -> str:
    """The number first (it is what people need), then when someone answers."""
    return f"{hotline.phone} ({format_hours(hotline, tr)})"


def is_open(hotline: Hotline, now: dt.datetime) -> bool:
    """Whether a person answers right now, in the hotline's own time zone."""
    local = now.astimezone(ZoneInfo(hotline.timezone))
    hhmm = local.strftime("%H:%M")
    for r in hotline.hours.get(DAYS[local.weekday()], []):  # type: ignore[call-overload]
        start, end = r.split("-")
        if start <= hhmm < end:
            return True
    return False
