"""Hotline numbers, office hours and emergency numbers: kept in one file, formatted in the
reader's language.

Everything here is pure arithmetic on the loaded data: the engine passes `now` in (an aware
datetime), so tests can set the clock and nothing here reads the time, a file or the network.
Times are always taken in the hotline's own time zone, never the server's or the person's:
a migrant in Moscow writing at 09:30 reaches a Dushanbe line at 11:30 its time.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import phonenumbers
from babel import Locale
from babel.dates import format_date, format_time, get_day_names, get_timezone_location
from phonenumbers import shortnumberinfo

from bot import LANGUAGES
from bot.content.models import EmergencyCountry, Hotline, Route
from bot.content.problems import did_you_mean
from bot.i18n import Tr

if TYPE_CHECKING:
    from bot.content.load import Content

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SEARCH_DAYS = 30
"""How far ahead `next_opening` looks: a line closed for a month is as good as closed."""
SERVICES = ("emergency", "police", "ambulance", "fire", "gas")
SMS_SERVICES = ("emergency", "police", "ambulance")
"""The numbers `format_emergency` gives by default: the ones a person in danger needs, short
enough for one SMS line."""

_RANGE = re.compile(r"([01]\d|2[0-4]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)")
_DAY_MINUTES = 24 * 60


# --- office hours -------------------------------------------------------------------------


def parse_range(text: str) -> tuple[int, int] | None:
    """'08:00-12:00' -> (480, 720) minutes after midnight; None when it is not a time range.
    Order is not checked here (the loader reports an end before the start)."""
    match = _RANGE.fullmatch(text.strip())
    if not match:
        return None
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start >= _DAY_MINUTES or end > _DAY_MINUTES:
        return None
    return start, end


def day_ranges(hotline: Hotline, weekday: int) -> list[tuple[int, int]]:
    """The opening ranges of one weekday (0 = Monday), in minutes, earliest first."""
    ranges = (parse_range(r) for r in hotline.hours.get(DAYS[weekday], []))
    return sorted(r for r in ranges if r is not None and r[0] < r[1])


def _local(hotline: Hotline, now: dt.datetime) -> dt.datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("`now` must be an aware datetime (e.g. datetime.now(UTC))")
    return now.astimezone(ZoneInfo(hotline.timezone))


def is_open(hotline: Hotline, now: dt.datetime) -> bool:
    """Whether a person answers right now, in the hotline's own time zone; closed all day on
    its holidays, and never open when its hours are not known."""
    local = _local(hotline, now)
    if local.date() in hotline.holidays:
        return False
    minute = local.hour * 60 + local.minute
    return any(start <= minute < end for start, end in day_ranges(hotline, local.weekday()))


def next_opening(
    hotline: Hotline, now: dt.datetime, within_days: int = SEARCH_DAYS
) -> dt.datetime | None:
    """The first moment at or after `now` when the line is open, as an aware datetime in the
    hotline's time zone (`now` itself, in that zone, when it is open now). None when it does
    not open within `within_days`: no hours known, or closed that long."""
    local = _local(hotline, now)
    if is_open(hotline, now):
        return local
    tz = ZoneInfo(hotline.timezone)
    for offset in range(within_days + 1):
        day = local.date() + dt.timedelta(days=offset)
        if day in hotline.holidays:
            continue
        for start, _end in day_ranges(hotline, day.weekday()):
            moment = dt.datetime.combine(day, dt.time(start // 60, start % 60), tzinfo=tz)
            if moment > local:
                return moment
    return None


def format_next_opening(hotline: Hotline, now: dt.datetime, tr: Tr) -> str:
    """When the line opens next, as a short phrase in `tr`'s language and the hotline's local
    time: 'today at 13:00', 'tomorrow at 08:00', 'on Monday at 08:00' (within a week), or
    'on 4 January at 08:00'. Empty when it does not open within `SEARCH_DAYS` (hours not
    known): the caller then gives the number alone.

    Whole phrases are translated, not glued from words, because the words change with the day
    in Russian ('в среду', 'во вторник') and Kyrgyz and Tajik put them in another order.
    """
    moment = next_opening(hotline, now)
    if moment is None:
        return ""
    local_now = _local(hotline, now)
    time = format_time(moment, "HH:mm", locale=_babel_locale(tr.lang))
    days = (moment.date() - local_now.date()).days
    if days == 0:
        return tr.gettext("today at %(time)s") % {"time": time}
    if days == 1:
        return tr.gettext("tomorrow at %(time)s") % {"time": time}
    if days < 7:
        weekdays = (
            tr.gettext("on Monday at %(time)s"),
            tr.gettext("on Tuesday at %(time)s"),
            tr.gettext("on Wednesday at %(time)s"),
            tr.gettext("on Thursday at %(time)s"),
            tr.gettext("on Friday at %(time)s"),
            tr.gettext("on Saturday at %(time)s"),
            tr.gettext("on Sunday at %(time)s"),
        )
        return weekdays[moment.weekday()] % {"time": time}
    pattern = "d-MMMM" if tr.lang == "ky" else "d MMMM"
    date = format_date(moment, pattern, locale=_babel_locale(tr.lang))
    if tr.lang == "tg":
        date = date.lower()  # CLDR capitalises Tajik months; running text writes 'январ'
    return tr.gettext("on %(date)s at %(time)s") % {"date": date, "time": time}


def format_hours(hotline: Hotline, tr: Tr) -> str:
    """'Mon–Fri 08:00–12:00, 13:00–17:00; Sat 08:00–12:00, Dushanbe time' in `tr`'s language.

    Consecutive days with the same hours are joined so the line stays short enough for SMS.
    """
    names = get_day_names("abbreviated", locale=_babel_locale(tr.lang))
    groups: list[tuple[int, int, list[str]]] = []
    for i, day in enumerate(DAYS):
        ranges = hotline.hours.get(day)
        if not ranges:
            continue
        if groups and groups[-1][1] == i - 1 and groups[-1][2] == ranges:
            groups[-1] = (groups[-1][0], i, ranges)
        else:
            groups.append((i, i, ranges))
    if not groups:
        return tr.gettext("hours not known")
    if all(day_ranges(hotline, i) == [(0, _DAY_MINUTES)] for i in range(7)):
        return tr.gettext("24 hours a day, every day")
    parts = []
    for first, last, ranges in groups:
        days = names[first] if first == last else f"{names[first]}–{names[last]}"
        parts.append(f"{days} {', '.join(r.replace('-', '–') for r in ranges)}")
    city = get_timezone_location(hotline.timezone, locale=_babel_locale(tr.lang), return_city=True)
    zone = tr.gettext("%(city)s time") % {"city": city}
    return f"{'; '.join(parts)}, {zone}"


def format_hotline(hotline: Hotline, tr: Tr) -> str:
    """The number first (it is what people need), then when someone answers."""
    return f"{hotline.phone} ({format_hours(hotline, tr)})"


# --- routing and emergency numbers -----------------------------------------------------------


def route(routes: Sequence[Route], default: str, lang: str, topic: str | None) -> str:
    """The id of the hotline for a person writing in `lang` about `topic` (an article id, or
    None): the first rule whose languages and topics both match (an empty list matches
    anything; a rule with topics never matches an unknown topic), else `default`."""
    for rule in routes:
        if rule.languages and lang not in rule.languages:
            continue
        if rule.topics and topic not in rule.topics:
            continue
        return rule.hotline
    return default


def format_emergency(
    source: Content | Mapping[str, EmergencyCountry],
    lang: str | Tr,
    countries: Iterable[str] | None = None,
    services: Sequence[str] = SMS_SERVICES,
) -> str:
    """One short line for SMS: 'Emergency: 112 (Russia, Kazakhstan, Kyrgyzstan, Tajikistan),
    police 102, ambulance 103 (Russia, Kazakhstan, Kyrgyzstan)'.

    A number shared by several countries is written once; the countries in brackets apply to
    it and to the numbers after it until the next brackets. `source` is the loaded Content
    (then `lang` may be a language code) or its `emergency` mapping with a `Tr` for `lang`.
    `countries` (ISO-2 codes) narrows it to where the person is; unknown codes are skipped.
    """
    if isinstance(source, Mapping):
        numbers: Mapping[str, EmergencyCountry] = source
        if not isinstance(lang, Tr):
            raise TypeError("pass a Tr as `lang` together with a plain mapping of numbers")
        tr = lang
    else:
        numbers = source.emergency
        tr = lang if isinstance(lang, Tr) else source.catalogs(lang)
    wanted = [c for c in (countries if countries is not None else numbers) if c in numbers]
    groups: dict[tuple[str, str], tuple[str, list[str]]] = {}
    for code in wanted:
        for entry in numbers[code].numbers:
            if entry.service not in services:
                continue
            key = (entry.service, entry.number)
            label, where = groups.setdefault(key, (entry.label.get(tr.lang), []))
            where.append(code)
    if not groups:
        return ""
    parts: list[str] = []
    previous: list[str] = []
    order = sorted(groups, key=lambda k: SERVICES.index(k[0]))  # stable: first seen first
    for service, number in order:
        label, where = groups[(service, number)]
        text = number if service == "emergency" else f"{label} {number}"
        if where != previous:
            names = ", ".join(country_name(numbers[c], c, tr.lang) for c in where)
            text += f" ({names})"
            previous = where
        parts.append(text)
    return tr.gettext("Emergency: %(numbers)s") % {"numbers": ", ".join(parts)}


def country_name(country: EmergencyCountry | None, code: str, lang: str) -> str:
    """The name staff wrote in the file, else the one in Babel's locale data."""
    if country is not None and country.name is not None:
        return country.name.get(lang)
    return str(_babel_locale(lang).territories.get(code, code))


# --- checks (the loader adds the file and line) ----------------------------------------------

Problems = list[tuple[tuple[str | int, ...], str]]
"""(where inside the hotline's block, message with its fix)."""


def hotline_problems(hotline: Hotline) -> Problems:
    """Everything wrong with one hotline that pydantic cannot see: times, weekdays, overlaps,
    languages, the country code and the phone number."""
    out: Problems = []
    if hotline.country is not None and hotline.country not in countries():
        out.append((("country",), country_problem(hotline.country)))
    for i, lang in enumerate(hotline.languages):
        if lang not in LANGUAGES:
            out.append((("languages", i), language_problem(lang)))
    for day, ranges in hotline.hours.items():
        if day not in DAYS:
            out.append(
                (
                    ("hours", day),
                    f"'{day}' is not a weekday{did_you_mean(day, DAYS)}: "
                    "use mon, tue, wed, thu, fri, sat or sun",
                )
            )
            continue
        seen: list[tuple[int, int, str]] = []
        for i, text in enumerate(ranges):
            parsed = parse_range(text)
            if parsed is None:
                out.append(
                    (
                        ("hours", day, i),
                        f"{day}: '{text}' is not a time range: write it like 08:00-12:00 "
                        "(24-hour clock, 24:00 for midnight at the end of the day)",
                    )
                )
                continue
            start, end = parsed
            if end <= start:
                out.append(
                    (
                        ("hours", day, i),
                        f"{day}: '{text}' ends before it starts: write the earlier time first; "
                        "split a range past midnight in two, '22:00-24:00' on this day and "
                        "'00:00-02:00' on the next",
                    )
                )
                continue
            for s, e, other in seen:
                if start < e and s < end:
                    out.append(
                        (
                            ("hours", day, i),
                            f"{day}: '{text}' overlaps '{other}': fix the times so one range "
                            "ends before or when the next starts",
                        )
                    )
                    break
            seen.append((start, end, text))
    problem = phone_problem(hotline.phone, hotline.country)
    if problem:
        out.append((("phone",), problem))
    return out


def phone_problem(phone: str, country: str | None) -> str | None:
    """Why `phone` cannot be dialled as written, or None. Short numbers (112, 1313, 19-19)
    are digit strings valid inside one country, so they need `country`; everything else must
    be a valid number to the `phonenumbers` library."""
    digits = re.sub(r"[ ()-]", "", phone)
    if not phone.startswith("+") and len(digits) <= 5:
        if country is None:
            return (
                f"'{phone}' is a short number that works in one country only: "
                "add 'country: XX' (ISO code, e.g. KG) to the hotline"
            )
        if len(digits) < 2:
            return f"'{phone}' is too short to be a phone number: check the digits"
        return None
    if not phone.startswith("+") and country is None:
        return (
            f"'{phone}' has no country code: write it as +<country code> <number>, "
            "like +992 918 85 34 34, or add 'country: XX' to the hotline"
        )
    try:
        number = phonenumbers.parse(phone, country)
    except phonenumbers.NumberParseException:
        return (
            f"'{phone}' is not a phone number: write it as +<country code> <number>, "
            "like +992 918 85 34 34"
        )
    if not phonenumbers.is_valid_number(number):
        region = phonenumbers.region_code_for_country_code(number.country_code or 0)
        return (
            f"'{phone}' is not a valid {region} number (wrong length or prefix): "
            "check the digits against the source"
        )
    return None


def emergency_number_problem(number: str, country: str) -> str | None:
    """Emergency numbers are short codes; a long number belongs in a hotline instead."""
    digits = re.sub(r"[ -]", "", number)
    if len(digits) > 5 and not shortnumberinfo.is_emergency_number(digits, country):
        return (
            f"'{number}' is not a short emergency number: "
            "move a full phone number to 'hotlines', keep codes like 112 or 102 here"
        )
    return None


def language_problem(lang: str) -> str:
    return (
        f"language '{lang}' is not known{did_you_mean(lang, LANGUAGES)}: "
        f"use {', '.join(LANGUAGES[:-1])} or {LANGUAGES[-1]}"
    )


def country_problem(code: str) -> str:
    return (
        f"country '{code}' is not known{did_you_mean(code, countries())}: "
        "use a two-letter ISO code like RU, KZ, KG or TJ"
    )


@lru_cache(maxsize=1)
def countries() -> frozenset[str]:
    """Two-letter ISO country codes, from Babel's locale data."""
    codes = (str(c) for c in Locale.parse("en").territories)
    return frozenset(c for c in codes if re.fullmatch("[A-Z]{2}", c))


@lru_cache(maxsize=8)
def _babel_locale(lang: str) -> Locale:
    return Locale.parse(lang if lang in LANGUAGES else "en")
