"""Configuration, read from the environment when the app starts (never at import time).

Every variable is listed in README.md and .env.example. A wrong value stops the start with a
message that names the variable and what it should look like.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(Exception):
    """A configuration problem a person can fix; the message says how."""


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    host: str = Field("127.0.0.1", validation_alias=_env("SAFAR_HOST"))
    port: int = Field(8080, ge=1, le=65535, validation_alias=_env("SAFAR_PORT"))
    content_dir: Path = Field(REPO_ROOT, validation_alias=_env("SAFAR_CONTENT_DIR"))
    data_dir: Path = Field(REPO_ROOT / "data", validation_alias=_env("SAFAR_DATA_DIR"))
    redis_url: str | None = Field(None, validation_alias=_env("REDIS_URL"))
    session_ttl: int = Field(6 * 3600, ge=60, validation_alias=_env("SAFAR_SESSION_TTL"))
    prefs_ttl: int = Field(180 * 86400, ge=3600, validation_alias=_env("SAFAR_PREFS_TTL"))
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", validation_alias=_env("SAFAR_LOG_LEVEL")
    )
    redis_prefix: str = Field(
        "safar", pattern=r"^[A-Za-z0-9_.-]{1,40}$", validation_alias=_env("SAFAR_REDIS_PREFIX")
    )
    """Start of every Redis key, so two deployments (or tests) can share one Redis."""
    content_watch: bool = Field(True, validation_alias=_env("SAFAR_CONTENT_WATCH"))
    """Reload when content files change; off where the folder sends no change events (some
    network file systems): then SIGHUP, `safar reload` or another process's reload do it."""
    sms_script: Literal["cyr", "lat"] = Field("lat", validation_alias=_env("SAFAR_SMS_SCRIPT"))
    sms_segment_budget: int = Field(3, ge=1, le=10, validation_alias=_env("SAFAR_SMS_BUDGET"))
    sms_price_per_segment: float = Field(
        0.0, ge=0, le=100, validation_alias=_env("SMS_PRICE_PER_SEGMENT")
    )
    """What the SMS provider bills per segment, for the costs in the preview and the report."""
    report_text_days: int = Field(
        30, ge=0, le=365, validation_alias=_env("SAFAR_REPORT_TEXT_DAYS")
    )
    """Days the (masked) questions the bot could not answer are kept; 0 keeps none."""
    preview_dir: Path | None = Field(None, validation_alias=_env("SAFAR_PREVIEW_DIR"))
    """A draft copy of the content (dialogs/, knowledge/, locales/) the staff preview can show."""

    telegram_bot_token: str | None = Field(None, validation_alias=_env("TELEGRAM_BOT_TOKEN"))
    telegram_webhook_url: str | None = Field(None, validation_alias=_env("TELEGRAM_WEBHOOK_URL"))
    telegram_webhook_secret: str | None = Field(
        None, validation_alias=_env("TELEGRAM_WEBHOOK_SECRET")
    )
    telegram_api_url: str = Field(
        "https://api.telegram.org", validation_alias=_env("TELEGRAM_API_URL")
    )

    public_url: str | None = Field(None, validation_alias=_env("PUBLIC_URL"))
    twilio_account_sid: str | None = Field(None, validation_alias=_env("TWILIO_ACCOUNT_SID"))
    twilio_auth_token: str | None = Field(None, validation_alias=_env("TWILIO_AUTH_TOKEN"))
    twilio_from: str | None = Field(None, validation_alias=_env("TWILIO_FROM"))
    twilio_api_url: str | None = Field(None, validation_alias=_env("TWILIO_API_URL"))

    @field_validator("public_url", "telegram_webhook_url", "twilio_api_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must look like redis://host:6379/0 (or rediss://, unix://)")
        return value

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        if value and not all(c.isalnum() or c in "_-" for c in value):
            raise ValueError("may contain only A-Z, a-z, 0-9, _ and - (a Telegram rule)")
        if value and not 1 <= len(value) <= 256:
            raise ValueError("must be 1 to 256 characters long")
        return value or None


def load_settings(**overrides: object) -> Settings:
    """Read and check the environment; raise SettingsError with one line per bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = err["loc"][0] if err["loc"] else "?"
            field = Settings.model_fields.get(str(loc))
            name = str(loc)
            if field is not None and isinstance(field.validation_alias, AliasChoices):
                name = str(field.validation_alias.choices[0])
            lines.append(f"{name}={err.get('input')!r}: {err['msg']}")
        raise SettingsError("bad configuration:\n  " + "\n  ".join(lines)) from None
