"""The SMS channel (Twilio): for people with a basic phone, Safar is a number they text.

Routes on the one aiohttp app:
  POST /sms/twilio         Twilio's "A message comes in" webhook; answers with TwiML
  POST /sms/twilio/status  Twilio's status callback for messages sent by REST

`setup(app)` is called by `create_app` when TWILIO_AUTH_TOKEN is set. Sending messages that
are not replies also needs TWILIO_ACCOUNT_SID and TWILIO_FROM. The signature is checked against
PUBLIC_URL + path when PUBLIC_URL is set (behind a proxy), else against the request's own URL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from bot.channels.sms.outbound import Outbound, Sent
from bot.channels.sms.webhook import INBOUND_PATH, STATUS_PATH, SmsChannel
from bot.store.sms import SmsState

__all__ = ["SMS", "Outbound", "Sent", "SmsChannel", "SmsState", "setup"]

SMS = web.AppKey("sms", SmsChannel)
"""The channel object; `app[SMS].send(phone, text)` sends a message that is not a reply."""


def setup(app: web.Application) -> None:
    from bot.app import CHANNELS, SETTINGS

    app[SMS] = SmsChannel(app[SETTINGS])
    app[CHANNELS].append("SMS (Twilio)")
    app.router.add_post(INBOUND_PATH, _inbound)
    app.router.add_post(STATUS_PATH, _status)
    app.cleanup_ctx.append(_sms_ctx)


async def _inbound(request: web.Request) -> web.Response:
    return await request.app[SMS].inbound(request)


async def _status(request: web.Request) -> web.Response:
    return await request.app[SMS].status(request)


async def _sms_ctx(app: web.Application) -> AsyncIterator[None]:
    from bot.app import CONTENT, CONVERSATIONS, SENDER, STORE

    settings = app[SMS].settings
    store = app[STORE]
    order = app[CONVERSATIONS].order
    assert order is not None
    state = SmsState(store, order, old_secret=settings.old_pseudonym_secret())
    outbound = None
    if settings.twilio_account_sid and settings.twilio_from and settings.twilio_auth_token:
        callback = f"{settings.public_url}{STATUS_PATH}" if settings.public_url else None
        outbound = Outbound(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token,
            sender=settings.twilio_from,
            opted_out=state.opted_out,
            on_unsubscribed=state.opt_out,
            api_url=settings.twilio_api_url,
            status_callback=callback,
        )
    app[SMS].start(
        state=state,
        store=store,
        conversations=app[CONVERSATIONS],
        content=app[CONTENT],
        outbound=outbound,
    )
    if app[CONVERSATIONS].handoffs is not None:  # operators' answers go out by REST
        app[SENDER].register("sms", app[SMS].deliver, check=app[SMS].delivered)
    try:
        yield
    finally:
        await app[SMS].stop()
