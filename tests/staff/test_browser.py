"""The staff preview in a real browser (headless Chromium): a wrong token is refused; the
right one opens the page; a staff member picks SMS and Kyrgyz, walks two levels down and sees
what each message costs in segments.

Needs Debian's `chromium` (.ci/run installs it) and the `playwright` package (dev extras); the
browser Playwright would download is never used. Without either the test is skipped, saying
why. SAFAR_SCREENSHOT=path saves the page as an image (docs/staff-preview.png is one).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.app import create_app
from bot.settings import Settings
from tests.conftest import STAFF_TOKEN

CHROMIUM = os.environ.get("SAFAR_CHROMIUM", "/usr/bin/chromium")


async def some_conversations(app: web.Application) -> None:
    """People on SMS and the web asking what the bot knows and what it does not."""
    from bot.app import CONVERSATIONS
    from bot.engine import Inbound
    from bot.store.base import SessionKey

    talk = app[CONVERSATIONS]
    assert talk.stats is not None
    for i, (channel, lang, question) in enumerate(
        [
            ("sms", "ru", "не платят зарплату"),
            ("sms", "ru", "Меня зовут Айдар, как купить билет на самолёт?"),
            ("web", "ky", "патент канча турат"),
            ("web", "en", "my name is Ali, where can I buy a SIM card? +7 916 123 45 67"),
            ("sms", "tg", "Чӣ тавр билети самолёт харам?"),
        ]
    ):
        key = SessionKey(channel, f"person-{i:04d}")
        await talk.handle(key, Inbound(command="language", arg=lang))
        await talk.handle(key, Inbound(text=question))
        await talk.stats.record_sms(2 if channel == "sms" else 0)


def _browser_or_skip() -> str:
    """The Chromium to drive, or a skip that says what is missing (never a silent pass)."""
    executable = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if executable is None:
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install -y chromium (.ci/run does)")
    pytest.importorskip("playwright.async_api", reason="pip install playwright (dev extras)")
    return executable


def _size(path: Path) -> int:
    return path.stat().st_size


async def test_staff_log_in_and_walk_the_sms_preview_in_kyrgyz(
    staff_app_settings: Settings,
    aiohttp_server: Callable[[web.Application], Awaitable[TestServer]],
    tmp_path: Path,
) -> None:
    executable = _browser_or_skip()
    from playwright.async_api import async_playwright, expect

    server = await aiohttp_server(create_app(staff_app_settings))
    base = f"http://127.0.0.1:{server.port}"
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = await browser.new_page(viewport={"width": 1100, "height": 1400})
            errors: list[str] = []  # a CSP violation or a script error shows up here
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

            # a wrong token is refused, and the page shows nothing but the form
            response = await page.goto(f"{base}/staff/preview")
            assert response is not None and response.status == 401
            await page.fill("#token", "not-the-token-" + "x" * 30)
            async with page.expect_navigation():
                await page.click("#login-button")
            await expect(page.locator(".error")).to_contain_text("Wrong token")
            assert await page.locator("#log").count() == 0

            # the right token opens the preview
            await page.fill("#token", STAFF_TOKEN)
            async with page.expect_navigation():
                await page.click("#login-button")
            await expect(page.locator("#log")).to_be_visible()

            # SMS, Kyrgyz: the main menu in both scripts
            await page.check("input[name=channel][value=sms]")
            await page.select_option("#lang", "ky")
            cyr = page.locator(".phone[data-script=cyr] pre")
            await expect(cyr.first).to_contain_text("Теманы тандаңыз")
            await expect(page.locator(".phone[data-script=lat] pre").first).to_contain_text(
                "Temany"
            )

            # two levels down: 2 Documents, then 2 the work patent, typed as on a phone
            for key, expected in (("2", "Документтер"), ("2", "Патент")):
                before = await page.locator(".sms").count()
                await page.fill("#text", key)
                await page.press("#text", "Enter")
                await expect(page.locator(".sms")).to_have_count(before + 1)
                await expect(page.locator(".sms").last).to_contain_text(expected)

            meta = page.locator(".sms").last.locator(".meta")
            await expect(meta.first).to_contain_text("segment")
            await expect(meta.first).to_contain_text("UCS-2")
            await expect(meta.last).to_contain_text("GSM-7")
            segments = await meta.first.get_attribute("data-segments")
            assert segments is not None and int(segments) >= 1
            await expect(page.locator("#totals")).to_contain_text("3 SMS")
            assert [e for e in errors if "status of 401" not in e] == []  # (the login page)

            shot = Path(os.environ.get("SAFAR_SCREENSHOT") or tmp_path / "staff-preview.png")
            await page.screenshot(path=str(shot), full_page=True)
            assert _size(shot) > 10_000

            # the report, with a few real conversations behind it, drawn without a script
            await some_conversations(server.app)
            await page.click("text=Report")
            await expect(page.locator("svg.chart")).to_have_count(3)
            await expect(page.locator("svg.chart").nth(1)).to_contain_text("[name]")
            assert [e for e in errors if "status of 401" not in e] == []
            shot = shot.with_name(shot.name.replace("preview", "report"))
            await page.screenshot(path=str(shot), full_page=True)
        finally:
            await browser.close()
