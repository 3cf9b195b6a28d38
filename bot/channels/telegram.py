"""The Telegram channel (issue 4): not built yet."""

from aiohttp import web


def setup(app: web.Application) -> None:
    raise NotImplementedError("the Telegram channel is not built yet")
