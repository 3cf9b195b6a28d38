"""Where conversation state lives: one small interface, one Redis implementation."""

from bot.store.base import SessionKey, Store
from bot.store.redis import RedisStore

__all__ = ["RedisStore", "SessionKey", "Store"]
