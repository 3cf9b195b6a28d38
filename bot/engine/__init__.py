"""The channel-agnostic conversation engine."""

from bot.engine.engine import Engine
from bot.engine.types import Effects, Inbound, Option, Reply, Session, Turn

__all__ = ["Effects", "Engine", "Inbound", "Option", "Reply", "Session", "Turn"]
