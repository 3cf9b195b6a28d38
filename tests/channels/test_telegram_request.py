"""PTB's calls over aiohttp (bot/channels/telegram/request.py), told as what a Bot API on
loopback receives: the same request PTB's own httpx client would have sent, and PTB's own
errors when the Bot API is slow, gone or failing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import BodyPartReader, web
from aiohttp.test_utils import TestServer
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest

from bot.channels.telegram.request import AiohttpRequest
from tests.fakes.telegram_safar import free_port

TOKEN = "123456:request-test-token"


@dataclass
class Seen:
    method: str
    content_type: str
    fields: dict[str, str]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)


@dataclass
class Recorder:
    """A Bot API that writes down each call as it arrived."""

    url: str = ""
    calls: list[Seen] = field(default_factory=list)
    delay: float = 0.0
    status: int = 200

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        fields: dict[str, str] = {}
        files: dict[str, tuple[str, bytes]] = {}
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                assert isinstance(part, BodyPartReader)
                data = await part.read()
                if part.filename:
                    files[str(part.name)] = (part.filename, bytes(data))
                else:
                    fields[str(part.name)] = bytes(data).decode()
        else:
            fields = {k: str(v) for k, v in (await request.post()).items()}
        self.calls.append(Seen(method, request.content_type, fields, files))
        await asyncio.sleep(self.delay)
        if self.status != 200:
            body = {"ok": False, "error_code": self.status, "description": "Bad Gateway"}
            return web.json_response(body, status=self.status)
        result: Any = {"id": 123456, "is_bot": True, "first_name": "Safar", "username": "t"}
        if method != "getMe":
            chat = {"id": int(fields.get("chat_id", "0")), "type": "private"}
            result = {"message_id": len(self.calls), "date": 0, "chat": chat, "text": "ok"}
        return web.json_response({"ok": True, "result": result})


@pytest.fixture
async def api(aiohttp_server: Callable[[web.Application], Awaitable[TestServer]]) -> Recorder:
    recorder = Recorder()
    app = web.Application()
    app.router.add_post("/bot{token}/{method}", recorder.handle)
    recorder.url = str((await aiohttp_server(app)).make_url("/bot"))
    return recorder


def bot_on(url: str, request: BaseRequest) -> Bot:
    return Bot(TOKEN, base_url=url, request=request, get_updates_request=AiohttpRequest(1))


KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("1 Работа", callback_data="n:work")]])


async def test_a_reply_reaches_the_bot_api_exactly_as_ptbs_own_client_sends_it(
    api: Recorder,
) -> None:
    for request in (HTTPXRequest(connection_pool_size=2), AiohttpRequest(2)):
        async with bot_on(api.url, request) as bot:
            message = await bot.send_message(
                42, "<b>Паспорт</b> & ҳуқуқ", parse_mode="HTML", reply_markup=KEYBOARD
            )
            assert message.message_id == len(api.calls)
    sent = [call for call in api.calls if call.method == "sendMessage"]
    assert len(sent) == 2
    by_httpx, by_aiohttp = sent
    assert by_aiohttp == by_httpx
    assert by_aiohttp.content_type == "application/x-www-form-urlencoded"
    assert by_aiohttp.fields["text"] == "<b>Паспорт</b> & ҳуқуқ"
    assert json.loads(by_aiohttp.fields["reply_markup"])["inline_keyboard"][0][0] == {
        "text": "1 Работа",
        "callback_data": "n:work",
    }


async def test_a_file_goes_up_as_multipart_with_its_name(api: Recorder) -> None:
    async with bot_on(api.url, AiohttpRequest(2)) as bot:
        await bot.send_document(42, b"name,topic\n", filename="report.csv", caption="week")
    upload = api.calls[-1]
    assert upload.method == "sendDocument"
    assert upload.content_type == "multipart/form-data"
    assert upload.fields["caption"] == "week"
    assert upload.files["document"] == ("report.csv", b"name,topic\n")


async def test_a_slow_bot_api_is_timed_out_and_a_failing_one_is_a_network_error(
    api: Recorder,
) -> None:
    async with bot_on(api.url, AiohttpRequest(2, read_timeout=0.2)) as bot:
        api.delay = 1.0
        with pytest.raises(TimedOut):
            await bot.send_message(42, "slow")
        api.delay, api.status = 0.0, 502
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(42, "failing")
    assert [call.fields["text"] for call in api.calls[1:]] == ["slow", "failing"]


async def test_a_bot_api_that_is_not_there_is_a_network_error_not_a_hang() -> None:
    gone = f"http://127.0.0.1:{free_port()}/bot"
    request = AiohttpRequest(1, connect_timeout=1.0)
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as raised:
            await request.post(f"{gone}{TOKEN}/getMe")
        assert not isinstance(raised.value, TimedOut)
    finally:
        await request.shutdown()
    with pytest.raises(NetworkError, match="not initialized"):  # PTB wraps it, as for httpx
        await request.post(f"{gone}{TOKEN}/getMe")


async def test_an_error_message_never_carries_the_bot_token(api: Recorder) -> None:
    request = AiohttpRequest(1)
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as raised:  # a URL aiohttp refuses names the URL
            await request.post(f"{api.url}{TOKEN}/getMe".replace("http://", "http://:99999"))
    finally:
        await request.shutdown()
    assert TOKEN not in str(raised.value)
    assert "aiohttp." in str(raised.value)
