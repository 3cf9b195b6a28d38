"""What migrants ask: the numbers of `safar report` and /staff/report, from bot/store/stats.py.

One `Report` feeds three views: a plain table for the terminal, a CSV for spreadsheets (one
row per number: date, metric, channel, language, item, value, easy to pivot), and an HTML page
with charts drawn server-side as inline SVG, so the page needs no script at all.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
from collections import Counter
from dataclasses import dataclass

from aiohttp import web

from bot.store.stats import (
    HANDOFFS,
    MESSAGES,
    OUT_OF_HOURS,
    QUESTIONS,
    SMS_MESSAGES,
    SMS_SEGMENTS,
    UNANSWERED,
    WAIT_COUNT,
    WAIT_SECONDS,
    DayStats,
    Stats,
    StatsUnavailable,
)

CHANNELS = ("telegram", "sms", "web")
METRICS = (MESSAGES, QUESTIONS, UNANSWERED, HANDOFFS, OUT_OF_HOURS)
METRIC_NAMES = {
    MESSAGES: "messages",
    QUESTIONS: "questions",
    UNANSWERED: "unanswered",
    HANDOFFS: "handoffs",
    OUT_OF_HOURS: "handoffs_out_of_hours",
}
TOP = 15


@dataclass(frozen=True)
class Report:
    days: tuple[DayStats, ...]
    price: float
    """SMS_PRICE_PER_SEGMENT, for the costs."""
    text_days: int
    """SAFAR_REPORT_TEXT_DAYS: how far back unanswered texts can go."""

    @property
    def first(self) -> dt.date:
        return self.days[0].day

    @property
    def last(self) -> dt.date:
        return self.days[-1].day

    def channels(self) -> list[str]:
        seen = {ch for d in self.days for (_, ch, _) in d.counts}
        return [c for c in CHANNELS if c in seen] + sorted(seen - set(CHANNELS))

    def per_day(self, what: str, channel: str | None = None) -> list[int]:
        return [
            sum(n for (w, ch, _), n in d.counts.items() if w == what and channel in (None, ch))
            for d in self.days
        ]

    def by_channel_lang(self) -> dict[tuple[str, str], Counter[str]]:
        out: dict[tuple[str, str], Counter[str]] = {}
        for d in self.days:
            for (what, ch, lang), n in d.counts.items():
                out.setdefault((ch, lang), Counter())[what] += n
        return dict(sorted(out.items()))

    def top_articles(self, n: int = TOP) -> list[tuple[str, int]]:
        total: Counter[str] = Counter()
        for d in self.days:
            total.update(dict(d.articles))
        return total.most_common(n)

    def top_unanswered(self, n: int = TOP) -> list[tuple[str, int]]:
        total: Counter[str] = Counter()
        for d in self.days:
            total.update(dict(d.unanswered))
        return total.most_common(n)

    def total(self, what: str) -> int:
        return sum(d.total(what) for d in self.days)

    def sum_totals(self, name: str) -> float:
        return sum(d.totals.get(name, 0.0) for d in self.days)

    def sms_segments_per_day(self) -> list[int]:
        return [int(d.totals.get(SMS_SEGMENTS, 0)) for d in self.days]

    @property
    def out_of_hours_share(self) -> float | None:
        opened = self.total(HANDOFFS)
        return self.total(OUT_OF_HOURS) / opened if opened else None

    @property
    def mean_wait(self) -> float | None:
        answered = self.sum_totals(WAIT_COUNT)
        return self.sum_totals(WAIT_SECONDS) / answered if answered else None

    @property
    def sms_cost(self) -> float:
        return self.sum_totals(SMS_SEGMENTS) * self.price


async def gather(stats: Stats, days: int, price: float, today: dt.date | None = None) -> Report:
    """The last `days` days up to `today` (UTC)."""
    last = today or dt.datetime.now(dt.UTC).date()
    first = last - dt.timedelta(days=max(1, days) - 1)
    return Report(tuple(await stats.days(first, last)), price, stats.text_days)


# -- the terminal table --------------------------------------------------------------------


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in col) for col in zip(head, *rows, strict=True)]
    lines = [
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w)
            for i, (h, w) in enumerate(zip(head, widths, strict=True))
        )
    ]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    return lines


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def _minutes(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 60:.1f} min"


def format_table(report: Report) -> str:
    channels = report.channels()
    out = [f"Safar report {report.first} .. {report.last} ({len(report.days)} days, UTC)", ""]
    out.append("Questions per day")
    rows = []
    per_channel = {ch: report.per_day(QUESTIONS, ch) for ch in channels}
    missed = report.per_day(UNANSWERED)
    messages = report.per_day(MESSAGES)
    for i, d in enumerate(report.days):
        q = sum(per_channel[ch][i] for ch in channels)
        rows.append(
            [
                d.day.isoformat(),
                *(str(per_channel[ch][i]) for ch in channels),
                str(q),
                str(missed[i]),
                str(messages[i]),
            ]
        )
    out += _table(["day", *channels, "questions", "unanswered", "messages"], rows)
    out += ["", "By channel and language"]
    rows = [
        [
            ch,
            lang,
            str(c[MESSAGES]),
            str(c[QUESTIONS]),
            str(c[UNANSWERED]),
            _pct(c[UNANSWERED], c[QUESTIONS]),
            str(c[HANDOFFS]),
        ]
        for (ch, lang), c in report.by_channel_lang().items()
    ]
    out += _table(
        ["channel", "lang", "messages", "questions", "unanswered", "share", "handoffs"], rows
    )
    out += ["", "Most shown articles"]
    out += _table(["article", "shown"], [[a, str(n)] for a, n in report.top_articles()])
    out += ["", f"Questions the bot could not answer (masked; kept {report.text_days} days)"]
    out += _table(["question", "asked"], [[t, str(n)] for t, n in report.top_unanswered()])
    opened, ooh = report.total(HANDOFFS), report.total(OUT_OF_HOURS)
    out += [
        "",
        f"Hand-offs: {opened} opened, {ooh} out of hours ({_pct(ooh, opened)}), "
        f"{int(report.sum_totals(WAIT_COUNT))} answered, mean wait {_minutes(report.mean_wait)}",
        f"SMS: {int(report.sum_totals(SMS_MESSAGES))} sent, "
        f"{int(report.sum_totals(SMS_SEGMENTS))} segments, cost {report.sms_cost:.2f} "
        f"(at {report.price:g} per segment, SMS_PRICE_PER_SEGMENT)",
    ]
    return "\n".join(out)


def format_csv(report: Report) -> str:
    """One number per row: date, metric, channel, lang, item, value."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["date", "metric", "channel", "lang", "item", "value"])
    for d in report.days:
        day = d.day.isoformat()
        for (what, ch, lang), n in sorted(d.counts.items()):
            writer.writerow([day, METRIC_NAMES.get(what, what), ch, lang, "", n])
        for article, n in d.articles:
            writer.writerow([day, "article_shown", "", "", article, n])
        for text, n in d.unanswered:
            writer.writerow([day, "unanswered_text", "", "", text, n])
        for name, metric in (
            (SMS_MESSAGES, "sms_messages"),
            (SMS_SEGMENTS, "sms_segments"),
            (WAIT_COUNT, "handoffs_answered"),
            (WAIT_SECONDS, "handoff_wait_seconds"),
        ):
            if name in d.totals:
                writer.writerow([day, metric, "", "", "", _num(d.totals[name])])
        if SMS_SEGMENTS in d.totals:
            cost = round(d.totals[SMS_SEGMENTS] * report.price, 4)
            writer.writerow([day, "sms_cost", "", "", "", _num(cost)])
    return buf.getvalue()


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


# -- charts (inline SVG, no script) --------------------------------------------------------

W, H = 640, 180


def column_chart(title: str, labels: list[str], values: list[int]) -> str:
    """Vertical bars, one per day, the value over each bar that has one."""
    e = html.escape
    top = max(values, default=0) or 1
    n = max(1, len(values))
    pad, base = 28, H - 24
    step = (W - 2 * pad) / n
    bar = max(2.0, step * 0.7)
    parts = [
        f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{e(title)}">',
        f"<title>{e(title)}</title>",
        f'<line x1="{pad}" y1="{base}" x2="{W - pad}" y2="{base}" class="axis"/>',
    ]
    every = max(1, n // 10)
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = pad + i * step + (step - bar) / 2
        h = (base - 16) * value / top
        parts.append(
            f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
            f'class="bar"><title>{e(label)}: {value}</title></rect>'
        )
        if value:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{base - h - 3:.1f}" class="value">{value}</text>'
            )
        if i % every == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{H - 8}" class="label">{e(label[5:])}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(title: str, items: list[tuple[str, int]]) -> str:
    """Horizontal bars with their labels: the most asked questions the bot did not answer."""
    e = html.escape
    row = 22
    height = max(1, len(items)) * row + 8
    top = max((n for _, n in items), default=0) or 1
    left, right = 330, 40
    parts = [
        f'<svg class="chart" viewBox="0 0 {W} {height}" role="img" aria-label="{e(title)}">',
        f"<title>{e(title)}</title>",
    ]
    for i, (label, value) in enumerate(items):
        y = 4 + i * row
        w = (W - left - right) * value / top
        short = label if len(label) <= 48 else label[:47] + "…"
        parts.append(
            f'<text x="{left - 6}" y="{y + 15}" class="hlabel">{e(short)}</text>'
            f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" class="bar">'
            f"<title>{e(label)}: {value}</title></rect>"
            f'<text x="{left + w + 4:.1f}" y="{y + 15}" class="value start">{value}</text>'
        )
    if not items:
        parts.append(f'<text x="8" y="20" class="label start">{e("nothing yet")}</text>')
    parts.append("</svg>")
    return "".join(parts)


def report_html(report: Report, days: int) -> str:
    e = html.escape
    labels = [d.day.isoformat() for d in report.days]
    rows = (
        "".join(
            f"<tr><td>{e(ch)}</td><td>{e(lang)}</td><td>{c[MESSAGES]}</td><td>{c[QUESTIONS]}</td>"
            f"<td>{c[UNANSWERED]}</td><td>{_pct(c[UNANSWERED], c[QUESTIONS])}</td>"
            f"<td>{c[HANDOFFS]}</td></tr>"
            for (ch, lang), c in report.by_channel_lang().items()
        )
        or '<tr><td colspan="7">nothing yet</td></tr>'
    )
    articles = (
        "".join(f"<tr><td>{e(a)}</td><td>{n}</td></tr>" for a, n in report.top_articles())
        or '<tr><td colspan="2">nothing yet</td></tr>'
    )
    opened, ooh = report.total(HANDOFFS), report.total(OUT_OF_HOURS)
    handoffs = (
        f" ({_pct(ooh, opened)} out of hours, mean wait {_minutes(report.mean_wait)})"
        if opened
        else ""
    )
    choices = "".join(
        f'<option value="{n}"{" selected" if n == days else ""}>{n} days</option>'
        for n in (7, 14, 30, 90, 365)
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Safar staff: what people ask</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/staff/static/staff.css"></head>
<body>
<header><h1>Safar staff</h1><nav><a href="/staff/preview">Preview</a>
<a href="/staff/report" aria-current="page">Report</a>
<form method="post" action="/staff/logout"><button type="submit">Log out</button></form></nav>
</header>
<main class="report">
<form method="get" action="/staff/report" class="controls">
<label>Period <select name="days">{choices}</select></label>
<button type="submit">Show</button>
<a href="/staff/report?days={days}&amp;format=csv">Download CSV</a></form>
<p class="summary">{e(str(report.first))} to {e(str(report.last))} (UTC):
<b>{report.total(QUESTIONS)}</b> questions, <b>{report.total(UNANSWERED)}</b> not answered,
<b>{opened}</b> hand-offs{handoffs}, <b>{int(report.sum_totals(SMS_SEGMENTS))}</b> SMS segments
costing <b>{report.sms_cost:.2f}</b>.</p>
<section><h2>Questions per day</h2>
{column_chart("Questions per day", labels, report.per_day(QUESTIONS))}</section>
<section><h2>Questions the bot could not answer</h2>
<p class="note">Masked (phone numbers, e-mails, names, long numbers) and kept
{report.text_days} days. Each is a topic an article could cover.</p>
{bar_chart("Top unanswered questions", report.top_unanswered())}</section>
<section><h2>SMS segments per day</h2>
{column_chart("SMS segments per day", labels, report.sms_segments_per_day())}</section>
<section><h2>By channel and language</h2><table>
<thead><tr><th>channel</th><th>lang</th><th>messages</th><th>questions</th><th>unanswered</th>
<th>share</th><th>hand-offs</th></tr></thead><tbody>{rows}</tbody></table></section>
<section><h2>Most shown articles</h2><table><thead><tr><th>article</th><th>shown</th></tr>
</thead><tbody>{articles}</tbody></table></section>
</main></body></html>"""


async def report_handler(request: web.Request) -> web.Response:
    from bot.app import CONVERSATIONS, SETTINGS
    from bot.staff.pages import secure_headers

    try:
        days = min(400, max(1, int(request.query.get("days", "14"))))
    except ValueError:
        days = 14
    stats = request.app[CONVERSATIONS].stats
    assert stats is not None
    try:
        report = await gather(stats, days, request.app[SETTINGS].sms_price_per_segment)
    except StatsUnavailable as exc:
        return web.Response(text=f"The report cannot be read now: {exc}.", status=503)
    if request.query.get("format") == "csv":
        return web.Response(
            text=format_csv(report),
            content_type="text/csv",
            headers={
                **secure_headers(),
                "Content-Disposition": f'attachment; filename="safar-report-{report.last}.csv"',
            },
        )
    return web.Response(
        text=report_html(report, days), content_type="text/html", headers=secure_headers()
    )
