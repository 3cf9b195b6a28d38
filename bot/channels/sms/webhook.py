"""Twilio's webhooks: an SMS comes in, the answer goes back as TwiML in the same HTTP response.

Order of a request, and why:
1. The signature, before anything else: a forged request gets 403 and changes nothing.
2. The MessageSid: Twilio retries a webhook that failed or timed out, so each message is
   answered once, and a retry gets the very reply the first delivery produced (Twilio shows
   the person only the reply it received). A retry that arrives while the first is still being
   answered waits for that answer instead of running the conversation a second time.
3. STOP/START and the opt-out list, then the engine through `Conversations`, then rendering.
4. Twilio waits 15 s at most, so the answer gets `reply_deadline` seconds; if it is not ready
   by then the webhook returns empty TwiML and the answer follows through the REST API.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from aiohttp import web
from multidict import MultiDict
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from bot.channels.sms.keywords import Word, sms_word
from bot.channels.sms.outbound import Outbound, Sent
from bot.conversations import ContentHolder, Conversations
from bot.engine import Inbound, Turn
from bot.engine.types import Session
from bot.outbox import GiveUp, Retry
from bot.privacy import Burst, mask
from bot.sms.render import Renderer, Script
from bot.sms.segments import count
from bot.store.base import Store, StoreUnavailable
from bot.store.order import Ticket
from bot.store.outbox import OutMessage
from bot.store.sms import PENDING_TTL, Begun, SmsState, session_key
from bot.store.stats import Stage

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger(__name__)
_forged = Burst(log)
"""Forged webhook calls come in floods: one line a minute, with a count."""

INBOUND_PATH = "/sms/twilio"
STATUS_PATH = "/sms/twilio/status"
SID = re.compile(r"^[A-Za-z0-9]{10,64}$")
FAILED = ("failed", "undelivered")
_OPT_OUT_TYPES: dict[str, Word] = {"STOP": "stop", "START": "start"}
EMPTY = str(MessagingResponse())
"""Twilio sends nothing for an empty <Response/>: the answer for an opted-out number."""


def _frame() -> tuple[str, str]:
    """The TwiML around one message's text, as twilio's MessagingResponse writes it."""
    response = MessagingResponse()
    response.message("BODY")
    head, _, tail = str(response).partition("BODY")
    return head, tail


_HEAD, _TAIL = _frame()


def twiml(body: str | None) -> str:
    """What twilio's MessagingResponse writes for one message (tests/channels/test_sms.py
    compares the two), without building an ElementTree: that took a tenth of the turn."""
    if not body:
        return EMPTY
    return _HEAD + escape(body) + _TAIL


def signed_url(request: web.BaseRequest, public_url: str | None) -> str:
    """The URL Twilio signed: PUBLIC_URL + path + query when the app is behind a proxy (which
    hands us http:// and an inner host), else the URL of the request as it arrived. The path and
    query are taken raw, undecoded, exactly as Twilio sent them."""
    if public_url:
        return public_url + request.raw_path
    return f"{request.scheme}://{request.host}{request.raw_path}"


class SmsChannel:
    def __init__(self, settings: Settings) -> None:
        assert settings.twilio_auth_token
        self.settings = settings
        self.validator = RequestValidator(settings.twilio_auth_token)
        self.script: Script = settings.sms_script
        self.budget = settings.sms_segment_budget
        self.reply_deadline = 10.0
        """Seconds an answer may take before it goes by REST instead (Twilio waits 15)."""
        self.retry_wait = 12.0
        """Seconds a retried message waits for the first delivery's answer."""
        self.state: SmsState | None = None
        self.outbound: Outbound | None = None
        self._store: Store | None = None
        self._conversations: Conversations | None = None
        self._content: ContentHolder | None = None
        self._inflight: dict[str, asyncio.Future[str]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._failed: dict[asyncio.Task[Any], bool] = {}
        """Turns that ended in an apology: their claim is released, not remembered."""

    # -- lifecycle -------------------------------------------------------------------------

    def start(
        self,
        *,
        state: SmsState,
        store: Store,
        conversations: Conversations,
        content: ContentHolder,
        outbound: Outbound | None,
    ) -> None:
        self.state = state
        self._store = store
        self._conversations = conversations
        self._content = content
        self.outbound = outbound

    async def stop(self, grace: float = 5.0) -> None:
        """Let late answers still being sent finish, for a few seconds."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)
        for task in self._tasks:
            task.cancel()
        if self.outbound is not None:
            await self.outbound.close()

    @property
    def renderer(self) -> Renderer:
        return Renderer(self.content.current.content.catalogs, self.budget)

    @property
    def content(self) -> ContentHolder:
        assert self._content is not None, "SmsChannel.start() was not called"
        return self._content

    # -- inbound ---------------------------------------------------------------------------

    async def verified_form(self, request: web.Request) -> MultiDict[str] | None:
        """The POSTed fields if the signature is right, else None."""
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature:
            return None
        try:
            posted = await request.post()
        except (ValueError, LookupError):  # not form data, or charset=<no such codec>
            return None
        form: MultiDict[str] = MultiDict()
        for name, value in posted.items():
            if not isinstance(value, str):
                return None  # Twilio posts plain form fields, never files
            form.add(name, value)
        url = signed_url(request, self.settings.public_url)
        # One HMAC for the URL as it arrived; only a mismatch tries twilio's own check, which
        # also accepts the URL with its port added or removed (two more)
        exact = self.validator.compute_signature(url, form).encode()
        given = signature.encode("utf-8", "replace")  # compare_digest refuses non-ASCII str
        if not hmac.compare_digest(exact, given) and not self.validator.validate(
            url, form, signature
        ):
            return None
        return form

    async def inbound(self, request: web.Request) -> web.Response:
        form = await self.verified_form(request)
        if form is None:
            _forged.warning("SMS webhook: bad or missing X-Twilio-Signature; rejected")
            return web.Response(status=403, text="invalid Twilio signature\n")
        phone = form.get("From", "").strip()
        if not phone:
            return web.Response(status=400, text="missing From\n")
        sid = form.get("MessageSid") or form.get("SmsSid") or ""
        if not SID.match(sid):
            sid = ""  # nothing to dedupe on: answer it anyway
        assert self._conversations is not None
        # The person's turn first, before any other look-up: their messages, on whichever
        # process they land, are answered in the order they came. The same round trip claims
        # the MessageSid and reads the opt-out list and the session, unless someone is ahead.
        begun: Begun | None = None
        try:
            begun = await self._state().begin(phone, sid)
            ticket = begun.ticket
        except StoreUnavailable as exc:
            # Without Redis there is no dedupe; a retry may get a second answer, which is
            # better than none
            log.error("SMS dedupe unavailable (%s)", type(exc).__name__)
            ticket = Ticket(None)
        async with self._conversations.in_order_taken(session_key(phone), ticket):
            if begun is not None and not begun.ticket.ready:
                begun = await self._begin(phone, sid, ticket)
            return _xml(await self._inbound(phone, form, sid, begun))

    async def _begin(self, phone: str, sid: str, ticket: Ticket) -> Begun | None:
        """`begin` once the person's earlier messages are answered (None: Redis is gone)."""
        try:
            return await self._state().begin(phone, sid, ticket)
        except StoreUnavailable as exc:
            log.error("SMS dedupe unavailable (%s)", type(exc).__name__)
            return None

    async def _inbound(
        self, phone: str, form: MultiDict[str], sid: str, begun: Begun | None
    ) -> str:
        if sid and begun is not None and begun.claim != "claimed":
            replay = await self._replay(phone, sid, begun)
            if replay is not None:
                return replay
            # the replica that claimed it died: ours now, and the rest still to be read
            begun = await self._begin(phone, "", begun.ticket)
        return await self._answer(phone, form, sid if begun is not None else "", begun)

    async def _replay(self, phone: str, sid: str, begun: Begun) -> str | None:
        """The reply already given for `sid` (or being given now), or None to answer it."""
        if begun.claim == "done":
            log.info("SMS %s retried: same reply again", sid)
            return twiml(begun.reply)
        state = self._state()
        try:
            waiting = self._inflight.get(sid)
            if waiting is not None:
                return await asyncio.wait_for(asyncio.shield(waiting), self.retry_wait)
            loop = asyncio.get_running_loop()
            until = loop.time() + self.retry_wait
            while loop.time() < until:  # claimed by another process: poll for its answer
                await asyncio.sleep(0.05)
                claim, reply = await state.claim(phone, sid)
                if claim == "claimed":  # that process died and its claim ran out: answer it
                    return None
                if claim == "done":
                    return twiml(reply)
            raise TimeoutError
        except TimeoutError:
            log.warning("SMS %s retried while still being answered; empty reply", sid)
            return EMPTY
        except StoreUnavailable as exc:
            log.error("SMS dedupe unavailable (%s)", type(exc).__name__)
            return None

    async def _answer(
        self, phone: str, form: Mapping[str, str], sid: str, begun: Begun | None
    ) -> str:
        """Run the turn, but give it only `reply_deadline` seconds inside this request."""
        late = _Late()
        task = asyncio.create_task(self._turn(phone, form, sid, begun, late))
        self._keep(task)
        waiter: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        if sid:
            self._inflight[sid] = waiter
        reply = EMPTY
        try:
            done = await self._wait_holding_claim(task, phone, sid)
            if done and self._failed.pop(task, False):
                # Not remembered: the claim is given back so Twilio's retry gets a real answer
                if sid:
                    await self._release(phone, sid)
                return twiml(task.result().body)
            if done:
                answer = task.result()
                reply = twiml(answer.body)
                if sid and not answer.kept:
                    await self._remember(phone, sid, answer.body or "", answer.forgot)
            else:
                late.passed = True  # the turn no longer keeps its reply: the empty one given now
                log.warning("SMS answer for %s is slow: it follows by REST", mask(phone))
                task.add_done_callback(lambda t: self._keep(self._send_late(phone, t)))
                if sid:
                    await self._remember(phone, sid, "", False)
            return reply
        finally:
            self._inflight.pop(sid, None)
            if not waiter.done():
                waiter.set_result(reply)

    async def _wait_holding_claim(self, task: asyncio.Task[Answer], phone: str, sid: str) -> bool:
        """Wait up to `reply_deadline` for the turn, renewing the short claim on `sid`
        meanwhile: if this process dies, the claim runs out within seconds and Twilio's retry
        is answered by whoever gets it."""
        loop = asyncio.get_running_loop()
        until = loop.time() + self.reply_deadline
        while True:
            left = until - loop.time()
            if left <= 0:
                return False
            done, _ = await asyncio.wait({task}, timeout=min(left, PENDING_TTL / 3))
            if task in done:
                return True
            if sid:  # if this fails the claim runs out: a retry may answer twice, never never
                with contextlib.suppress(StoreUnavailable):
                    await self._state().hold(phone, sid)

    async def _release(self, phone: str, sid: str) -> None:
        try:
            await self._state().release(phone, sid)
        except StoreUnavailable as exc:
            log.error("SMS claim for %s not released (%s)", sid, type(exc).__name__)

    async def _count(self, body: str | None) -> None:
        """Segments sent, for the report (what the SMS provider will bill)."""
        stats = self._conversations.stats if self._conversations is not None else None
        if body and stats is not None:
            await stats.record_sms(count(body).segments)

    async def _remember(self, phone: str, sid: str, reply: str, forgotten: bool) -> None:
        try:
            await self._state().remember(phone, sid, reply, forgotten=forgotten)
        except StoreUnavailable as exc:
            log.error("SMS reply for %s not remembered (%s)", sid, type(exc).__name__)

    async def _turn(
        self, phone: str, form: Mapping[str, str], sid: str, begun: Begun | None, late: _Late
    ) -> Answer:
        """The SMS body answering this message (None for no answer at all)."""
        try:
            return await self._turn_unsafe(phone, form, sid, begun, late)
        except Exception:
            log.exception("SMS from %s: answering failed", mask(phone))
            task = asyncio.current_task()
            if task is not None:
                self._failed[task] = True
            tr = self.content.current.content.catalogs(None)
            return Answer(tr.gettext("Sorry, something went wrong. Please try again."))

    async def _turn_unsafe(
        self, phone: str, form: Mapping[str, str], sid: str, begun: Begun | None, late: _Late
    ) -> Answer:
        state = self._state()
        text = form.get("Body", "")
        media = _int(form.get("NumMedia"))
        # With Advanced Opt-Out Twilio names the kind of keyword it saw, in any language the
        # account configured: that counts even for a word missing from our own list
        word = _OPT_OUT_TYPES.get(form.get("OptOutType", "").upper()) or sms_word(text)
        if word == "stop":
            body = await self._stop(phone, begun.session if begun is not None else None)
            await self._count(body)
            return Answer(body)
        if begun is None:
            # Fail closed: a number that said STOP must never get a text, and without the list
            # nobody can tell. Empty TwiML; Twilio shows the person nothing.
            log.error("SMS opt-out list unreadable: no reply sent (number not logged)")
            return Answer(None)
        welcome_back = False
        if begun.opted_out:
            if word not in ("start", "yes"):
                log.info("SMS from opted-out %s: no reply", mask(phone))
                return Answer(None)
            await state.opt_in(phone)
            welcome_back = True
            inbound = Inbound(command="start")
        elif word == "start":
            inbound = Inbound(command="start")
        elif word in ("lat", "cyr"):
            inbound = Inbound(command="script", arg=word, text=text)
        elif word == "operator":
            inbound = Inbound(command="operator", text=text)
        elif word == "more":
            inbound = Inbound(command="more", text=text)
        else:
            inbound = Inbound(text=text)
        conversations = self._conversations
        assert conversations is not None and begun.session is not None
        notices = _Notices(welcome_back, bool(media and not text.strip()))
        kept = _Kept()

        async def commit(turn: Turn, stages: Sequence[Stage]) -> bool:
            """The session, the reply for Twilio's retries and the counters: one round trip."""
            assert begun is not None
            kept.body = self._render(turn, notices)
            also = list(stages)
            stats = conversations.stats
            if kept.body and stats is not None:
                also.append(stats.staged_sms(count(kept.body).segments))
            keep = bool(sid) and not late.passed
            kept.reply = keep
            kept.saved = await state.commit(
                phone,
                begun,
                turn.session,
                sid=sid if keep else "",
                reply=(kept.body or "") if keep else None,
                also=also,
            )
            return kept.saved

        key = session_key(phone)
        turn = await conversations.handle_loaded(key, inbound, begun.session, commit)
        if turn.effects.handoff:
            log.info("SMS from %s asks for a person", mask(phone))
        if kept.saved:
            return Answer(kept.body, kept=kept.reply)
        body = self._render(turn, notices)  # run again the usual way (or saved nowhere)
        await self._count(body)
        return Answer(body, forgot=turn.effects.forget)

    def _render(self, turn: Turn, notices: _Notices) -> str | None:
        tr = self.content.current.content.catalogs(turn.session.lang)
        lines = []
        if notices.welcome_back:
            lines.append(tr.gettext("Welcome back: Safar will answer your messages again."))
        if notices.media_only:
            lines.append(
                tr.gettext("Safar can read only text. Please write your question in words.")
            )
        return self.renderer.body(turn, turn.session.script or self.script, lines)

    async def _stop(self, phone: str, session: Session | None) -> str | None:
        """Opt out, and confirm only the first time: a second STOP gets silence."""
        state = self._state()
        try:
            if not await state.opt_out(phone):
                return None
        except StoreUnavailable:
            log.error("SMS STOP from %s could not be recorded", mask(phone))
            tr = self.content.current.content.catalogs(None)
            return tr.gettext("Sorry, Safar could not record this. Please send STOP again later.")
        log.info("SMS %s opted out", mask(phone))
        if session is None:
            session = await self._session(phone)
        tr = self.content.current.content.catalogs(session.lang)
        text = tr.gettext("You will get no more messages from Safar. To start again, send START.")
        return self.renderer.text(text, session.lang, session.script or self.script)

    async def _session(self, phone: str) -> Session:
        """The person's saved language and script, for words said outside a conversation."""
        assert self._store is not None
        try:
            return await self._store.load(session_key(phone))
        except StoreUnavailable:
            return Session()

    # -- outbound --------------------------------------------------------------------------

    async def send(self, phone: str, text: str, lang: str | None = None) -> Sent:
        """Send a message that is not a reply (an operator's answer), in the person's script."""
        if self.outbound is None:
            return Sent(False, reason="no TWILIO_ACCOUNT_SID/TWILIO_FROM: cannot send")
        session = await self._session(phone)
        lang = lang or session.lang
        body = self.renderer.text(text, lang, session.script or self.script)
        sent = await self.outbound.send(phone, body)
        if sent.ok:
            await self._count(body)
        return sent

    async def delivered(self, message: OutMessage) -> list[str]:
        """Did an attempt cut short by a crash reach Twilio? Asked before trying again: the sids
        of the messages that may be it."""
        if self.outbound is None:
            return []
        session = await self._session(message.address)
        body = self.renderer.text(message.text, message.lang, session.script or self.script)
        try:
            return await self.outbound.find(message.address, body, message.queued)
        except Exception as exc:  # no answer is "not known": sending again beats losing it
            log.warning(
                "SMS: could not ask Twilio about an earlier attempt (%s)", type(exc).__name__
            )
            return []

    async def deliver(self, message: OutMessage) -> str | None:
        """An operator's answer from the durable outbox; failures tell it what to do next.
        Returns Twilio's sid, which the outbox keeps to tell this message from a look-alike."""
        sent = await self.send(message.address, message.text, message.lang)
        if sent.ok:
            return sent.sid
        if sent.reason == "opted out" or sent.reason.startswith("twilio "):
            raise GiveUp(sent.reason)
        raise Retry(sent.reason)

    def _send_late(self, phone: str, task: asyncio.Task[Answer]) -> asyncio.Task[object]:
        self._failed.pop(task, None)
        body = None if task.cancelled() else task.result().body
        return asyncio.create_task(self._send_late_body(phone, body))

    async def _send_late_body(self, phone: str, body: str | None) -> object:
        if not body:
            return None
        if self.outbound is None:
            log.error("SMS answer for %s was late and cannot be sent: no REST config", mask(phone))
            return None
        sent = await self.outbound.send(phone, body)
        if sent.ok:
            await self._count(body)
        return sent

    # -- delivery status -------------------------------------------------------------------

    async def status(self, request: web.Request) -> web.Response:
        """Twilio's status callback for messages we sent: keep a record of the failed ones."""
        form = await self.verified_form(request)
        if form is None:
            return web.Response(status=403, text="invalid Twilio signature\n")
        status = form.get("MessageStatus") or form.get("SmsStatus") or ""
        if status in FAILED:
            code = form.get("ErrorCode") or None
            to = form.get("To") or None
            sid = form.get("MessageSid", "")
            log.warning("SMS %s to %s %s (error %s)", sid, mask(to or "?"), status, code)
            state = self._state()
            try:
                await state.record_failure(sid=sid, status=status, code=code, phone=to)
                if code == "21610" and to:
                    await state.opt_out(to)
            except StoreUnavailable as exc:
                log.error("SMS failure not recorded (%s)", type(exc).__name__)
        return web.Response(status=204)

    # -- helpers ---------------------------------------------------------------------------

    def _state(self) -> SmsState:
        assert self.state is not None, "SmsChannel.start() was not called"
        return self.state

    def _keep(self, task: asyncio.Task[Any]) -> None:
        """Hold a reference to a background task until it ends (asyncio keeps weak ones)."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


@dataclass
class Answer:
    """What a turn answers: the SMS text (None: no reply at all), whether its commit kept it
    for Twilio's retries already, and whether the turn forgot the person."""

    body: str | None
    kept: bool = False
    forgot: bool = False


@dataclass
class _Late:
    passed: bool = False
    """The webhook answered without waiting for this turn: it must not keep its reply."""


@dataclass
class _Notices:
    welcome_back: bool
    media_only: bool


@dataclass
class _Kept:
    body: str | None = None
    reply: bool = False
    saved: bool = False


def _xml(body: str) -> web.Response:
    return web.Response(text=body, content_type="text/xml", charset="utf-8")


def _int(value: str | None) -> int:
    try:
        return max(0, int(value or 0))
    except ValueError:
        return 0
