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


def _browser_or_skip() -> None:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install -y chromium (.ci/run does)")
    pytest.importorskip("playwright.async_api", reason="pip install playwright (dev extras)")


async def test_staff_log_in_and_walk_the_sms_preview_in_kyrgyz(
    staff_app_settings: Settings,
    aiohttp_server: Callable[[web.Application], Awaitable[TestServer]],
    tmp_path: Path,
) -> None:
    _browser_or_skip()
    from playwright.async_api import async_playwright, expect

    server = await aiohttp_server(create_app(staff_app_settings))
    base = f"http://127.0.0.1:{server.port}"
    async with async_playwright() as pw:
        executable = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
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
            assert shot.stat().st_size > 10_000
        finally:
            await browser.close()
