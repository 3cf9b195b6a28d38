"""Configuration, read from the environment when the app starts (never at import time).

Every variable is listed in README.md and .env.example. A wrong value stops the start with a
message that names the variable and what it should look like.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
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
    log_format: Literal["text", "json"] = Field("text", validation_alias=_env("SAFAR_LOG_FORMAT"))
    """text: one line per event for a terminal; json: one JSON object per line for collectors."""
    event_loop: Literal["uvloop", "asyncio"] = Field(
        "uvloop", validation_alias=_env("SAFAR_EVENT_LOOP")
    )
    """uvloop where installed (not on Windows); asyncio's own loop to rule it out."""
    background: bool = Field(True, validation_alias=_env("SAFAR_BACKGROUND"))
    """Run the work that follows a request here: stored Telegram updates to turns, and the
    outbox's sends. Off makes a front: it answers requests and stores Telegram updates, so
    its webhook 200s never wait behind a turn in its event loop; another process on the same
    Redis (with this on) must then do that work."""
    shutdown_grace: float = Field(
        10.0, ge=0, le=300, validation_alias=_env("SAFAR_SHUTDOWN_GRACE")
    )
    """Seconds a SIGTERM leaves the requests, turns and outbox sends in progress to finish."""
    redis_prefix: str = Field(
        "safar", pattern=r"^[A-Za-z0-9_.-]{1,40}$", validation_alias=_env("SAFAR_REDIS_PREFIX")
    )
    """Start of every Redis key, so two deployments (or tests) can share one Redis."""
    content_watch: bool = Field(True, validation_alias=_env("SAFAR_CONTENT_WATCH"))
    """Reload when content files change; off where the folder sends no change events (some
    network file systems): then SIGHUP, `safar reload` or another process's reload do it."""
    secret: SecretStr | None = Field(None, validation_alias=_env("SAFAR_SECRET"))
    """The key of every pseudonym (Redis keys, logs). Required with REDIS_URL; for the embedded
    Redis it is generated once into the data dir (see `pseudonym_secret`)."""
    secret_old: SecretStr | None = Field(None, validation_alias=_env("SAFAR_SECRET_OLD"))
    """The previous SAFAR_SECRET after a rotation: still read for SMS opt-outs, so a STOP holds."""
    trusted_proxies: str = Field("", validation_alias=_env("SAFAR_TRUSTED_PROXIES"))
    """Comma-separated CIDRs whose X-Forwarded-For is believed; empty: none."""
    redis_max_connections: int = Field(
        50, ge=2, le=10000, validation_alias=_env("SAFAR_REDIS_MAX_CONNECTIONS")
    )
    redis_pool_timeout: float = Field(
        2.0, gt=0, le=30, validation_alias=_env("SAFAR_REDIS_POOL_TIMEOUT")
    )
    redis_timeout: float = Field(1.0, gt=0, le=30, validation_alias=_env("SAFAR_REDIS_TIMEOUT"))
    redis_budget: float = Field(4.0, gt=0, le=12, validation_alias=_env("SAFAR_REDIS_BUDGET"))
    """Total seconds of Redis waiting one request may spend (Twilio gives up after 15 s)."""
    client_timeout: float = Field(
        10.0, gt=0, le=120, validation_alias=_env("SAFAR_CLIENT_TIMEOUT")
    )
    """Seconds a client gets to send its request headers and body before it is cut off."""
    staff_token: SecretStr | None = Field(None, validation_alias=_env("STAFF_TOKEN"))
    """Opens the staff pages and /healthz details (`Authorization: Bearer <STAFF_TOKEN>`)."""
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

    telegram_max_rate: float = Field(30.0, ge=0, le=30, validation_alias=_env("TELEGRAM_MAX_RATE"))
    """Messages a second to Telegram over all chats; 0 = no limit, for loopback benchmarks."""
    telegram_operator_chat_id: int | None = Field(
        None, validation_alias=_env("TELEGRAM_OPERATOR_CHAT_ID")
    )
    """The staff group where operators answer hand-offs; with the bot token it turns them on."""
    operator_ids: str = Field("", validation_alias=_env("TELEGRAM_OPERATOR_IDS"))
    staff_lang: Literal["ky", "ru", "tg", "en"] = Field(
        "ru", validation_alias=_env("SAFAR_STAFF_LANG")
    )
    ticket_retention_days: int = Field(
        30, ge=1, le=365, validation_alias=_env("SAFAR_TICKET_RETENTION_DAYS")
    )
    callback_ttl_hours: int = Field(
        72, ge=1, le=24 * 30, validation_alias=_env("SAFAR_CALLBACK_TTL_HOURS")
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

    @field_validator("operator_ids")
    @classmethod
    def _operator_ids(cls, value: str) -> str:
        for part in value.replace(" ", "").split(","):
            if part and not part.lstrip("-").isdigit():
                raise ValueError(f"{part!r} is not a user id: use numbers, comma-separated")
        return value

    @property
    def telegram_operator_ids(self) -> tuple[int, ...]:
        return tuple(int(p) for p in self.operator_ids.replace(" ", "").split(",") if p)

    @property
    def handoff_on(self) -> bool:
        return bool(self.telegram_bot_token and self.telegram_operator_chat_id is not None)

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must look like redis://host:6379/0 (or rediss://, unix://)")
        return value

    @field_validator("secret", "secret_old", "staff_token")
    @classmethod
    def _long_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if len(value.get_secret_value()) < 32:
            raise ValueError(
                "must be at least 32 characters: python3 -c 'import secrets; "
                "print(secrets.token_urlsafe(32))'"
            )
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _cidrs(cls, value: str) -> str:
        for part in _split(value):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(f"{part!r} is not an address or CIDR like 10.0.0.0/8") from None
        return value

    @property
    def proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(p, strict=False) for p in _split(self.trusted_proxies))

    def pseudonym_secret(self) -> bytes:
        """The HMAC key of pseudonyms. From SAFAR_SECRET; with the embedded Redis and no
        SAFAR_SECRET, generated once into `<data dir>/secret` (mode 0600) and read from there,
        so it lives and dies with the data it protects. With REDIS_URL it must be given: a
        secret generated on one replica would not match the others'."""
        if self.secret is not None:
            return self.secret.get_secret_value().encode()
        if self.redis_url:
            raise SettingsError(
                "SAFAR_SECRET is required when REDIS_URL is set (the same value on every "
                "replica): python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        path = self.data_dir / "secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".secret-{os.getpid()}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as out:
                out.write(secrets.token_urlsafe(32) + "\n")
            try:  # a hard link is atomic and never replaces: two starts agree on one secret
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        value = path.read_text(encoding="ascii").strip()
        if len(value) < 32:
            raise SettingsError(f"{path} is damaged: set SAFAR_SECRET or delete the file")
        return value.encode()

    def old_pseudonym_secret(self) -> bytes | None:
        return self.secret_old.get_secret_value().encode() if self.secret_old else None

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        if value and not all(c.isalnum() or c in "_-" for c in value):
            raise ValueError("may contain only A-Z, a-z, 0-9, _ and - (a Telegram rule)")
        if value and not 1 <= len(value) <= 256:
            raise ValueError("must be 1 to 256 characters long")
        return value or None


def _split(value: str) -> list[str]:
    return [p.strip() for p in value.split(",") if p.strip()]


def load_settings(**overrides: object) -> Settings:
    """Read and check the environment; raise SettingsError with one line per bad variable."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
        if settings.redis_url and settings.secret is None:
            settings.pseudonym_secret()  # raises: say so before anything starts
        if not settings.background and (
            settings.redis_url is None
            or (settings.telegram_bot_token and not settings.telegram_webhook_url)
        ):
            raise SettingsError(
                "SAFAR_BACKGROUND=false makes a front that leaves turns and sends to another "
                "process: it needs REDIS_URL (shared with that process) and, with "
                "TELEGRAM_BOT_TOKEN, TELEGRAM_WEBHOOK_URL (a polling process answers by itself)"
            )
        return settings
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
