"""Hand-off to hotline operators: the engine's hand-off effects made real.

The engine decides *that* a person goes to an operator (`Effects.handoff`), that a message is
for the operator (`Effects.relay`), that they went back to the bot (`Effects.close`) or want a
callback. This module turns those into tickets (bot/store/tickets.py) and into messages on the
durable outbox (bot/store/outbox.py): alerts and the person's words to the staff chat, the
operator's words back to the person on their own channel. Channels never see a ticket.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace

from bot.conversations import ContentHolder
from bot.engine import Inbound, Turn
from bot.engine.types import Reply, Session
from bot.i18n import Tr
from bot.outbox import Sender
from bot.privacy import mask
from bot.store.base import SessionKey, Store
from bot.store.outbox import OutboxStore, OutMessage
from bot.store.stats import Stats
from bot.store.tickets import Message, Ticket, TicketStore

log = logging.getLogger(__name__)

RELAYED = ("telegram", "sms")
"""Channels an operator's answer can reach later. The web chat has no way to push."""
ALERT_MESSAGES = 5


@dataclass(frozen=True)
class StaffChat:
    chat_id: int
    lang: str = "ru"
    """The language of alerts and notes in the staff chat."""


class Handoffs:
    def __init__(
        self,
        *,
        tickets: TicketStore,
        outbox: OutboxStore,
        sender: Sender,
        content: ContentHolder,
        sessions: Store,
        staff: StaffChat | None,
        stats: Stats | None = None,
    ) -> None:
        self.tickets = tickets
        self.outbox = outbox
        self.sender = sender
        self.content = content
        self.sessions = sessions
        self.staff = staff
        self.stats = stats

    @property
    def enabled(self) -> bool:
        return self.staff is not None

    def inbound(self, key: SessionKey, inbound: Inbound) -> Inbound:
        """What the engine may offer this person: a real operator, a callback to this number."""
        if not self.enabled or key.channel not in RELAYED:
            return inbound
        return replace(inbound, handoff=True, reachable=key.channel == "sms")

    # -- the person's side: after each turn ------------------------------------------------

    async def after_turn(self, key: SessionKey, inbound: Inbound, turn: Turn) -> Turn:
        effects = turn.effects
        if effects.forget:
            await self.forget(key)
            return turn
        if not inbound.handoff:
            return turn
        if effects.handoff is not None and turn.session.mode == "operator":
            return await self._open(key, turn)
        if effects.relay is not None:
            return await self._relay(key, turn, effects.relay)
        if effects.close:
            ticket = await self.tickets.active_for(key)
            if ticket is not None:
                await self.tickets.close(ticket)
                await self._to_staff(
                    ticket,
                    self._t("The person went back to the bot. Ticket #%(n)s is closed.", ticket),
                )
        if effects.callback is not None:
            ticket = await self.tickets.active_for(key)
            phone = effects.callback.phone or key.user
            if ticket is not None:
                await self.tickets.set_callback(ticket, phone)
                note = self._t(
                    "Callback requested for ticket #%(n)s: %(phone)s", ticket, phone=phone
                )
                await self._to_staff(ticket, note)
        return turn

    async def _open(self, key: SessionKey, turn: Turn) -> Turn:
        handoff = turn.effects.handoff
        assert handoff is not None
        lang = turn.session.lang or "en"
        ticket, created = await self.tickets.open(key, lang, handoff)
        if handoff.text:
            await self.tickets.add_message(ticket, Message("person", handoff.text, time.time()))
        if created:
            log.info(
                "ticket %s opened (%s, %s, %s) for %s",
                ticket.id,
                key.channel,
                handoff.queue,
                "open" if handoff.open_now else "out of hours",
                mask(key.user),
            )
            await self._alert(ticket)
            if self.stats is not None:
                await self.stats.record_handoff(
                    key.channel, lang, out_of_hours=not handoff.open_now
                )
        if not handoff.open_now:
            return turn
        position = await self.tickets.position(ticket)
        engine = self.content.current.engine
        notice = Reply("notice", engine.queue_notice(lang, max(position, 1), ticket.id), lang)
        return Turn(turn.session, (*turn.replies, notice), turn.effects)

    async def _relay(self, key: SessionKey, turn: Turn, text: str) -> Turn:
        ticket = await self.tickets.active_for(key)
        if ticket is None:
            # The ticket ended elsewhere (closed, expired): the person is with the bot again.
            return await self._back_to_bot(key)
        await self.tickets.add_message(ticket, Message("person", text, time.time()))
        await self._to_staff(ticket, text, kind="person")
        return turn

    # -- the operators' side -------------------------------------------------------------

    async def answer(
        self, ticket: Ticket, operator: str, text: str, marker: tuple[str, int] | None = None
    ) -> None:
        """An operator's words to the person, on the person's channel, through the outbox;
        `marker` is set in the same step (see `OutboxStore.add`)."""
        first = ticket.first_answer is None
        await self.tickets.answered(ticket)
        if first and self.stats is not None and ticket.first_answer is not None:
            await self.stats.record_handoff_answered(ticket.first_answer - ticket.opened)
        await self.tickets.add_message(ticket, Message("operator", text, time.time()))
        engine = self.content.current.engine
        body = engine.operator_text(ticket.lang, text)
        await self._to_person(ticket, body, "answer", marker)

    async def close(self, ticket: Ticket, marker: tuple[str, int] | None = None) -> None:
        """The operator ends it: a polite word to the person, and the bot answers them again."""
        await self.tickets.close(ticket)
        turn = await self._back_to_bot(ticket.key())
        await self._to_person(ticket, turn.replies[0].text, "closed", marker)
        log.info("ticket %s closed by an operator", ticket.id)

    async def _back_to_bot(self, key: SessionKey) -> Turn:
        """The person's session out of operator mode, with the engine's polite word."""
        engine = self.content.current.engine

        def back(session: Session) -> tuple[Session | None, Turn]:
            turn = engine.operator_closed(session)
            return turn.session, turn

        return await self.sessions.update(key, back)

    async def forget(self, key: SessionKey) -> None:
        tickets = await self.tickets.forget(key)
        await self.outbox.forget(key.channel, key.user)
        for ticket in tickets:
            if self.staff is not None and ticket.status != "closed":
                note = self._t(
                    "Ticket #%(n)s: the person deleted their data; it is closed.", ticket
                )
                message = self._staff_message(ticket, note, "note", forget=True)
                await self.outbox.add(message)
        if tickets:
            self.sender.poke()

    # -- messages ------------------------------------------------------------------------

    async def _alert(self, ticket: Ticket) -> None:
        if self.staff is None:
            return
        lines = [self.alert_text(ticket)]
        for m in await self.tickets.messages(ticket, ALERT_MESSAGES):
            lines.append(f"» {m.text}")
        await self.outbox.add(self._staff_message(ticket, "\n".join(lines), "alert"))
        self.sender.poke()

    def alert_text(self, ticket: Ticket) -> str:
        tr = self.tr()
        head = "🔴 " + tr.gettext("URGENT") if ticket.urgent else "🟢"
        when = tr.gettext("out of hours") if ticket.out_of_hours else tr.gettext("open hours")
        return tr.gettext(
            "%(head)s Ticket #%(n)s · %(channel)s · %(lang)s · %(topic)s · %(when)s · %(who)s"
        ) % {
            "head": head,
            "n": ticket.id,
            "channel": ticket.channel,
            "lang": ticket.lang,
            "topic": ticket.topic or "-",
            "when": when,
            "who": mask(ticket.address),
        }

    async def _to_staff(self, ticket: Ticket, text: str, kind: str = "note") -> None:
        if self.staff is None:
            return
        await self.outbox.add(self._staff_message(ticket, text, kind))
        self.sender.poke()

    def _staff_message(
        self, ticket: Ticket, text: str, kind: str, forget: bool = False
    ) -> OutMessage:
        assert self.staff is not None
        meta: dict[str, object] = {"forget": True, "thread": ticket.thread} if forget else {}
        return OutMessage(
            "staff", str(self.staff.chat_id), text, kind=kind, ticket=ticket.id, meta=meta
        )

    async def _to_person(
        self, ticket: Ticket, text: str, kind: str, marker: tuple[str, int] | None = None
    ) -> None:
        message = OutMessage(
            ticket.channel, ticket.address, text, kind=kind, lang=ticket.lang, ticket=ticket.id
        )
        await self.outbox.add(message, marker=marker)
        self.sender.poke()

    def tr(self) -> Tr:
        """Interface strings in the staff chat's language."""
        return self.content.current.content.catalogs(self.staff.lang if self.staff else None)

    def _t(self, msgid: str, ticket: Ticket, **extra: str) -> str:
        return self.tr().gettext(msgid) % {"n": ticket.id, **extra}
