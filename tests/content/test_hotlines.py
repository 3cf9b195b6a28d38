"""Office hours as a person meets them: a Tajik line with a lunch break and a short Saturday,
public holidays, and people whose phones run on another clock than the hotline; then the
routing and emergency numbers, and the mistakes staff can make in hotlines.yaml."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from bot.content.hotlines import (
    format_emergency,
    format_hours,
    format_next_opening,
    is_open,
    next_opening,
)
from bot.content.load import Content, load_content
from bot.content.models import Hotline, Localized
from bot.i18n import Catalogs
from bot.settings import REPO_ROOT

HERE = Path(__file__).parent
DUSHANBE = dt.timezone(dt.timedelta(hours=5))
CATALOGS = Catalogs.load(REPO_ROOT / "locales")
WEEK = {
    "mon": ["08:00-12:00", "13:00-17:00"],
    "tue": ["08:00-12:00", "13:00-17:00"],
    "wed": ["08:00-12:00", "13:00-17:00"],
    "thu": ["08:00-12:00", "13:00-17:00"],
    "fri": ["08:00-12:00", "13:00-17:00"],
    "sat": ["08:00-12:00"],
}


def hotline(
    timezone: str = "Asia/Dushanbe",
    hours: dict[str, list[str]] | None = None,
    holidays: tuple[str, ...] = (),
) -> Hotline:
    return Hotline(
        name=Localized(ky="Ишеним телефону", ru="Горячая линия", tg="Хати боварӣ", en="Hotline"),
        phone="+992 918 85 34 34",
        country="TJ",
        timezone=timezone,
        hours=WEEK if hours is None else hours,
        holidays=[dt.date.fromisoformat(d) for d in holidays],
    )


def at(text: str, tz: dt.tzinfo = DUSHANBE) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=tz)


def phrase(line: Hotline, now: dt.datetime, lang: str = "en") -> str:
    return format_next_opening(line, now, CATALOGS(lang))


# --- a working week in Dushanbe -------------------------------------------------------------


def test_someone_writing_in_the_lunch_break_hears_it_reopens_at_one() -> None:
    line = hotline()
    assert is_open(line, at("2026-12-04 11:59"))  # Friday morning
    assert not is_open(line, at("2026-12-04 12:00"))
    assert not is_open(line, at("2026-12-04 12:59"))
    assert next_opening(line, at("2026-12-04 12:30")) == at("2026-12-04 13:00")
    assert phrase(line, at("2026-12-04 12:30")) == "today at 13:00"
    assert is_open(line, at("2026-12-04 13:00"))
    assert not is_open(line, at("2026-12-04 17:00"))


def test_saturday_is_a_half_day_and_after_it_the_line_opens_on_monday() -> None:
    line = hotline()
    assert is_open(line, at("2026-12-05 11:30"))
    assert not is_open(line, at("2026-12-05 12:30"))
    assert next_opening(line, at("2026-12-05 12:30")) == at("2026-12-07 08:00")
    assert phrase(line, at("2026-12-05 12:30")) == "on Monday at 08:00"


def test_on_sunday_the_line_is_closed_all_day_and_opens_tomorrow() -> None:
    line = hotline()
    for hour in ("00:00", "08:30", "13:30", "23:59"):
        assert not is_open(line, at(f"2026-12-06 {hour}"))
    assert phrase(line, at("2026-12-06 10:00")) == "tomorrow at 08:00"


def test_friday_evening_the_next_opening_is_saturday_morning() -> None:
    assert phrase(hotline(), at("2026-12-04 17:30")) == "tomorrow at 08:00"
    assert phrase(hotline(), at("2026-12-04 07:00")) == "today at 08:00"


def test_on_a_holiday_the_line_stays_closed_in_its_usual_hours() -> None:
    line = hotline(holidays=("2026-09-09",))  # Independence Day, a Wednesday
    assert not is_open(line, at("2026-09-09 10:00"))
    assert is_open(line, at("2026-09-08 10:00"))
    assert next_opening(line, at("2026-09-09 10:00")) == at("2026-09-10 08:00")


def test_after_a_holiday_weekend_the_next_opening_skips_the_carried_monday() -> None:
    # Victory Day 2026 falls on a Saturday, so Monday 11 May is off as well.
    line = hotline(holidays=("2026-05-09", "2026-05-11"))
    assert next_opening(line, at("2026-05-08 17:30")) == at("2026-05-12 08:00")
    assert phrase(line, at("2026-05-08 17:30")) == "on Tuesday at 08:00"


def test_the_shipped_tajik_line_is_closed_for_the_whole_navruz_break() -> None:
    content = shipped()
    line = content.hotline
    before = at("2026-03-19 18:00")  # Thursday evening; Navruz break from Fri 20 to Sun 29
    assert not is_open(line, at("2026-03-23 10:00"))
    assert next_opening(line, before) == at("2026-03-30 08:00")
    assert phrase(line, before) == "on 30 March at 08:00"
    assert content.format_next_opening(line, before, "ru") == "30 марта в 08:00"


# --- clocks: the person's phone, the hotline's city -----------------------------------------


def test_one_utc_moment_is_open_in_dushanbe_and_bishkek_but_not_yet_in_moscow() -> None:
    now = dt.datetime(2026, 12, 3, 3, 30, tzinfo=dt.UTC)  # Thursday
    assert is_open(hotline("Asia/Dushanbe"), now)  # 08:30 there
    assert is_open(hotline("Asia/Bishkek"), now)  # 09:30
    moscow = hotline("Europe/Moscow")
    assert not is_open(moscow, now)  # 06:30
    opening = next_opening(moscow, now)
    assert opening is not None
    assert (opening.hour, opening.minute, str(opening.tzinfo)) == (8, 0, "Europe/Moscow")
    assert opening.astimezone(dt.UTC) == dt.datetime(2026, 12, 3, 5, 0, tzinfo=dt.UTC)
    assert phrase(moscow, now) == "today at 08:00"


def test_a_migrant_in_moscow_late_on_friday_is_told_the_dushanbe_time() -> None:
    moscow_clock = at("2026-12-04 23:30", dt.timezone(dt.timedelta(hours=3)))
    # 01:30 on Saturday in Dushanbe: the phrase is in the hotline's time, not the person's.
    assert phrase(hotline(), moscow_clock) == "today at 08:00"


def test_a_clock_without_a_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        is_open(hotline(), dt.datetime(2026, 12, 4, 10, 0))


# --- the phrase in four languages ------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "today", "tomorrow", "monday", "later"),
    [
        (
            "en",
            "today at 13:00",
            "tomorrow at 08:00",
            "on Monday at 08:00",
            "on 4 January at 08:00",
        ),
        ("ru", "сегодня в 13:00", "завтра в 08:00", "в понедельник в 08:00", "4 января в 08:00"),
        (
            "ky",
            "бүгүн саат 13:00",
            "эртең саат 08:00",
            "дүйшөмбү күнү саат 08:00",
            "4-январь, саат 08:00",
        ),
        (
            "tg",
            "имрӯз соати 13:00",
            "пагоҳ соати 08:00",
            "рӯзи душанбе соати 08:00",
            "4 январ, соати 08:00",
        ),
    ],
)
def test_the_next_opening_reads_right_in_each_language(
    lang: str, today: str, tomorrow: str, monday: str, later: str
) -> None:
    year_end = tuple(f"2026-12-{d}" for d in range(28, 32))
    line = hotline(holidays=(*year_end, "2027-01-01"))
    assert phrase(line, at("2026-12-04 12:30"), lang) == today
    assert phrase(line, at("2026-12-06 10:00"), lang) == tomorrow
    assert phrase(line, at("2026-12-05 12:30"), lang) == monday
    # Closed from Monday 28 December to New Year: it opens on Saturday 2 January, 08:00...
    assert next_opening(line, at("2026-12-26 12:30")) == at("2027-01-02 08:00")
    # ...and with that Saturday off too, more than a week away: the date is written out.
    closed = hotline(holidays=(*year_end, "2027-01-01", "2027-01-02"))
    assert phrase(closed, at("2026-12-26 12:30"), lang) == later


def test_a_line_with_unknown_hours_is_never_open_and_has_no_next_opening() -> None:
    line = hotline(hours={})
    assert not is_open(line, at("2026-12-04 10:00"))
    assert next_opening(line, at("2026-12-04 10:00")) is None
    assert phrase(line, at("2026-12-04 10:00")) == ""
    assert format_hours(line, CATALOGS("en")) == "hours not known"


def test_a_round_the_clock_line_is_open_at_night_and_says_so() -> None:
    line = hotline("Asia/Bishkek", {d: ["00:00-24:00"] for d in WEEK | {"sun": []}})
    assert is_open(line, at("2026-12-06 03:00"))
    assert format_hours(line, CATALOGS("ru")) == "круглосуточно, без выходных"
    assert format_hours(hotline(), CATALOGS("en")) == (
        "Mon–Fri 08:00–12:00, 13:00–17:00; Sat 08:00–12:00, Dushanbe time"
    )


# --- who is sent where, and the emergency numbers --------------------------------------------


def shipped() -> Content:
    result = load_content(REPO_ROOT)
    assert result.content is not None, result.errors
    return result.content


def test_a_kyrgyz_speaker_is_sent_to_a_kyrgyz_line_and_others_to_the_default() -> None:
    content = shipped()
    assert content.route_hotline_id("ky") == "kg-embassy-moscow"
    assert content.route_hotline("ky").phone == "+7 925 115 50 47"
    assert content.route_hotline_id("ky", "children-family") == "kg-111"
    assert content.route_hotline_id("ky", "pension") == "kg-mlssm"
    assert content.route_hotline_id("ky", "work-patent") == "kg-embassy-moscow"
    assert content.route_hotline_id("tg", "migrant-women") == "tj-1313"
    assert content.route_hotline_id("tg", "work-patent") == "tj-918"
    assert content.route_hotline("ru", None) is content.hotline


def test_the_emergency_numbers_fit_one_sms_line_in_each_language() -> None:
    content = shipped()
    assert format_emergency(content, "en") == (
        "Emergency: 112 (Russia, Kazakhstan, Kyrgyzstan, Tajikistan), police 102, ambulance 103"
    )
    assert format_emergency(content, "ru", ["RU"]) == (
        "Экстренные службы: 112 (Россия), полиция 102, скорая 103"
    )
    assert format_emergency(content.emergency, CATALOGS("tg"), ["TJ"]).startswith(
        "Хадамоти фаврӣ: 112 (Тоҷикистон)"
    )
    assert format_emergency(content, "ky", ["KG"]).startswith("Шашылыш жардам: 112 (Кыргызстан)")
    with_fire = format_emergency(content, "en", ["RU", "TJ"], services=("emergency", "fire"))
    assert with_fire == "Emergency: 112 (Russia, Tajikistan), fire 101"
    assert format_emergency(content, "en", ["XX"]) == ""


def test_numbers_only_some_countries_share_name_their_countries() -> None:
    content = shipped()
    rest = {c: content.emergency[c] for c in ("RU", "KZ")}
    fire = format_emergency(
        {**rest, "KG": content.emergency["KG"]}, CATALOGS("en"), services=("fire", "gas")
    )
    assert (
        fire
        == "Emergency: fire 101 (Russia, Kazakhstan, Kyrgyzstan), gas 104 (Russia, Kazakhstan)"
    )


# --- staff mistakes in hotlines.yaml, each at its line ---------------------------------------

GOOD = """\
default: tj-918
routing:
  - languages: [ky]
    topics: [work-patent]
    hotline: tj-918
hotlines:
  tj-918:
    name: {ky: "Ишеним", ru: "Линия", tg: "Хат", en: "Hotline"}
    phone: "+992 918 85 34 34"
    country: TJ
    timezone: Asia/Dushanbe
    languages: [tg, ru]
    hours:
      mon: ["08:00-12:00", "13:00-17:00"]
    holidays: [2026-01-01]
  tj-1313:
    name: {ky: "Ишеним", ru: "Линия", tg: "Хат", en: "Hotline"}
    phone: "1313"
    country: TJ
    timezone: Asia/Dushanbe
emergency:
  TJ:
    numbers:
      - number: "112"
        service: emergency
        label: {ky: "112", ru: "112", tg: "112", en: "112"}
"""


def make_root(tmp_path: Path, hotlines: str) -> Path:
    root = tmp_path / "content"
    shutil.copytree(HERE / "minimal", root)
    shutil.copytree(REPO_ROOT / "locales", root / "locales", ignore=shutil.ignore_patterns("*.mo"))
    (root / "knowledge" / "hotlines.yaml").write_text(hotlines, encoding="utf-8")
    return root


def errors(tmp_path: Path, hotlines: str) -> list[str]:
    result = load_content(make_root(tmp_path, hotlines))
    printed = [str(p) for p in result.errors]
    assert (result.content is None) == bool(printed)
    return printed


def test_the_small_example_file_is_valid(tmp_path: Path) -> None:
    result = load_content(make_root(tmp_path, GOOD))
    assert result.errors == []
    assert result.content is not None
    assert result.content.route_hotline_id("ky", "work-patent") == "tj-918"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            '["08:00-12:00", "13:00-17:00"]',
            '["8-12", "13:00-17:00"]',
            "knowledge/hotlines.yaml:14: hotline 'tj-918': mon: '8-12' is not a time range: "
            "write it like 08:00-12:00 (24-hour clock, 24:00 for midnight at the end of the day)",
        ),
        (
            '["08:00-12:00", "13:00-17:00"]',
            '["12:00-08:00"]',
            "knowledge/hotlines.yaml:14: hotline 'tj-918': mon: '12:00-08:00' ends before it "
            "starts: write the earlier time first; split a range past midnight in two, "
            "'22:00-24:00' on this day and '00:00-02:00' on the next",
        ),
        (
            "      mon: [",
            "      mo: [",
            "knowledge/hotlines.yaml:14: hotline 'tj-918': 'mo' is not a weekday (did you mean "
            "'mon'?): use mon, tue, wed, thu, fri, sat or sun",
        ),
        (
            '["08:00-12:00", "13:00-17:00"]',
            '["08:00-13:00", "12:00-17:00"]',
            "knowledge/hotlines.yaml:14: hotline 'tj-918': mon: '12:00-17:00' overlaps "
            "'08:00-13:00': fix the times so one range ends before or when the next starts",
        ),
        (
            "languages: [tg, ru]",
            "languages: [tg, kyr]",
            "knowledge/hotlines.yaml:12: hotline 'tj-918': language 'kyr' is not known (did you "
            "mean 'ky'?): use ky, ru, tg or en",
        ),
        (
            "  - languages: [ky]",
            "  - languages: [kir]",
            "knowledge/hotlines.yaml:3: routing rule 1: language 'kir' is not known: "
            "use ky, ru, tg or en",
        ),
        (
            "topics: [work-patent]",
            "topics: [work-patnet]",
            "knowledge/hotlines.yaml:4: routing rule 1: topic 'work-patnet' is not an article "
            "(did you mean 'work-patent'?): use the file name of an article in knowledge/ "
            "without .yaml",
        ),
        (
            "    hotline: tj-918",
            "    hotline: tj-919",
            "knowledge/hotlines.yaml:5: routing rule 1: hotline 'tj-919' is not defined (did you "
            "mean 'tj-918'?): use an id from 'hotlines', or add that hotline",
        ),
        (
            "default: tj-918",
            "default: tj-9l8",
            "knowledge/hotlines.yaml:1: default hotline 'tj-9l8' is not defined (did you mean "
            "'tj-918'?): use an id from 'hotlines', or add that hotline",
        ),
        (
            '"+992 918 85 34 34"',
            '"+992 918 85 34"',
            "knowledge/hotlines.yaml:9: hotline 'tj-918': '+992 918 85 34' is not a valid TJ "
            "number (wrong length or prefix): check the digits against the source",
        ),
        (
            '    phone: "1313"\n    country: TJ',
            '    phone: "1313"',
            "knowledge/hotlines.yaml:18: hotline 'tj-1313': '1313' is a short number that works "
            "in one country only: add 'country: XX' (ISO code, e.g. KG) to the hotline",
        ),
        (
            "    country: TJ\n    timezone: Asia/Dushanbe\n    languages",
            "    country: TJK\n    timezone: Asia/Dushanbe\n    languages",
            "knowledge/hotlines.yaml:10: hotlines > tj-918 > country: 'TJK' does not look right "
            "(check the format)",
        ),
        (
            "  TJ:\n",
            "  TX:\n",
            "knowledge/hotlines.yaml:22: emergency: country 'TX' is not known: use a two-letter "
            "ISO code like RU, KZ, KG or TJ",
        ),
        (
            '- number: "112"',
            '- number: "8 800 2000 122"',
            "knowledge/hotlines.yaml:24: emergency > TJ: '8 800 2000 122' is not a short "
            "emergency number: move a full phone number to 'hotlines', keep codes like 112 or "
            "102 here",
        ),
    ],
    ids=[
        "bad time range",
        "end before start",
        "unknown weekday",
        "overlapping ranges",
        "unknown language",
        "unknown routing language",
        "unknown topic",
        "unknown hotline in routing",
        "unknown default",
        "phone does not parse",
        "short number without country",
        "country not ISO-2",
        "unknown emergency country",
        "long emergency number",
    ],
)
def test_a_mistake_in_hotlines_yaml_is_reported_at_its_line_with_a_fix(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert old in GOOD
    assert errors(tmp_path, GOOD.replace(old, new, 1)) == [expected]


def test_a_handoff_node_naming_an_unknown_hotline_is_reported_in_the_dialog(
    tmp_path: Path,
) -> None:
    root = make_root(tmp_path, GOOD)
    main = root / "dialogs" / "main.yaml"
    main.write_text(main.read_text() + "    hotline: tj-1331\n", encoding="utf-8")
    printed = [str(p) for p in load_content(root).errors]
    assert printed == [
        "dialogs/main.yaml:23: node 'talk': hotline 'tj-1331' is not defined (did you mean "
        "'tj-1313'?): use an id from knowledge/hotlines.yaml, or leave 'hotline' out for the "
        "routed one"
    ]
    main.write_text(main.read_text().replace("tj-1331", "tj-1313"), encoding="utf-8")
    assert load_content(root).errors == []
