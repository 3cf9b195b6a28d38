"""A loopback Telegram Bot API server (aiohttp) for tests and benchmarks, and people to drive it.

It speaks the wire format python-telegram-bot 22 relies on, as the real server does:
- dates in seconds; `is_bot` on every user; `chat_instance` on every callback query;
- edits of a message return the edited Message (not null); "message is not modified" is a 400;
- errors are `{"ok": false, "error_code", "description"}` with the same HTTP status, a flood
  error is a 429 with `parameters.retry_after`, a wrong token a 401, getUpdates while a webhook
  is set a 409;
- parameters come form-encoded, objects in them as JSON (what PTB sends), or as a JSON body;
- HTML is parsed: unsupported or unbalanced tags are a 400, and the 4096 limit is checked on
  the visible text in UTF-16 code units, as Telegram counts it;
- `callback_data` over 64 bytes and non-http(s)/tg button URLs are a 400.

Webhook delivery follows the official Bot API server (tdlib/telegram-bot-api, WebhookActor): the
updates of one chat go one at a time, each after the previous one was answered, different chats
in parallel up to `max_connections`, the secret in `X-Telegram-Bot-Api-Secret-Token`. Unlike
Telegram it accepts plain-http loopback URLs, since tests have no certificate.

A test acts as a person (`api.person(...)`): sends text or a command, presses a button, sends a
photo, and reads what the bot sent (`await person.replies()`), edits included.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import random
import re
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, Literal

import aiohttp
from aiohttp import web

JSON_FIELDS = {
    "reply_markup",
    "commands",
    "scope",
    "allowed_updates",
    "link_preview_options",
    "reply_parameters",
    "entities",
}
INT_FIELDS = {
    "chat_id",
    "message_id",
    "offset",
    "limit",
    "timeout",
    "max_connections",
    "message_thread_id",
    "icon_color",
}
BOOL_FIELDS = {"drop_pending_updates", "show_alert", "disable_notification", "protect_content"}
CHAT_ACTIONS = {
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
}
TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "blockquote": "blockquote",
}
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


class ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.parameters:
            out["parameters"] = self.parameters
        return out


def utf16_len(text: str) -> int:
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def now() -> int:
    return int(time.time())


# -- what a person sees --------------------------------------------------------------------


@dataclass(frozen=True)
class Button:
    text: str
    callback_data: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Seen:
    """One thing the bot showed in a chat: a new message, an edit of one, or a contact card."""

    kind: Literal["sent", "edited", "contact"]
    message_id: int
    text: str
    html: str
    rows: tuple[tuple[Button, ...], ...] = ()
    entities: tuple[dict[str, Any], ...] = ()
    contact: dict[str, Any] | None = None
    thread: int | None = None
    """The forum topic the message is in, in a forum supergroup."""
    reply_to: int | None = None
    at: float = field(default_factory=time.monotonic)
    """When the bot's call arrived (for benchmarks)."""

    @property
    def labels(self) -> list[str]:
        return [b.text for row in self.rows for b in row]

    def styled(self, kind: str) -> list[str]:
        """The text under each entity of this type ("bold", "italic"…), as Telegram shows it."""
        units = self.text.encode("utf-16-le")
        return [
            units[2 * e["offset"] : 2 * (e["offset"] + e["length"])].decode("utf-16-le")
            for e in self.entities
            if e["type"] == kind
        ]


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    status: int = 0
    at: float = field(default_factory=time.monotonic)


@dataclass
class Failure:
    code: int
    description: str
    parameters: dict[str, Any] | None


@dataclass
class Chat:
    info: dict[str, Any]
    instance: str = field(default_factory=lambda: str(random.getrandbits(63)))
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    markup_changes: list[int] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    blocked: bool = False
    topics: dict[int, dict[str, Any]] = field(default_factory=dict)
    """Forum topics by message_thread_id (supergroups with is_forum only)."""
    bot_can_manage_topics: bool = True

    @property
    def id(self) -> int:
        return int(self.info["id"])


# -- HTML as Telegram parses it ------------------------------------------------------------


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.units = 0
        self.stack: list[tuple[str, int, dict[str, str | None]]] = []
        self.entities: list[dict[str, Any]] = []

    def _fail(self, what: str) -> ApiError:
        return ApiError(400, f"Bad Request: can't parse entities: {what}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag not in TAGS or (tag == "span" and attributes.get("class") != "tg-spoiler"):
            raise self._fail(f'Unsupported start tag "{tag}"')
        if tag == "a" and not attributes.get("href"):
            raise self._fail("Can't find href attribute of the link")
        self.stack.append((tag, self.units, attributes))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1][0] != tag:
            expected = self.stack[-1][0] if self.stack else "nothing"
            raise self._fail(f'Unmatched end tag "{tag}", expected "{expected}"')
        name, start, attributes = self.stack.pop()
        if self.units > start:
            entity: dict[str, Any] = {
                "type": TAGS[name],
                "offset": start,
                "length": self.units - start,
            }
            if name == "a":
                href = attributes.get("href") or ""
                if not re.match(r"^(https?|tg|ton)://", href):
                    return  # Telegram drops links it does not allow and keeps the text
                entity["url"] = href
            self.entities.append(entity)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        self.units += utf16_len(data)


def parse_text(text: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    if not parse_mode:
        return text, []
    if parse_mode.upper() != "HTML":
        raise ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode!r} in this emulator")
    parser = _Html()
    parser.feed(text)
    parser.close()
    if parser.stack:
        raise parser._fail(
            f'Can\'t find end tag corresponding to start tag "{parser.stack[-1][0]}"'
        )
    return "".join(parser.parts), sorted(
        parser.entities, key=lambda e: (e["offset"], -e["length"])
    )


def text_entities(text: str) -> list[dict[str, Any]]:
    """What Telegram marks in a person's message: a leading /command, @mentions."""
    out = []
    command = re.match(r"^/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?", text)
    if command:
        out.append({"type": "bot_command", "offset": 0, "length": utf16_len(command.group(0))})
    for m in re.finditer(r"(?<![\w@])@[A-Za-z0-9_]{2,32}\b", text):
        out.append(
            {"type": "mention", "offset": utf16_len(text[: m.start()]), "length": len(m.group())}
        )
    return out


# -- the server ------------------------------------------------------------------------------


class BotAPI:
    """The Bot API of one bot, on 127.0.0.1. `await api.start()`, then point PTB at `api.url`."""

    def __init__(self, username: str = "safar_test_bot", first_name: str = "Safar") -> None:
        self.bot_id = random.randint(10**9, 2 * 10**9)
        self.token = f"{self.bot_id}:{secrets.token_urlsafe(26)}"
        self.username = username
        self.first_name = first_name
        self.url = ""
        self.calls: list[Call] = []
        self.latency: tuple[float, float] = (0.0, 0.0)
        """Seconds of random delay on each outgoing-message call, to shake out ordering bugs."""
        self.webhook: dict[str, Any] | None = None
        self.webhook_deliveries: list[tuple[int, int | None]] = []
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.descriptions: dict[str, str] = {}
        self.short_descriptions: dict[str, str] = {}
        self.chats: dict[int, Chat] = {}
        self.queries: dict[str, dict[str, Any]] = {}
        self._closing = False
        self._update_ids = itertools.count(random.randint(10**6, 10**8))
        self._pending: list[dict[str, Any]] = []
        self._failures: dict[str, deque[Failure]] = {}
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._delivery_locks: dict[int, asyncio.Lock] = {}
        self._connections = asyncio.Semaphore(40)
        self._tasks: set[asyncio.Task[None]] = set()
        self._people = itertools.count(random.randint(10**8, 9 * 10**8))
        self._methods: dict[str, Callable[[dict[str, Any]], Any]] = {
            name.lower(): getattr(self, f"_m_{_snake(name)}")
            for name in (
                "getMe",
                "getUpdates",
                "setWebhook",
                "deleteWebhook",
                "getWebhookInfo",
                "sendMessage",
                "editMessageText",
                "editMessageReplyMarkup",
                "answerCallbackQuery",
                "sendChatAction",
                "sendContact",
                "createForumTopic",
                "deleteForumTopic",
                "setMyCommands",
                "getMyCommands",
                "deleteMyCommands",
                "setMyDescription",
                "setMyShortDescription",
                "logOut",
                "close",
            )
        }

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application(client_max_size=10 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/file/bot{token}/{path:.*}", self._no_files)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        self._session = aiohttp.ClientSession()
        return self.url

    async def close(self) -> None:
        self._closing = True  # ends long polls now, instead of after their timeout
        await self._touch()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- for tests -----------------------------------------------------------------------------

    def person(
        self,
        first_name: str = "Aida",
        language_code: str | None = "ru",
        user_id: int | None = None,
    ) -> Person:
        """Someone who opened a private chat with the bot."""
        uid = user_id or next(self._people)
        user = {"id": uid, "is_bot": False, "first_name": first_name}
        if language_code:
            user["language_code"] = language_code
        chat = self.chats.setdefault(
            uid, Chat({"id": uid, "type": "private", "first_name": first_name})
        )
        return Person(self, user, chat)

    def staff_group(self, title: str = "Hotline operators", forum: bool = True) -> Group:
        """The operators' supergroup; `forum` turns topics on (the bot is an admin there)."""
        chat_id = -(10**12) - random.randint(10**6, 10**9)
        info = {"id": chat_id, "type": "supergroup", "title": title, "is_forum": forum}
        chat = self.chats[chat_id] = Chat(info)
        return Group(self, chat)

    def group(self, title: str = "Migrants in Moscow") -> Group:
        gid = -(10**12) - next(self._people)
        chat = self.chats.setdefault(gid, Chat({"id": gid, "type": "supergroup", "title": title}))
        return Group(self, chat)

    def fail(
        self,
        method: str,
        *,
        code: int = 429,
        retry_after: int = 1,
        description: str | None = None,
        times: int = 1,
    ) -> None:
        """The next `times` calls of `method` fail as Telegram would fail them."""
        params = {"retry_after": retry_after} if code == 429 else None
        text = description or (
            f"Too Many Requests: retry after {retry_after}" if code == 429 else "Bad Request"
        )
        queue = self._failures.setdefault(method.lower(), deque())
        queue.extend(Failure(code, text, params) for _ in range(times))

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method.lower() == method.lower()]

    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }

    async def push(self, update: dict[str, Any]) -> None:
        """Hand an update to the bot: by webhook if one is set, else to getUpdates."""
        if self.webhook is not None:
            chat_id = _chat_of(update)
            task = asyncio.create_task(self._post(update, chat_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        async with self._changed:
            self._pending.append(update)
            self._changed.notify_all()

    def new_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        return {"update_id": next(self._update_ids), kind: payload}

    async def wait_for(self, condition: Callable[[], bool], within: float, what: str) -> None:
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(condition), within)
            except TimeoutError:
                raise AssertionError(f"timed out after {within} s waiting for {what}") from None

    async def _touch(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- HTTP --------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(ApiError(401, "Unauthorized"))
        method = request.match_info["method"]
        handler = self._methods.get(method.lower())
        if handler is None:
            return _error(ApiError(404, "Not Found: method not found"))
        try:
            params = await _params(request)
        except ValueError as exc:
            return _error(ApiError(400, f"Bad Request: {exc}"))
        except ConnectionResetError:  # the client gave up mid-request (a cancelled call)
            return web.Response(status=499)
        call = Call(method, params)
        self.calls.append(call)
        try:
            return await self._answer(call, handler)
        finally:
            await self._touch()  # a test may be waiting for this call

    async def _answer(self, call: Call, handler: Callable[[dict[str, Any]], Any]) -> web.Response:
        method, params = call.method, call.params
        queue = self._failures.get(method.lower())
        if queue:
            failure = queue.popleft()
            call.status = failure.code
            return _error(ApiError(failure.code, failure.description, failure.parameters))
        if method.lower() != "getupdates" and self.latency[1] > 0:
            await asyncio.sleep(random.uniform(*self.latency))
        try:
            result = handler(params)
            if asyncio.iscoroutine(result):
                result = await result
        except ApiError as exc:
            call.status = exc.code
            return _error(exc)
        call.status = 200
        return web.json_response({"ok": True, "result": result})

    async def _no_files(self, request: web.Request) -> web.Response:
        return _error(ApiError(404, "Not Found: file not found"))

    async def _post(self, update: dict[str, Any], chat_id: int | None) -> None:
        lock = self._delivery_locks.setdefault(chat_id or 0, asyncio.Lock())
        async with lock, self._connections:
            for attempt in range(3):
                hook = self.webhook
                if hook is None or self._session is None:
                    return
                headers = {}
                if hook.get("secret_token"):
                    headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
                status: int | None = None
                try:
                    async with self._session.post(hook["url"], json=update, headers=headers) as r:
                        status = r.status
                except aiohttp.ClientError:
                    status = None
                self.webhook_deliveries.append((update["update_id"], status))
                if status is not None and 200 <= status < 300:
                    return
                await asyncio.sleep(0.05 * (attempt + 1))

    # -- methods -------------------------------------------------------------------------------

    def _m_get_me(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _m_get_updates(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        offset = int(p.get("offset") or 0)
        limit = max(1, min(100, int(p.get("limit") or 100)))
        timeout = max(0, int(p.get("timeout") or 0))
        allowed = p.get("allowed_updates")

        def ready() -> list[dict[str, Any]]:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
            return [u for u in self._pending if not allowed or _kind(u) in allowed][:limit]

        async with self._changed:
            if not ready() and timeout:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._changed.wait_for(lambda: bool(ready()) or self._closing), timeout
                    )
            return copy.deepcopy(ready())

    async def _m_set_webhook(self, p: dict[str, Any]) -> bool:
        url = str(p.get("url") or "")
        if not url:
            return self._m_delete_webhook(p)
        if not re.match(r"^https?://", url):
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        secret = p.get("secret_token")
        if secret is not None and not re.match(r"^[A-Za-z0-9_-]{1,256}$", str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        if p.get("drop_pending_updates"):
            self._pending.clear()
        self.webhook = {
            "url": url,
            "secret_token": secret,
            "allowed_updates": p.get("allowed_updates"),
            "max_connections": int(p.get("max_connections") or 40),
        }
        self._connections = asyncio.Semaphore(self.webhook["max_connections"])
        waiting, self._pending = self._pending, []
        for update in waiting:
            await self.push(update)
        return True

    def _m_delete_webhook(self, p: dict[str, Any]) -> bool:
        self.webhook = None
        if p.get("drop_pending_updates"):
            self._pending.clear()
        return True

    def _m_get_webhook_info(self, p: dict[str, Any]) -> dict[str, Any]:
        hook = self.webhook or {}
        info: dict[str, Any] = {
            "url": hook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if hook:
            info["max_connections"] = hook["max_connections"]
        return info

    async def _m_send_message(self, p: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(p)
        text, entities = parse_text(str(p.get("text") or ""), p.get("parse_mode"))
        _check_text(text)
        markup = _check_markup(p.get("reply_markup"))
        extra: dict[str, Any] = {}
        thread = p.get("message_thread_id")
        if thread is not None:
            if int(thread) not in chat.topics:
                raise ApiError(400, "Bad Request: message thread not found")
            extra = {"message_thread_id": int(thread), "is_topic_message": True}
        message = self._new_message(chat, text=text, entities=entities, markup=markup, extra=extra)
        if p.get("reply_parameters"):
            replied = chat.messages.get(int(p["reply_parameters"].get("message_id", 0)))
            if replied is not None:
                message["reply_to_message"] = copy.deepcopy(replied)
        chat.seen.append(_seen("sent", message, str(p.get("text") or "")))
        await self._touch()
        return copy.deepcopy(message)

    async def _m_send_contact(self, p: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(p)
        if not p.get("phone_number") or not p.get("first_name"):
            raise ApiError(400, "Bad Request: phone number and first name are required")
        contact = {"phone_number": str(p["phone_number"]), "first_name": str(p["first_name"])}
        markup = _check_markup(p.get("reply_markup"))
        message = self._new_message(chat, contact=contact, markup=markup)
        chat.seen.append(_seen("contact", message, ""))
        await self._touch()
        return copy.deepcopy(message)

    async def _m_create_forum_topic(self, p: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(p)
        if not chat.info.get("is_forum"):
            raise ApiError(400, "Bad Request: the chat is not a forum")
        if not chat.bot_can_manage_topics:
            raise ApiError(400, "Bad Request: not enough rights to create a topic")
        name = str(p.get("name") or "")
        if not 1 <= len(name) <= 128:
            raise ApiError(400, "Bad Request: TOPIC_NAME_INVALID")
        created = self._new_message(
            chat, extra={"forum_topic_created": {"name": name, "icon_color": 7322096}}
        )
        thread = created["message_id"]
        created["message_thread_id"] = thread
        created["is_topic_message"] = True
        topic = {"message_thread_id": thread, "name": name, "icon_color": 7322096}
        chat.topics[thread] = topic
        await self._touch()
        return dict(topic)

    async def _m_delete_forum_topic(self, p: dict[str, Any]) -> bool:
        chat = self._chat(p)
        thread = int(p.get("message_thread_id") or 0)
        if chat.topics.pop(thread, None) is None:
            raise ApiError(400, "Bad Request: TOPIC_ID_INVALID")
        for mid in [
            m for m, msg in chat.messages.items() if msg.get("message_thread_id") == thread
        ]:
            del chat.messages[mid]
        chat.seen = [x for x in chat.seen if x.thread != thread]
        await self._touch()
        return True

    async def _m_edit_message_text(self, p: dict[str, Any]) -> dict[str, Any]:
        chat, message = self._editable(p)
        if "text" not in message:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        text, entities = parse_text(str(p.get("text") or ""), p.get("parse_mode"))
        _check_text(text)
        markup = _check_markup(p.get("reply_markup"))
        if (
            message["text"] == text
            and message.get("entities", []) == entities
            and message.get("reply_markup") == markup
        ):
            raise ApiError(400, NOT_MODIFIED)
        message["text"] = text
        _set(message, "entities", entities)
        _set(message, "reply_markup", markup)
        message["edit_date"] = now()
        chat.seen.append(_seen("edited", message, str(p.get("text") or "")))
        await self._touch()
        return copy.deepcopy(message)

    async def _m_edit_message_reply_markup(self, p: dict[str, Any]) -> dict[str, Any]:
        chat, message = self._editable(p)
        markup = _check_markup(p.get("reply_markup"))
        if message.get("reply_markup") == markup:
            raise ApiError(400, NOT_MODIFIED)
        _set(message, "reply_markup", markup)
        message["edit_date"] = now()
        chat.markup_changes.append(message["message_id"])
        await self._touch()
        return copy.deepcopy(message)

    async def _m_answer_callback_query(self, p: dict[str, Any]) -> bool:
        query = self.queries.get(str(p.get("callback_query_id")))
        if query is None or query["answered"]:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is "
                "invalid",
            )
        text = p.get("text")
        if text is not None and len(str(text)) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        query["answered"] = True
        query["text"] = text
        await self._touch()
        return True

    def _m_send_chat_action(self, p: dict[str, Any]) -> bool:
        chat = self._chat(p)
        action = str(p.get("action"))
        if action not in CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        chat.actions.append(action)
        return True

    def _m_set_my_commands(self, p: dict[str, Any]) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: commands must be a list of at most 100")
        for c in commands:
            if not re.match(r"^[a-z0-9_]{1,32}$", str(c.get("command"))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(c.get("description") or "")) <= 256:
                raise ApiError(400, "Bad Request: command description must be 1-256 characters")
        self.commands[_scope(p)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def _m_get_my_commands(self, p: dict[str, Any]) -> list[dict[str, str]]:
        return self.commands.get(_scope(p), [])

    def _m_delete_my_commands(self, p: dict[str, Any]) -> bool:
        self.commands.pop(_scope(p), None)
        return True

    def _m_set_my_description(self, p: dict[str, Any]) -> bool:
        text = str(p.get("description") or "")
        if len(text) > 512:
            raise ApiError(400, "Bad Request: description is too long")
        self.descriptions[str(p.get("language_code") or "")] = text
        return True

    def _m_set_my_short_description(self, p: dict[str, Any]) -> bool:
        text = str(p.get("short_description") or "")
        if len(text) > 120:
            raise ApiError(400, "Bad Request: short description is too long")
        self.short_descriptions[str(p.get("language_code") or "")] = text
        return True

    def _m_log_out(self, p: dict[str, Any]) -> bool:
        return True

    def _m_close(self, p: dict[str, Any]) -> bool:
        return True

    # -- helpers -------------------------------------------------------------------------------

    def _chat(self, p: dict[str, Any]) -> Chat:
        try:
            chat = self.chats[int(p.get("chat_id") or 0)]
        except (KeyError, ValueError):
            raise ApiError(400, "Bad Request: chat not found") from None
        if chat.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _editable(self, p: dict[str, Any]) -> tuple[Chat, dict[str, Any]]:
        if p.get("inline_message_id"):
            raise ApiError(400, "Bad Request: inline messages are not supported by this emulator")
        chat = self._chat(p)
        message = chat.messages.get(int(p.get("message_id") or 0))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if message["from"]["id"] != self.bot_id:
            raise ApiError(400, "Bad Request: message can't be edited")
        return chat, message

    def _new_message(
        self,
        chat: Chat,
        *,
        text: str | None = None,
        entities: list[dict[str, Any]] | None = None,
        markup: dict[str, Any] | None = None,
        contact: dict[str, Any] | None = None,
        sender: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(chat.ids),
            "from": sender or self.bot_user(),
            "chat": dict(chat.info),
            "date": now(),
        }
        if text is not None:
            message["text"] = text
        if entities:
            message["entities"] = entities
        if contact is not None:
            message["contact"] = contact
        if markup is not None:
            message["reply_markup"] = markup
        message.update(extra or {})
        chat.messages[message["message_id"]] = message
        return message


class Person:
    """A Telegram user in one chat: what they do, and what they see the bot do."""

    def __init__(self, api: BotAPI, user: dict[str, Any], chat: Chat) -> None:
        self.api = api
        self.user = user
        self.chat = chat
        self._read = 0

    @property
    def id(self) -> int:
        return int(self.user["id"])

    # -- acting --------------------------------------------------------------------------------

    def text_update(
        self, text: str, reply_to: int | None = None, thread: int | None = None
    ) -> dict[str, Any]:
        """The update Telegram makes of a text this person sends (not delivered yet).

        In a forum topic Telegram marks the message as a reply to the topic's first message
        when it is not a reply to anything else, as the real server does."""
        extra: dict[str, Any] = {}
        if thread is not None:
            extra = {"message_thread_id": thread, "is_topic_message": True}
            reply_to = reply_to or thread
        if reply_to is not None:
            extra["reply_to_message"] = copy.deepcopy(self.chat.messages[reply_to])
        message = self._message(text=text, entities=text_entities(text), extra=extra)
        return self.api.new_update("message", message)

    async def send(
        self, text: str, reply_to: int | None = None, thread: int | None = None
    ) -> dict[str, Any]:
        update = self.text_update(text, reply_to, thread)
        await self.api.push(update)
        return update

    async def command(self, name: str, *args: str) -> dict[str, Any]:
        return await self.send(" ".join((f"/{name}", *args)))

    async def press(self, label: str, message_id: int | None = None) -> dict[str, Any]:
        """Press a button on the latest message that has buttons (or on `message_id`).

        `label` is the button's text, its digit ("2" for "2. Documents") or a part of its text.
        """
        update = self.press_update(label, message_id)
        await self.api.push(update)
        return update

    def press_update(self, label: str, message_id: int | None = None) -> dict[str, Any]:
        """The update Telegram makes of a press (not delivered yet), as `press` sends it."""
        message = (
            self.chat.messages[message_id] if message_id is not None else self._latest_keyboard()
        )
        button = _find_button(message, label)
        query_id = str(random.getrandbits(62))
        query = {
            "id": query_id,
            "from": dict(self.user),
            "message": copy.deepcopy(message),
            "chat_instance": self.chat.instance,
            "data": button["callback_data"],
        }
        self.api.queries[query_id] = {"answered": False, "text": None, "chat": self.chat.id}
        return self.api.new_update("callback_query", query)

    async def send_photo(self) -> dict[str, Any]:
        sizes = [
            {"file_id": f"ph{n}", "file_unique_id": f"u{n}", "width": n, "height": n}
            for n in (90, 800)
        ]
        return await self._media({"photo": sizes})

    async def send_sticker(self) -> dict[str, Any]:
        sticker = {
            "file_id": "st1",
            "file_unique_id": "ust1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
        }
        return await self._media({"sticker": sticker})

    async def send_voice(self) -> dict[str, Any]:
        voice = {
            "file_id": "vo1",
            "file_unique_id": "uvo1",
            "duration": 4,
            "mime_type": "audio/ogg",
        }
        return await self._media({"voice": voice})

    async def send_location(self) -> dict[str, Any]:
        return await self._media({"location": {"latitude": 55.7558, "longitude": 37.6173}})

    def block(self) -> None:
        """The person blocks the bot: every send to them is a 403 from now on."""
        self.chat.blocked = True

    # -- seeing --------------------------------------------------------------------------------

    async def replies(self, n: int = 1, within: float = 10.0) -> list[Seen]:
        """The next `n` things the bot showed in this chat (new messages, edits, contacts)."""
        await self.api.wait_for(
            lambda: len(self.chat.seen) - self._read >= n,
            within,
            f"{n} replies in chat {self.id} (have {self.chat.seen[self._read :]!r})",
        )
        out = self.chat.seen[self._read : self._read + n]
        self._read += n
        return out

    async def quiet(self, seconds: float = 0.3) -> None:
        """Nothing more arrives in this chat for a while."""
        await asyncio.sleep(seconds)
        extra = self.chat.seen[self._read :]
        assert not extra, f"expected silence, the bot sent {extra!r}"

    def message(self, message_id: int) -> dict[str, Any]:
        """A message as it is in the chat now (after any edits)."""
        return self.chat.messages[message_id]

    def toasts(self) -> list[str | None]:
        """The texts of the answers to this person's button presses, in order."""
        return [
            q["text"] for q in self.api.queries.values() if q["chat"] == self.id and q["answered"]
        ]

    # -- internals -------------------------------------------------------------------------------

    def _message(
        self,
        text: str | None = None,
        entities: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        message = self.api._new_message(
            self.chat, text=text, entities=entities or None, sender=dict(self.user), extra=extra
        )
        return copy.deepcopy(message)

    async def _media(self, payload: dict[str, Any]) -> dict[str, Any]:
        message = self._message(extra=payload)
        update = self.api.new_update("message", message)
        await self.api.push(update)
        return update

    def _latest_keyboard(self) -> dict[str, Any]:
        for message in reversed(self.chat.messages.values()):
            if message.get("reply_markup") and message["from"]["id"] == self.api.bot_id:
                return message
        raise AssertionError(f"no message with buttons in chat {self.id}")


class Group:
    def __init__(self, api: BotAPI, chat: Chat) -> None:
        self.api = api
        self.chat = chat
        self._read = 0

    def member(self, first_name: str = "Bakyt", language_code: str | None = "ky") -> Person:
        uid = next(self.api._people)
        user: dict[str, Any] = {"id": uid, "is_bot": False, "first_name": first_name}
        if language_code:
            user["language_code"] = language_code
        return Person(self.api, user, self.chat)

    @property
    def id(self) -> int:
        return self.chat.id

    def posts(self, thread: int | None = None) -> list[Seen]:
        """What the bot posted in this group (in one forum topic, when given)."""
        return [x for x in self.chat.seen if thread is None or x.thread == thread]

    async def wait_posts(
        self, n: int, within: float = 10.0, thread: int | None = None
    ) -> list[Seen]:
        await self.api.wait_for(
            lambda: len(self.posts(thread)) >= n, within, f"{n} posts in the staff group"
        )
        return self.posts(thread)

    async def add_bot(self, by: Person) -> dict[str, Any]:
        message = by._message(extra={"new_chat_members": [self.api.bot_user()]})
        update = self.api.new_update("message", message)
        await self.api.push(update)
        return update


def _find_button(message: dict[str, Any], label: str) -> dict[str, Any]:
    buttons: list[dict[str, Any]] = [
        b for row in message["reply_markup"]["inline_keyboard"] for b in row
    ]
    for test in (
        lambda t: t == label,
        lambda t: t.startswith(f"{label}. "),
        lambda t: label.casefold() in t.casefold(),
    ):
        for b in buttons:
            if test(b["text"]) and "callback_data" in b:
                return b
    raise AssertionError(f"no button {label!r} among {[b['text'] for b in buttons]}")


def _seen(kind: Literal["sent", "edited", "contact"], message: dict[str, Any], html: str) -> Seen:
    markup = message.get("reply_markup") or {}
    rows = tuple(
        tuple(Button(b["text"], b.get("callback_data"), b.get("url")) for b in row)
        for row in markup.get("inline_keyboard", [])
    )
    return Seen(
        kind=kind,
        message_id=message["message_id"],
        text=message.get("text", ""),
        html=html,
        rows=rows,
        entities=tuple(copy.deepcopy(message.get("entities", []))),
        contact=copy.deepcopy(message.get("contact")),
        thread=message.get("message_thread_id"),
        reply_to=(message.get("reply_to_message") or {}).get("message_id"),
    )


def _check_text(text: str) -> None:
    if not text.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    if utf16_len(text) > 4096:
        raise ApiError(400, "Bad Request: message is too long")


def _check_markup(markup: Any) -> dict[str, Any] | None:
    if markup is None:
        return None
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    if not isinstance(rows, list):
        raise ApiError(400, "Bad Request: only inline keyboards are supported by this emulator")
    for row in rows:
        for b in row:
            if not b.get("text"):
                raise ApiError(
                    400, "Bad Request: text buttons are unallowed in the inline keyboard"
                )
            data, url = b.get("callback_data"), b.get("url")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            if url is not None and not re.match(r"^(https?|tg)://", str(url)):
                raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
            if (data is None) == (url is None):
                raise ApiError(
                    400, "Bad Request: a button needs exactly one of callback_data, url"
                )
    return {"inline_keyboard": rows} if rows else None


def _set(message: dict[str, Any], key: str, value: Any) -> None:
    if value:
        message[key] = value
    else:
        message.pop(key, None)


def _scope(p: dict[str, Any]) -> tuple[str, str]:
    scope = p.get("scope") or {"type": "default"}
    return str(scope.get("type", "default")), str(p.get("language_code") or "")


def _kind(update: dict[str, Any]) -> str:
    return next(k for k in update if k != "update_id")


def _chat_of(update: dict[str, Any]) -> int | None:
    body = update[_kind(update)]
    chat = body.get("chat") or (body.get("message") or {}).get("chat")
    return int(chat["id"]) if chat else None


def _error(exc: ApiError) -> web.Response:
    return web.json_response(exc.body(), status=exc.code)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


async def _params(request: web.Request) -> dict[str, Any]:
    """PTB posts form fields with objects JSON-encoded; other clients may post JSON."""
    data: dict[str, Any]
    if request.content_type == "application/json":
        body = await request.json()
        if not isinstance(body, dict):
            raise ValueError("expected a JSON object")
        return dict(body)
    if request.can_read_body:
        form = await request.post()
        data = {k: v for k, v in form.items() if isinstance(v, str)}
    else:
        data = dict(request.query)
    for key, value in list(data.items()):
        if key in JSON_FIELDS:
            data[key] = json.loads(value)
        elif key in INT_FIELDS:
            data[key] = int(value)
        elif key in BOOL_FIELDS:
            data[key] = value == "true"
    return data
