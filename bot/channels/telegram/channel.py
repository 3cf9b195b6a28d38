"""The Telegram channel: python-telegram-bot 22 in front of `Conversations`, in our aiohttp app.

PTB does what it is good at (parsing updates, routing commands and buttons, rate limits and
retries on 429); the engine decides every answer, and Safar's Redis holds every session, so a
person's state is the same whichever process or channel they reach. No PTB persistence is used.

Updates arrive either by long polling (PTB's Updater, run inside this process) or on
`POST /telegram/webhook` of the one aiohttp app. In webhook mode an update is stored in Redis
(bot/store/inbound.py) and the request answered at once; a worker in every process runs the
stored updates (bot/channels/telegram/inbound.py). Telegram sends a chat's next update only
after our 200, so a slow turn or a slow Bot API would otherwise hold up the chat, and with
many chats Telegram's connections. Without Redis the update is processed before the answer,
and a 503 asks Telegram to repeat it when its reply could not be sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from aiohttp import web
from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import (
    BadRequest,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ExtBot,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import LANGUAGES
from bot.channels.telegram.inbound import InboundConfig, InboundWorker
from bot.channels.telegram.limits import SharedRateLimiter, Throttle, retry_seconds
from bot.channels.telegram.ordering import PerChatUpdateProcessor
from bot.channels.telegram.render import (
    Chunk,
    escape,
    keyboard,
    parse_callback,
    render,
    screen_token,
)
from bot.channels.telegram.replicas import PollingLease, webhook_secret_for
from bot.channels.telegram.request import AiohttpRequest
from bot.channels.telegram.staff import StaffDesk
from bot.channels.telegram.texts import COMMAND_NAMES, Texts, guess_language
from bot.conversations import ContentHolder, Conversations
from bot.engine import Inbound, Session, Turn
from bot.engine.types import FORGET, LANG_MENU, Command
from bot.outbox import GiveUp, Retry, Sender, SenderConfig
from bot.privacy import Burst, mask
from bot.settings import Settings
from bot.store.base import SessionKey, Store, StoreUnavailable
from bot.store.inbound import InboundStore, Stored
from bot.store.order import Ticket
from bot.store.outbox import OutMessage

log = logging.getLogger(__name__)
_forged = Burst(log)
"""Forged webhook calls come in floods: one line a minute, with a count."""

T = TypeVar("T")

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ("message", "callback_query")
DEDUPE_TTL = 24 * 3600
"""Telegram keeps an undelivered update for 24 hours, so a repeat can come at most that late."""

EDITABLE = frozenset({"menu", "languages", "confirm", "forgotten"})
"""A button on a menu-like message that leads to one of these replaces the message in place, as
a native Telegram menu does; an article always comes as a new message, so it stays readable."""

COMMANDS: dict[str, Command] = {name: name for name in COMMAND_NAMES}

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)

Context = ContextTypes.DEFAULT_TYPE
TelegramApp = Application[Any, Any, Any, Any, Any, Any]

POOL_SIZE = SenderConfig().parallel + 2 * InboundConfig().parallel + 2
"""Bot API connections at most in use at once: one per outbox lane sending, two per update in
progress (answering a button or "typing…" while its turn runs), two for the start-up calls.
PTB's default (256) would let a slow Bot API tie up that many sockets; fewer than this would
make sends wait for a free one (and time out after PTB's pool_timeout)."""


@dataclass(frozen=True)
class TelegramConfig:
    token: str
    api_url: str = "https://api.telegram.org"
    webhook_url: str | None = None
    webhook_secret: str | None = None
    max_rate: float = 30.0
    """Messages per second to Telegram over all chats (its documented limit); 0 turns the rate
    limiter off, for benchmarks against a loopback stub only."""
    max_retries: int = 3
    """How often one request is retried after a 429, each time after Telegram's retry_after."""
    typing_delay: float = 0.8
    """A "typing…" indicator is sent only when an answer takes longer than this."""
    operator_chat_id: int | None = None
    """The staff group where operators answer tickets (TELEGRAM_OPERATOR_CHAT_ID)."""
    operator_ids: frozenset[int] = frozenset()
    """Who may act on tickets there; empty = every member of that group."""
    pool_size: int = POOL_SIZE
    background: bool = True
    """Runs the stored updates here (SAFAR_BACKGROUND); off, the webhook only stores them."""

    @classmethod
    def from_settings(cls, settings: Settings) -> TelegramConfig:
        """A webhook URL without a path gets ours: https://host -> https://host/telegram/webhook."""
        url = settings.telegram_webhook_url
        if url and urlsplit(url).path in ("", "/"):
            url = url.rstrip("/") + WEBHOOK_PATH
        return cls(
            token=settings.telegram_bot_token or "",
            api_url=settings.telegram_api_url.rstrip("/"),
            webhook_url=url,
            webhook_secret=settings.telegram_webhook_secret,
            max_rate=settings.telegram_max_rate,
            operator_chat_id=settings.telegram_operator_chat_id,
            operator_ids=frozenset(settings.telegram_operator_ids),
            background=settings.background,
        )

    @property
    def mode(self) -> str:
        return "webhook" if self.webhook_url else "polling"


class TelegramChannel:
    def __init__(self, config: TelegramConfig, content: ContentHolder) -> None:
        self.config = config
        self.content = content
        self.texts = Texts(content)
        self.secret = config.webhook_secret or webhook_secret_for(config.token)
        """Sent to Telegram with setWebhook; Telegram echoes it on every webhook call. The same
        on every replica (bot/channels/telegram/replicas.py)."""
        self.poll_lease: PollingLease | None = None
        """Set in polling mode with Redis: one poller per bot across processes."""
        self.application: TelegramApp = self._build()
        self.ready = asyncio.Event()
        self.failure: str | None = None
        """Why the channel is off, when a person has to fix something (a rejected token)."""
        self._conversations: Conversations | None = None
        self._store: Store | None = None
        self._task: asyncio.Task[None] | None = None
        self.sender: Sender | None = None
        """Delivers the outbox (replies, operators' words) when this process holds its lease."""
        self.staff: StaffDesk | None = None
        """The operators' side, when TELEGRAM_OPERATOR_CHAT_ID is set."""
        self._unanswered: set[int] = set()
        """Updates whose reply neither reached Telegram nor the outbox (Redis was down)."""
        self._no_forum: set[int] = set()
        """Staff chats where createForumTopic was refused: tickets use reply threads there."""
        self._queue_for: Callable[[int], InboundStore] | None = None
        self.inbound: InboundWorker | None = None
        """Runs the updates the webhook stored (webhook mode with Redis)."""

    # -- building ------------------------------------------------------------------------

    def _build(self) -> TelegramApp:
        api = self.config.api_url
        builder: Any = (  # Any: PTB's builder generics do not follow a rate limiter's type
            Application.builder()
            .token(self.config.token)
            .base_url(f"{api}/bot")
            .base_file_url(f"{api}/file/bot")
            .concurrent_updates(PerChatUpdateProcessor())
            .request(AiohttpRequest(self.config.pool_size))
            .get_updates_request(AiohttpRequest(1))
        )
        self.limiter: SharedRateLimiter | None = None
        if self.config.max_rate > 0:
            rate = self.config.max_rate
            self.limiter = SharedRateLimiter(self.config.max_retries, overall=(rate, rate))
            builder = builder.rate_limiter(self.limiter)
        if self.config.webhook_url:
            builder = builder.updater(None)
        app: TelegramApp = builder.build()

        private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
        app.add_handler(TypeHandler(Update, self._dedupe), group=-1)
        app.add_handler(CommandHandler(list(COMMANDS), self._on_command, filters=private))
        app.add_handler(MessageHandler(private & filters.TEXT, self._on_text))
        app.add_handler(CallbackQueryHandler(self._on_button))
        if self.config.operator_chat_id is not None:
            staff_chat = filters.Chat(self.config.operator_chat_id) & filters.UpdateType.MESSAGE
            app.add_handler(MessageHandler(staff_chat, self._on_staff))
        app.add_handler(
            MessageHandler(filters.ChatType.GROUPS & filters.UpdateType.MESSAGE, self._on_group)
        )
        app.add_handler(MessageHandler(private & ~filters.StatusUpdate.ALL, self._on_other))
        app.add_error_handler(self._on_error)
        return app

    @property
    def bot(self) -> ExtBot[Any]:
        bot: ExtBot[Any] = self.application.bot
        return bot

    @property
    def conversations(self) -> Conversations:
        if self._conversations is None:
            raise RuntimeError("the Telegram channel is not started")
        return self._conversations

    # -- lifecycle -----------------------------------------------------------------------

    def launch(
        self,
        conversations: Conversations,
        store: Store,
        throttle: Throttle | None = None,
        sender: Sender | None = None,
        queue_for: Callable[[int], InboundStore] | None = None,
    ) -> None:
        """Connect in the background: a slow or unreachable Telegram never holds up the web
        chat or SMS, and the channel comes up by itself once Telegram answers. `throttle` is
        the rate shared by every process (Redis); without it only Telegram's 429s limit us.
        `queue_for(bot_id)` is where the webhook stores updates (the bot's id is known only
        once Telegram answered)."""
        self._conversations = conversations
        self._store = store
        self.sender = sender
        self._queue_for = queue_for
        if sender is not None:
            sender.register("telegram", self.deliver_person)
        if self.limiter is not None and throttle is not None:
            self.limiter.bind(throttle, lambda chat: store.pseudonym(_key(int(chat))))
        if conversations.handoffs is not None and conversations.handoffs.staff is not None:
            self.staff = StaffDesk(self, conversations.handoffs)
        self._task = asyncio.create_task(self._connect(), name="telegram-connect")

    async def _connect(self) -> None:
        try:
            await self._retry("reach the Bot API", self.application.initialize)
            await self.application.start()
            if self.config.webhook_url:
                if self._queue_for is not None:
                    queue = self._queue_for(self.bot.id)
                    self.inbound = InboundWorker(queue, self._from_queue)
                    if self.config.background:
                        self.inbound.start()
                await self._retry("set the webhook", self._set_webhook)
            elif not await self._poll_alone():
                return  # another process polls this bot: logged, this channel stays off
            else:
                await self._retry("start polling", self._start_polling)
        except InvalidToken:
            self.failure = "Telegram rejected TELEGRAM_BOT_TOKEN (401 Unauthorized)"
            log.error(
                "%s: copy the token from @BotFather again. The Telegram channel is off; "
                "everything else runs.",
                self.failure,
            )
            return
        except (BadRequest, EndPointNotFound, Forbidden) as exc:
            self.failure = self._redact(str(exc))
            log.error("the Telegram channel is off: %s", self.failure)
            return
        self.ready.set()
        log.info("Telegram channel ready: @%s (%s)", self.bot.username, self.config.mode)
        await self._profile()  # after answering starts: 15 calls nobody should wait for

    async def _set_webhook(self) -> None:
        assert self.config.webhook_url is not None
        await self.bot.set_webhook(
            url=self.config.webhook_url,
            secret_token=self.secret,
            allowed_updates=list(ALLOWED_UPDATES),
            drop_pending_updates=False,
        )

    async def _start_polling(self) -> None:
        updater = self.application.updater
        assert updater is not None
        await updater.start_polling(
            allowed_updates=list(ALLOWED_UPDATES),
            drop_pending_updates=False,
            error_callback=self._polling_error,
        )

    async def _poll_alone(self) -> bool:
        lease = self.poll_lease
        if lease is None:
            return True
        holder = await lease.take()
        if holder is not None:
            self.failure = f"polling refused: process {holder} polls this bot already"
            return False
        lease.keep(on_lost=self._polling_lost)
        return True

    async def _polling_lost(self, holder: str) -> None:
        self.failure = f"polling stopped: process {holder} took over polling this bot"
        self.ready.clear()
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()

    def _polling_error(self, exc: TelegramError) -> None:
        # PTB retries by itself; its default logs a full traceback every time
        log.warning("polling Telegram failed, retrying: %s", self._redact(str(exc)))

    async def _profile(self) -> None:
        """The command menu and profile texts in each language; the default is English.

        A failure here costs only the localized menu, never the channel."""
        for lang in (None, *LANGUAGES):
            long, short = self.texts.description(lang or "en")
            try:
                await self.bot.set_my_commands(
                    self.texts.commands(lang or "en"), language_code=lang
                )
                await self.bot.set_my_description(long, language_code=lang)
                await self.bot.set_my_short_description(short, language_code=lang)
            except (BadRequest, RetryAfter, NetworkError) as exc:
                log.warning(
                    "could not register commands for %s: %s",
                    lang or "default",
                    self._redact(str(exc)),
                )

    async def _retry(self, what: str, action: Callable[[], Awaitable[T]]) -> T:
        delay = 1.0
        while True:
            try:
                return await action()
            except RetryAfter as exc:
                wait = retry_seconds(exc)
            except (BadRequest, InvalidToken, EndPointNotFound, Forbidden):
                raise  # a person has to fix these: retrying would only hide them
            except NetworkError as exc:
                wait, delay = delay, min(delay * 2, 60.0)
                log.warning(
                    "could not %s at %s (%s); trying again in %.0f s",
                    what,
                    self.config.api_url,
                    self._redact(str(exc)),
                    wait,
                )
            await asyncio.sleep(wait)

    async def stop(self) -> None:
        """Stop taking updates, finish the ones in progress, close connections.

        The webhook stays registered: Telegram keeps new updates until we are back."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        app = self.application
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if self.inbound is not None:  # what it had not begun stays stored for another process
            await self.inbound.stop()
        if self.poll_lease is not None:
            await self.poll_lease.release()  # another process may poll at once
        if app.running:
            await app.stop()
        await app.shutdown()
        self.ready.clear()

    # -- webhook ---------------------------------------------------------------------------

    async def webhook(self, request: web.Request) -> web.Response:
        """POST /telegram/webhook: the secret first, in constant time, before reading anything;
        then the update is stored and answered, or (without Redis) processed and answered."""
        given = request.headers.get(SECRET_HEADER, "")
        # aiohttp keeps bytes that are not UTF-8 as surrogates: compare them as the bytes sent
        if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), self.secret.encode()):
            _forged.warning("refused a webhook call without the right secret token")
            return web.json_response(
                {"error": "forbidden: wrong or missing secret token"}, status=403
            )
        if not self.application.running or self._conversations is None:
            return web.json_response(
                {"error": "starting up, try again"}, status=503, headers={"Retry-After": "5"}
            )
        try:
            body = await request.read()
            data = json.loads(body)
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("expected a JSON object with an integer update_id")
            update = Update.de_json(data, self.bot)
            # PTB's de_json checks no types: what its filters and our handlers rely on, here
            message = update.effective_message
            if message is not None and getattr(message, "chat", None) is None:
                raise ValueError("a message without a chat")
            text = getattr(message, "text", None)
            button = update.callback_query.data if update.callback_query else None
            if not isinstance(text, str | None) or not isinstance(button, str | None):
                raise ValueError("a text or button data that is not a string")
        except Exception as exc:  # anything PTB cannot parse is the sender's fault, not ours
            return web.json_response(
                {"error": f"bad request: not a Telegram update ({type(exc).__name__})"},
                status=400,
            )
        if self.inbound is not None:
            chat = update.effective_chat
            try:
                number = await self.inbound.store.add(
                    update.update_id, chat.id if chat else None, body
                )
            except StoreUnavailable as exc:
                log.warning("could not store a Telegram update (%s); answering it now", exc)
            else:
                if number is None:
                    log.info("update %s was stored before; skipped", update.update_id)
                return web.Response(status=200)
        processor = self.application.update_processor
        await processor.process_update(update, self.application.process_update(update))
        if update.update_id in self._unanswered:
            self._unanswered.discard(update.update_id)
            # no store and the reply could not be sent: a 503 makes Telegram deliver it again
            return web.json_response(
                {"error": "could not answer now, try again"},
                status=503,
                headers={"Retry-After": "5"},
            )
        return web.Response(status=200)

    async def _from_queue(self, stored: Stored) -> bool:
        """One stored update, in its chat's turn: its number was taken when it was stored."""
        update = Update.de_json(json.loads(stored.raw), self.bot)
        if stored.chat is not None and stored.number:
            # the worker waited for the chat's earlier updates already (InboundStore.wait_turn)
            ready = Ticket(stored.number, ready=True)
            async with self.conversations.in_order_taken(_key(stored.chat), ready):
                await self.application.process_update(update)
        else:
            await self.application.process_update(update)
        if update.update_id in self._unanswered:  # Redis went away meanwhile: keep it stored
            self._unanswered.discard(update.update_id)
            return False
        return True

    # -- handlers --------------------------------------------------------------------------

    async def _dedupe(self, update: Update, context: Context) -> None:
        """Telegram repeats an update it thinks we missed: answer it once.

        A person's update is marked done in the very transaction that saves their session and
        queues the reply (`_turn`), so a crash or a failed send before that means Telegram's
        repeat is answered, and after it means the repeat is skipped. An operator's message
        in the staff chat is marked once its relay is queued (`_on_staff`). Other updates
        (groups) are marked here, first."""
        if self._store is None:
            return
        chat = update.effective_chat
        if chat is not None and chat.type == ChatType.PRIVATE:
            return
        staff = chat is not None and chat.id == self.config.operator_chat_id
        try:
            if staff:
                if await self._store.seen(f"tg-update:{self.bot.id}", str(update.update_id)):
                    raise ApplicationHandlerStop
                return
            first = await self._store.once(
                f"tg-update:{self.bot.id}", str(update.update_id), DEDUPE_TTL
            )
        except StoreUnavailable:
            return  # without Redis, answering twice beats not answering
        if not first:
            log.info("update %s was seen before; skipped", update.update_id)
            raise ApplicationHandlerStop

    async def _on_command(self, update: Update, context: Context) -> None:
        message, chat_id = _message(update)
        word = (message.text or "").split(maxsplit=1)[0]
        name = word[1:].split("@", 1)[0].lower()
        arg = context.args[0].lower() if context.args else None
        inbound = Inbound(command=COMMANDS[name], arg=arg, lang_hint=_hint(update))
        await self._turn(update, chat_id, inbound)

    async def _on_text(self, update: Update, context: Context) -> None:
        message, chat_id = _message(update)
        inbound = Inbound(text=message.text or "", lang_hint=_hint(update))
        async with self._typing(chat_id):
            await self._turn(update, chat_id, inbound)

    async def _on_other(self, update: Update, context: Context) -> None:
        """A photo, voice message, sticker, location…: say so politely, then show where they
        are, in their language (or the one Telegram guesses for a newcomer)."""
        _, chat_id = _message(update)
        hint = _hint(update)
        inbound = Inbound(text="", lang_hint=hint)
        await self._turn(
            update, chat_id, inbound, note=lambda t: self.texts.not_text(t.session.lang or hint)
        )

    async def _on_button(self, update: Update, context: Context) -> None:
        query = update.callback_query
        assert query is not None
        chat = update.effective_chat
        if chat is None or chat.type != ChatType.PRIVATE:
            await _answer(query)
            return
        hint = _hint(update)
        key = _key(chat.id)
        pressed = query.message if isinstance(query.message, Message) else None
        press = parse_callback(query.data)
        session = await self._peek(key)
        if press is None or (session is not None and press.token != screen_token(session)):
            # A button from an older screen: its number may mean something else now, so it
            # does nothing but bring the current screen back, with a short note why.
            await _answer(query, self.texts.stale((session.lang if session else None) or hint))
            await self._turn(update, chat.id, Inbound(text="", lang_hint=hint), pressed=pressed)
            return
        await _answer(query)
        in_place = session is not None and self._menu_like(session.node)
        inbound = Inbound(choice=press.key, lang_hint=hint)
        await self._turn(update, chat.id, inbound, pressed=pressed, in_place=in_place)

    async def _on_group(self, update: Update, context: Context) -> None:
        """Questions about one's papers or a detention do not belong in a group: when someone
        addresses the bot there, it points them to a private chat. Otherwise it stays quiet."""
        message, chat_id = _message(update)
        if not self._addressed(message):
            return
        text, label = self.texts.group(_hint(update))
        button = InlineKeyboardButton(label, url=f"https://t.me/{self.bot.username}")
        await self.bot.send_message(
            chat_id,
            escape(text),
            parse_mode=ParseMode.HTML,
            reply_markup=InlineKeyboardMarkup([[button]]),
            reply_parameters=ReplyParameters(message.message_id, allow_sending_without_reply=True),
        )

    async def _on_error(self, update: object, context: Context) -> None:
        err = context.error
        chat = update.effective_chat if isinstance(update, Update) else None
        where = mask(chat.id) if chat else "-"
        if isinstance(err, Forbidden):
            log.info("chat %s blocked the bot or left; nothing sent", where)
            return
        if isinstance(err, TelegramError):
            log.warning(
                "Telegram refused a request for chat %s: %s", where, self._redact(str(err))
            )
        else:
            log.error("an update for chat %s failed", where, exc_info=err)
        if chat is None or chat.type != ChatType.PRIVATE:
            return
        if isinstance(err, NetworkError) and not isinstance(err, BadRequest):
            return  # Telegram is unreachable: an apology would not arrive either
        assert isinstance(update, Update)
        with contextlib.suppress(TelegramError):
            await self._send(chat.id, Chunk(escape(self.texts.failed(_hint(update)))))

    async def _on_staff(self, update: Update, context: Context) -> None:
        if self.staff is not None:
            # an operator's line is queued for the person in one step with this marker; what
            # queues nothing (a command, a chat among operators) is marked after it
            marker = (f"tg-update:{self.bot.id}:{update.update_id}", DEDUPE_TTL)
            await self.staff.on_message(update, marker)
            if self._store is not None:  # only now: a crash before this means Telegram repeats it
                with contextlib.suppress(StoreUnavailable):
                    await self._store.once(
                        f"tg-update:{self.bot.id}", str(update.update_id), DEDUPE_TTL
                    )
        raise ApplicationHandlerStop  # the staff chat is never answered as a group

    # -- delivering from the outbox ---------------------------------------------------------

    async def deliver_person(self, message: OutMessage) -> None:
        """One Bot API call from the durable outbox: a reply of the bot's (sent, an edit in
        place, a keyboard taken off, a contact card) or an operator's words."""
        chat_id = int(message.address)
        meta = message.meta
        html = message.text if meta.get("html") else escape(message.text)
        raw = meta.get("markup")
        markup = InlineKeyboardMarkup.de_json(raw, self.bot) if raw else None
        if message.kind == "strip":
            with contextlib.suppress(BadRequest):  # already gone, too old, or not ours
                await self._outbox_call(
                    self.bot.edit_message_reply_markup,
                    chat_id=chat_id,
                    message_id=meta["message_id"],
                    reply_markup=None,
                )
            return
        if message.kind == "edit" and await self._outbox_call(
            self._edit_by_id, chat_id, meta["message_id"], Chunk(html, markup)
        ):
            return
        if message.kind == "contact":
            await self._outbox_call(
                self.bot.send_contact,
                chat_id,
                phone_number=meta["phone"],
                first_name=meta["name"],
                reply_markup=markup,
            )
            return
        await self._outbox_call(self._send, chat_id, Chunk(html, markup))

    async def _outbox_call(self, fn: Callable[..., Awaitable[T]], *args: Any, **kw: Any) -> T:
        """Telegram's answers, as the outbox understands them: try again, or never."""
        try:
            return await fn(*args, **kw)
        except RetryAfter as exc:
            raise Retry("flood control", after=retry_seconds(exc)) from None
        except Forbidden as exc:
            raise GiveUp(f"forbidden: {exc.message}") from None
        except BadRequest as exc:
            raise GiveUp(f"bad request: {exc.message}") from None
        except (NetworkError, TelegramError) as exc:
            raise Retry(f"network: {self._redact(str(exc))}") from None

    # -- sending ---------------------------------------------------------------------------

    async def _turn(
        self,
        update: Update,
        chat_id: int,
        inbound: Inbound,
        *,
        pressed: Message | None = None,
        in_place: bool = False,
        note: Callable[[Turn], str] | None = None,
    ) -> None:
        """Run the person's turn; its replies go out through the durable outbox, queued with
        the session and this update's done-marker in one transaction."""

        def plan(turn: Turn) -> list[OutMessage]:
            first = [self._out(chat_id, "send", escape(note(turn)))] if note else []
            return first + self._plan(chat_id, turn, pressed, in_place)

        marker = (f"tg-update:{self.bot.id}:{update.update_id}", DEDUPE_TTL)
        turn, queued = await self.conversations.handle_and_send(
            _key(chat_id), inbound, plan, marker
        )
        if turn is None:
            log.info("update %s was answered before; skipped", update.update_id)
            return
        if queued:
            if self.sender is not None:
                self.sender.poke()
            return
        for message in plan(turn):  # no store, so no outbox: send now, as best we can
            try:
                await self.deliver_person(message)
            except GiveUp:
                continue
            except Retry:
                # Nothing holds this reply: in webhook mode, Telegram is asked to repeat it
                self._unanswered.add(update.update_id)
                return

    def _plan(
        self, chat_id: int, turn: Turn, pressed: Message | None, in_place: bool
    ) -> list[OutMessage]:
        """The Bot API calls that show `turn`, as outbox messages (pure: it may run twice)."""
        token = screen_token(turn.session)
        rendered = [
            (r, render(r, token, self.texts.language_hint(r.lang) if r.hint else None))
            for r in turn.replies
        ]
        out: list[OutMessage] = []
        if (
            in_place
            and pressed is not None
            and len(rendered) == 1
            and rendered[0][0].kind in EDITABLE
            and len(rendered[0][1]) == 1
        ):
            chunk = rendered[0][1][0]
            return [self._out(chat_id, "edit", chunk.html, chunk.markup, pressed.message_id)]
        if pressed is not None and pressed.reply_markup is not None:
            out.append(self._out(chat_id, "strip", "", None, pressed.message_id))
        card = self._card(turn)
        for reply, chunks in rendered:
            with_card = card is not None and reply.kind == "handoff"
            for chunk in chunks:
                out.append(
                    self._out(chat_id, "send", chunk.html, None if with_card else chunk.markup)
                )
            if with_card and card is not None:
                # A contact card has a Call button in every client; the buttons go under it
                markup = keyboard(reply.options, token)
                contact = {"phone": card[0], "name": card[1]}
                out.append(self._out(chat_id, "contact", "", markup, extra=contact))
        return out

    @staticmethod
    def _out(
        chat_id: int,
        kind: str,
        html: str,
        markup: InlineKeyboardMarkup | None = None,
        message_id: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> OutMessage:
        meta: dict[str, Any] = {"html": True, **(extra or {})}
        if markup is not None:
            meta["markup"] = markup.to_dict()
        if message_id is not None:
            meta["message_id"] = message_id
        return OutMessage("telegram", str(chat_id), html, kind=kind, meta=meta)

    async def _send(self, chat_id: int, chunk: Chunk) -> None:
        await self.bot.send_message(
            chat_id,
            chunk.html,
            parse_mode=ParseMode.HTML,
            reply_markup=chunk.markup,
            link_preview_options=NO_PREVIEW,
        )

    async def _edit_by_id(self, chat_id: int, message_id: int, chunk: Chunk) -> bool:
        """Replace a menu in place; False (send a new one instead) when it cannot be edited."""
        try:
            await self.bot.edit_message_text(
                chunk.html,
                chat_id=chat_id,
                message_id=message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=chunk.markup,
                link_preview_options=NO_PREVIEW,
            )
        except BadRequest as exc:
            if "not modified" in exc.message:
                return True  # the same screen pressed twice: it is already showing
            log.info("could not edit a message (%s); sending a new one", exc.message)
            return False
        return True

    @contextlib.asynccontextmanager
    async def _typing(self, chat_id: int) -> AsyncIterator[None]:
        task = asyncio.create_task(self._typing_later(chat_id))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _typing_later(self, chat_id: int) -> None:
        await asyncio.sleep(self.config.typing_delay)
        with contextlib.suppress(TelegramError):
            await self.bot.send_chat_action(chat_id, ChatAction.TYPING)

    # -- helpers ---------------------------------------------------------------------------

    async def _peek(self, key: SessionKey) -> Session | None:
        """The session as it is now, to tell a current button from a stale one. The channel
        only reads here; every change still goes through `Conversations`."""
        if self._store is None:
            return None
        try:
            return await self._store.load(key)
        except StoreUnavailable:
            return None  # no way to tell: treat the button as current

    def _menu_like(self, node: str | None) -> bool:
        return (
            node in (LANG_MENU, FORGET)
            or self.content.current.engine.dialog.menu(node) is not None
        )

    def _card(self, turn: Turn) -> tuple[str, str] | None:
        """The hotline to call, from the hand-off effect (not from the reply's text): none
        while an operator answers right here."""
        handoff = turn.effects.handoff
        if handoff is None or (turn.session.mode == "operator" and handoff.open_now):
            return None
        hotline = self.content.current.content.hotlines.get(handoff.hotline)
        if hotline is None:
            return None
        phone = "+" + "".join(c for c in hotline.phone if c.isdigit())
        return phone, hotline.name.get(turn.session.lang or "en")

    def _addressed(self, message: Message) -> bool:
        """In a group: a command for us, an @mention of us, a reply to us, or being added."""
        me = self.bot
        username = (me.username or "").lower()
        if any(u.id == me.id for u in message.new_chat_members or ()):
            return True
        replied = message.reply_to_message
        if replied is not None and replied.from_user is not None and replied.from_user.id == me.id:
            return True
        wanted: list[str | None] = [
            MessageEntity.MENTION,
            MessageEntity.BOT_COMMAND,
            MessageEntity.TEXT_MENTION,
        ]
        for entity, text in message.parse_entities(wanted).items():
            if entity.type == MessageEntity.MENTION and text[1:].lower() == username:
                return True
            if (
                entity.type == MessageEntity.TEXT_MENTION
                and entity.user
                and (entity.user.id == me.id)
            ):
                return True
            if entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0:
                name, _, target = text[1:].partition("@")
                if target.lower() == username or (not target and name.lower() in COMMANDS):
                    return True
        return False

    def _redact(self, text: str) -> str:
        return text.replace(self.config.token, "<token>") if self.config.token else text


def _key(chat_id: int) -> SessionKey:
    return SessionKey("telegram", str(chat_id))


def _hint(update: Update) -> str | None:
    user = update.effective_user
    return guess_language(user.language_code if user else None)


def _message(update: Update) -> tuple[Message, int]:
    message = update.effective_message
    assert message is not None, "handler registered for messages only"
    return message, message.chat.id


async def _answer(query: CallbackQuery, text: str | None = None) -> None:
    """Always answered, so the button stops spinning; a query too old to answer is no error."""
    with contextlib.suppress(BadRequest):
        await query.answer(text[:200] if text else None)
