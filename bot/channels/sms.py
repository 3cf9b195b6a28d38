"""The SMS channel (issue 5): not built yet."""

from aiohttp import web


def setup(app: web.Application) -> None:
    raise NotImplementedError("the SMS channel is not built yet")
