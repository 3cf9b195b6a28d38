"""Channels translate between a platform's wire format and the engine; no logic lives here."""
