"""The `safar` command: serve, chat, check, ask, eval."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from bot import LANGUAGES
from bot.content.check import check_content
from bot.content.load import Content, load_content
from bot.content.problems import ContentError
from bot.settings import Settings, SettingsError, load_settings

LANG = click.Choice(LANGUAGES)


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def _content(root: Path) -> Content:
    result = load_content(root)
    if result.content is None:
        for problem in result.errors:
            click.echo(str(problem), err=True)
        raise click.ClickException(
            f"the content under {root} has {len(result.errors)} error(s): run 'safar check'"
        )
    return result.content


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Safar: answers for labour migrants on Telegram, SMS and the web."""


@main.command()
def serve() -> None:
    """Run the web server (web chat, /healthz, and the Telegram and SMS channels when set up)."""
    from bot.logs import configure
    from bot.privacy import setup_logging
    from bot.server import CannotListen, run, serve_forever

    settings = _settings()
    setup_logging(settings.log_level)
    configure(settings.log_level, settings.log_format)  # one line per event (SAFAR_LOG_FORMAT)
    try:
        run(serve_forever(settings), settings.event_loop)
    except CannotListen as exc:
        raise click.ClickException(str(exc)) from None
    except ContentError as exc:
        click.echo(str(exc), err=True)
        raise click.ClickException("content has errors: fix them (see 'safar check')") from None
    except KeyboardInterrupt:
        pass


@main.command()
def reload() -> None:
    """Make every running server reload its content now: after an edit they did not see, or
    after fixing one they refused. Each server checks the files first and keeps its content
    if they have errors (see `content.last_error` in /healthz).

    With REDIS_URL: every server on that Redis, on any host. Without: the servers started with
    this SAFAR_DATA_DIR.
    """
    settings = _settings()
    if not settings.redis_url:
        from bot.server import signal_servers

        pids = signal_servers(settings.data_dir)
        if not pids:
            raise click.ClickException(f"no running server uses {settings.data_dir}")
        click.echo(f"asked {len(pids)} server(s) to reload (pid {', '.join(map(str, pids))})")
        return
    import asyncio

    from redis.asyncio import Redis

    from bot.store.content_version import ContentVersions

    async def ask() -> int | None:
        redis = Redis.from_url(settings.redis_url or "", socket_connect_timeout=5)
        try:
            return await ContentVersions(redis, prefix=settings.redis_prefix).request_reload()
        finally:
            await redis.aclose()

    listening = asyncio.run(ask())
    if listening is None:
        raise click.ClickException("Redis (REDIS_URL) is unreachable: nothing was asked")
    if not listening:
        raise click.ClickException("no running server listens on this Redis and prefix")
    click.echo(f"asked {listening} server(s) to reload; /healthz on each shows the version")


@main.command()
@click.option("--lang", type=LANG, help="Start in this language instead of the language menu.")
def chat(lang: str | None) -> None:
    """Talk to the bot in this terminal (nothing is stored)."""
    from bot.channels.console import run
    from bot.engine import Engine

    content = _content(_settings().content_dir)
    run(Engine(content), lang, sys.stdin, sys.stdout)


@main.command()
@click.argument("root", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--quiet", "-q", is_flag=True, help="Print errors only, and one line counting the warnings."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    help="json: a list of {path, line, level, message, fix} for editors and tools.",
)
@click.option("--sms", is_flag=True, help="Also print every text's SMS segments (Cyrillic/Latin).")
def check(root: Path | None, quiet: bool, fmt: str, sms: bool) -> None:
    """Check dialogs, knowledge and locales under ROOT (default: the content dir).

    Exits 1 on any error; warnings never fail. Every line starts with path:line: and says how
    to fix it.
    """
    from bot.content.problems import warning_summary

    settings = _settings()
    root = root or settings.content_dir
    if not root.is_dir():
        raise click.ClickException(f"{root} is not a folder")
    result = check_content(root, settings.sms_segment_budget)
    if fmt == "json":
        shown = [p for p in result.problems if p.severity == "error" or not quiet]
        click.echo(json.dumps([p.as_dict() for p in shown], ensure_ascii=False, indent=1))
        sys.exit(1 if result.errors else 0)
    if sms and result.content is not None:
        from bot.sms.budget import format_table, sms_costs

        budget = settings.sms_segment_budget
        click.echo(format_table(sms_costs(result.content, budget), budget))
    for problem in result.problems:
        if problem.severity == "error" or not quiet:
            click.echo(str(problem))
    summary = warning_summary(result.problems)
    if quiet and result.warnings:
        summary += ": run `safar check` to see them"
    if result.content is not None:
        c = result.content
        summary += f"; {len(c.articles)} articles, {len(c.dialog.nodes)} dialog nodes"
    if result.catalogs and not quiet:
        summary += "\ninterface translations: " + ", ".join(str(s) for s in result.catalogs)
    click.echo(summary, err=True)
    sys.exit(1 if result.errors else 0)


@main.command()
@click.argument("text", nargs=-1)
@click.option("--lang", type=LANG, help="Reply in this language (default: detect).")
@click.option("--jsonl", is_flag=True, help="Read JSON lines {text, lang?} on stdin.")
def ask(text: tuple[str, ...], lang: str | None, jsonl: bool) -> None:
    """Search the knowledge base: the answer a person would get."""
    content = _content(_settings().content_dir)
    index = content.search
    if jsonl:
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                q, qlang = str(item["text"]), item.get("lang")
            except (ValueError, KeyError, TypeError) as exc:
                click.echo(json.dumps({"error": f"bad input line: {exc}"}))
                continue
            result = index.search(q, qlang if qlang in LANGUAGES else None)
            out = {
                "lang": result.lang,
                "answer": result.answer,
                "matches": [{"id": m.id, "score": round(m.score, 4)} for m in result.matches[:3]],
            }
            click.echo(json.dumps(out, ensure_ascii=False))
        return
    if not text:
        raise click.UsageError("give a question, or use --jsonl")
    result = index.search(" ".join(text), lang)
    if result.answer is None:
        close = ", ".join(f"{m.id} ({m.score:.2f})" for m in result.matches) or "nothing close"
        click.echo(f"[{result.lang}] not sure: no article given. Closest: {close}")
        return
    article = content.articles[result.answer].lang(result.lang)
    click.echo(f"[{result.lang}] {result.answer}\n\n{article.title}\n\n{article.text}")


@main.command(name="eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def eval_(file: Path) -> None:
    """Measure the search on a YAML list of questions (like shared/eval/dev.yaml)."""
    from bot.search.evaluate import evaluate, load_questions, print_report

    content = _content(_settings().content_dir)
    report = evaluate(content.search, load_questions(file))
    print_report(report, sys.stdout)


@main.group()
def translations() -> None:
    """Translations in a spreadsheet: export every text, translate, import it back."""


@translations.command(name="export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--source",
    type=LANG,
    default="en",
    show_default=True,
    help="The language the content is written in; the others are translated from it.",
)
def translations_export(file: Path, source: str) -> None:
    """Write every translatable text to FILE.xlsx: one row per text, one column per language."""
    from bot.staff.translations import export

    root = _settings().content_dir
    rows = export(root, file, source)
    click.echo(f"{file}: {rows} texts from {root}")


@translations.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def translations_import(file: Path) -> None:
    """Write the texts changed in FILE.xlsx back into the YAML and PO files, then check them.

    Only cells a translator changed are written; everything else in the files stays as it was.
    Exits 1 when a cell was refused or the content has errors afterwards.
    """
    from bot.content.problems import warning_summary
    from bot.staff.translations import SheetError, import_

    settings = _settings()
    try:
        written, refused = import_(settings.content_dir, file)
    except SheetError as exc:
        raise click.ClickException(str(exc)) from None
    for line in written:
        click.echo(f"updated {line}")
    for line in refused:
        click.echo(f"not imported: {line}", err=True)
    result = check_content(settings.content_dir, settings.sms_segment_budget)
    for problem in result.errors:
        click.echo(str(problem))
    summary = warning_summary(result.problems)
    click.echo(f"{len(written)} text(s) updated; check: {summary}", err=True)
    sys.exit(1 if refused or result.errors else 0)


@main.command()
@click.option("--days", type=click.IntRange(1, 400), default=14, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table")
def report(days: int, fmt: str) -> None:
    """What people asked: questions per day, channel and language, top articles, questions
    the bot could not answer (masked), hand-offs and SMS cost. No personal data."""
    import asyncio

    from bot.staff.report import format_csv, format_table, gather
    from bot.store.stats import StatsUnavailable, open_stats

    settings = _settings()

    async def run() -> str:
        async with open_stats(
            settings.redis_url,
            settings.data_dir,
            prefix=settings.redis_prefix,
            text_days=settings.report_text_days,
        ) as stats:
            found = await gather(stats, days, settings.sms_price_per_segment)
        return format_csv(found) if fmt == "csv" else format_table(found)

    try:
        click.echo(asyncio.run(run()), nl=fmt != "csv")
    except StatsUnavailable as exc:
        raise click.ClickException(f"{exc}: check REDIS_URL") from None
