"""`safar chat`: the conversation in a terminal, for staff trying content without a phone.

The session lives in memory: nothing to start, nothing stored.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TextIO

from bot.engine import Engine, Inbound, Reply, Session


def render(reply: Reply) -> str:
    lines = [f"== {reply.title} ==" if reply.title else "", reply.text]
    lines += [f"  {o.key}. {o.label}" for o in reply.options]
    if reply.hint:
        lines.append(f"({reply.hint})")
    return "\n".join(line for line in lines if line)


QUIT = frozenset({"/quit", "/exit", "/q"})
HOW_TO_QUIT = "(Type a number or a question. /quit or Ctrl-D ends the chat.)"


def run(engine: Engine, lang: str | None, stdin: Iterable[str], out: TextIO) -> None:
    session = Session(lang=lang)
    turn = engine.handle(session, Inbound(command="start"))
    interactive = sys.stdin.isatty() and stdin is sys.stdin
    if interactive:
        print(HOW_TO_QUIT, end="\n\n", file=out)
    while True:
        for reply in turn.replies:
            print(render(reply), end="\n\n", file=out)
        session = Session() if turn.effects.forget else turn.session
        if interactive:
            print("> ", end="", file=out, flush=True)
        line = next(iter(stdin), None)
        if line is None or line.strip().lower() in QUIT:
            print(file=out)
            return
        turn = engine.handle(session, Inbound(text=line.rstrip("\n")))
