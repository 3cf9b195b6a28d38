"""Knowledge-base search: from a message as people type it to the article that answers it."""

from bot.search.index import Match, SearchIndex, SearchResult

__all__ = ["Match", "SearchIndex", "SearchResult"]
