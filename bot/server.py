"""Run the app until Ctrl-C or SIGTERM, and say what is running where."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from bot.app import CHANNELS, CONTENT, create_app
from bot.settings import Settings

log = logging.getLogger("safar")


async def serve_forever(settings: Settings) -> None:
    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    url = f"http://{settings.host}:{settings.port}/"
    redis = (settings.redis_url and "REDIS_URL") or f"embedded Redis in {settings.data_dir}"
    channels = app[CHANNELS]
    log.info("Safar is running: %s  (storage: %s)", url, redis)
    log.info("channels: %s; health: %shealthz; Ctrl-C to stop", ", ".join(channels), url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # `kill -HUP <pid>` after editing content: checked aside, swapped in only if clean
    loop.add_signal_handler(signal.SIGHUP, app[CONTENT].reload)
    try:
        await stop.wait()
    finally:
        log.info("stopping")
        await runner.cleanup()
