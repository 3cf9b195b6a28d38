"""The operators' desk: the staff Telegram group where tickets arrive and get answered.

Each ticket gets its own forum topic when the group is a forum; where Telegram refuses
(`createForumTopic` on a plain group, or no right to manage topics) every message the bot
posts for a ticket can be replied to instead. Either way an operator's message there reaches
the person on their own channel, through the outbox. Only the configured chat acts on tickets,
and only the listed operators when a list is set; anything else is ignored and logged without
who sent it.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from telegram import Message, ReplyParameters, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.channels.telegram.render import escape
from bot.handoff import Handoffs
from bot.i18n import Tr
from bot.outbox import GiveUp
from bot.store.outbox import OutMessage
from bot.store.tickets import Ticket

if TYPE_CHECKING:
    from bot.channels.telegram.channel import TelegramChannel

log = logging.getLogger(__name__)

COMMANDS = ("close", "take", "tickets", "done")


class StaffDesk:
    def __init__(self, channel: TelegramChannel, handoffs: Handoffs) -> None:
        assert handoffs.staff is not None
        self.channel = channel
        self.handoffs = handoffs
        self.tickets = handoffs.tickets
        self.chat_id = handoffs.staff.chat_id
        self.allowed = channel.config.operator_ids
        handoffs.sender.register("staff", self.deliver)

    def _tr(self) -> Tr:
        return self.handoffs.tr()

    # -- operators writing -------------------------------------------------------------------

    async def on_message(self, update: Update, marker: tuple[str, int] | None = None) -> None:
        """`marker` (name, ttl) marks the update done in the step that queues what it sends
        the person: a repeat after a crash is then skipped exactly when that was queued."""
        message = update.effective_message
        user = update.effective_user
        if message is None or user is None or message.chat.id != self.chat_id:
            return
        if user.is_bot or (self.allowed and user.id not in self.allowed):
            log.info("staff chat: a message from someone not on TELEGRAM_OPERATOR_IDS; ignored")
            return
        text = message.text or message.caption or ""
        command = _command(text, self.channel.bot.username or "")
        ticket = await self._ticket_of(message)
        if command == "tickets":
            await self._reply(message, await self.listing())
            return
        if ticket is None:
            if command:
                note = self._tr().gettext(
                    "Use this in a ticket's topic, or as a reply to a ticket message."
                )
                await self._reply(message, note)
            return  # operators talking among themselves
        operator = str(user.id)
        name = user.full_name or operator
        tr = self._tr()
        if ticket.status == "closed":
            await self._reply(message, tr.gettext("Ticket #%(n)s is closed.") % {"n": ticket.id})
            return
        if command == "take":
            await self.tickets.take(ticket, operator)
            note = tr.gettext("Ticket #%(n)s is taken by %(name)s.") % {
                "n": ticket.id,
                "name": name,
            }
            await self._reply(message, note)
            return
        if command == "close":
            await self.handoffs.close(ticket, marker)
            await self._reply(message, tr.gettext("Ticket #%(n)s is closed.") % {"n": ticket.id})
            return
        if command == "done":
            await self.tickets.callback_done(ticket)
            note = tr.gettext("Callback for ticket #%(n)s is done; the number is deleted.")
            await self._reply(message, note % {"n": ticket.id})
            return
        if not text.strip() or text.startswith("/"):
            return
        if ticket.taken_by not in (None, operator):
            note = tr.gettext(
                "Ticket #%(n)s is taken by another operator; send /take to take it over."
            )
            await self._reply(message, note % {"n": ticket.id})
            return
        if ticket.taken_by is None:
            await self.tickets.take(ticket, operator)
        await self.handoffs.answer(ticket, operator, text, marker)

    async def _ticket_of(self, message: Message) -> Ticket | None:
        if message.is_topic_message and message.message_thread_id:
            found = await self.tickets.linked(self.chat_id, f"th{message.message_thread_id}")
            if found is not None:
                return found
        replied = message.reply_to_message
        if replied is not None:
            return await self.tickets.linked(self.chat_id, f"m{replied.message_id}")
        return None

    async def listing(self) -> str:
        tr = self._tr()
        tickets = await self.tickets.active()
        if not tickets:
            return str(tr.gettext("No open tickets."))
        now = time.time()
        lines = []
        for t in tickets:
            age = _age(now - t.opened)
            mark = "🔴" if t.urgent else "🟢"
            states = {"open": tr.gettext("open"), "waiting": tr.gettext("waiting")}
            who = tr.gettext("taken") if t.taken_by else states.get(t.status, t.status)
            line = f"{mark} #{t.id} · {t.channel} · {t.lang} · {t.topic or '-'} · {who} · {age}"
            phone = await self.tickets.callback(t)
            if phone:
                line += " · " + tr.gettext("callback: %(phone)s") % {"phone": phone}
            lines.append(line)
        return "\n".join(lines)

    async def _reply(self, message: Message, text: str) -> None:
        await self.channel.bot.send_message(
            self.chat_id,
            escape(text),
            parse_mode=ParseMode.HTML,
            message_thread_id=message.message_thread_id if message.is_topic_message else None,
            reply_parameters=ReplyParameters(message.message_id, allow_sending_without_reply=True),
        )

    # -- the bot writing (from the outbox) ---------------------------------------------

    async def deliver(self, out: OutMessage) -> None:
        """Post an alert or a person's message under its ticket: its topic, or a reply."""
        ticket = await self.tickets.get(out.ticket) if out.ticket else None
        if ticket is None and not out.meta.get("forget"):
            raise GiveUp("the ticket is gone (forgotten or expired)")
        call = self.channel._outbox_call
        bot = self.channel.bot
        if ticket is None:  # the person was forgotten: drop their topic, say so in the chat
            thread = out.meta.get("thread")
            if isinstance(thread, int):
                with contextlib.suppress(BadRequest):
                    await bot.delete_forum_topic(self.chat_id, thread)
            await call(bot.send_message, self.chat_id, escape(out.text))
            return
        if (
            out.kind == "alert"
            and ticket.thread is None
            and self.chat_id not in self.channel._no_forum
        ):
            await self._topic(ticket)
        kwargs: dict[str, Any] = {}
        if ticket.thread is not None:
            kwargs["message_thread_id"] = ticket.thread
        elif ticket.anchor is not None:
            kwargs["reply_parameters"] = ReplyParameters(
                ticket.anchor, allow_sending_without_reply=True
            )
        sent: Message = await call(
            bot.send_message, self.chat_id, escape(out.text), parse_mode=ParseMode.HTML, **kwargs
        )
        await self.tickets.link(ticket, self.chat_id, f"m{sent.message_id}")
        if ticket.anchor is None:
            ticket.anchor = sent.message_id
            await self.tickets.save(ticket)

    async def _topic(self, ticket: Ticket) -> None:
        name = f"#{ticket.id} {'🔴 ' if ticket.urgent else ''}{ticket.lang} {ticket.topic or ''}"
        try:
            topic = await self.channel.bot.create_forum_topic(self.chat_id, name.strip()[:128])
        except BadRequest as exc:
            log.info("staff chat has no topics (%s): tickets use reply threads", exc.message)
            self.channel._no_forum.add(self.chat_id)
            return
        ticket.thread = topic.message_thread_id
        await self.tickets.save(ticket)
        await self.tickets.link(ticket, self.chat_id, f"th{ticket.thread}")


def _command(text: str, username: str) -> str | None:
    if not text.startswith("/"):
        return None
    word = text.split(maxsplit=1)[0][1:]
    name, _, target = word.partition("@")
    if target and target.lower() != username.lower():
        return None
    return name.lower() if name.lower() in COMMANDS else None


def _age(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h {minutes % 60} min" if hours < 48 else f"{hours // 24} d"
