"""python-telegram-bot's calls to the Bot API over aiohttp's client instead of httpx.

Why: py-spy of a Telegram process at 100 updates/s put a fifth of its CPU in httpx, httpcore
and anyio (a cancel scope and a pool check per request), for the one `sendMessage` each reply
is. aiohttp is already the server; its client parses in C and keeps the connections alive the
same way. PTB supports this: `ApplicationBuilder.request()` takes any `BaseRequest`, and PTB
itself still builds every call, reads every answer and raises its own errors from the status.

The wire format is the one PTB's own HTTPXRequest sends (form fields, objects JSON-encoded in
them; multipart when a file goes up), and the timeouts mean the same: connect, read, write
(bounded with the whole request) and the wait for a free connection of the pool.
"""

from __future__ import annotations

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData


class AiohttpRequest(BaseRequest):
    """`pool_size` connections at most; the timeouts are HTTPXRequest's defaults."""

    def __init__(
        self,
        pool_size: int,
        *,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self.pool_size = pool_size
        self._read = read_timeout
        self._write = write_timeout
        self._connect = connect_timeout
        self._pool = pool_timeout
        self._media_write = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self.pool_size, limit_per_host=self.pool_size)
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": self.USER_AGENT}
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        read = _given(read_timeout, self._read)
        write = _given(write_timeout, self._media_write if files else self._write)
        connect = _given(connect_timeout, self._connect)
        pool = _given(pool_timeout, self._pool)
        parts = (read, write, connect, pool)
        # aiohttp has no write timeout of its own: the whole request is bounded by the sum
        total = None if None in parts else sum(p for p in parts if p is not None)
        timeout = aiohttp.ClientTimeout(
            total=total,
            connect=None if connect is None or pool is None else connect + pool,
            sock_connect=connect,
            sock_read=read,
        )
        body: aiohttp.FormData | dict[str, str] | None = None
        if request_data is not None:
            body = request_data.json_parameters
            if files:
                form = aiohttp.FormData(body)
                for name, value in files.items():
                    if isinstance(value, tuple):
                        form.add_field(name, value[1], filename=value[0], content_type=value[2])
                    else:
                        form.add_field(name, value)
                body = form
        try:
            async with self._session.request(method, url, data=body, timeout=timeout) as resp:
                return resp.status, await resp.read()
        except aiohttp.ConnectionTimeoutError as exc:
            # aiohttp's connect timeout includes the wait for a free connection
            raise TimedOut("aiohttp: no connection to the Bot API in time") from exc
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {_untokened(exc, url)}") from exc


def _untokened(exc: Exception, url: str) -> str:
    """The error's text without the request URL, which holds the bot token (these errors are
    logged, and privacy.py keeps tokens out of logs)."""
    return str(exc).replace(url, url.split("/bot", 1)[0] + "/bot<token>/…")


def _given(value: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(value, DefaultValue) else value
