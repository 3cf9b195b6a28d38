"""Configuration a newcomer and an operator meet: the pseudonym secret, trusted proxies."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError, load_settings


def test_the_embedded_default_generates_a_private_secret_once(tmp_path: Path) -> None:
    """`make run` needs no SAFAR_SECRET: one is made in the data dir, readable by us only."""
    settings = Settings(data_dir=tmp_path / "data")
    first = settings.pseudonym_secret()
    path = tmp_path / "data" / "secret"
    assert len(first) >= 32 and path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Settings(data_dir=tmp_path / "data").pseudonym_secret() == first  # after a restart
    assert Settings(data_dir=tmp_path / "other").pseudonym_secret() != first


def test_with_redis_url_the_secret_must_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Replicas share one Redis, so each generating its own secret would split every person."""
    monkeypatch.delenv("SAFAR_SECRET", raising=False)
    with pytest.raises(SettingsError, match="SAFAR_SECRET is required when REDIS_URL"):
        load_settings(redis_url="redis://redis:6379/0", data_dir=tmp_path)
    assert not (tmp_path / "secret").exists()
    settings = load_settings(redis_url="redis://redis:6379/0", secret="s" * 40)
    assert settings.pseudonym_secret() == b"s" * 40
    assert "s" * 40 not in repr(settings)  # never printed with the settings


def test_a_short_secret_or_a_bad_proxy_range_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    with pytest.raises(SettingsError, match=r"SAFAR_SECRET.*at least 32"):
        load_settings(secret="short")
    with pytest.raises(SettingsError, match=r"SAFAR_TRUSTED_PROXIES.*CIDR"):
        load_settings(trusted_proxies="10.0.0.0/8, proxy.local")
    nets = load_settings(trusted_proxies="10.0.0.0/8, ::1").proxy_networks
    assert [str(n) for n in nets] == ["10.0.0.0/8", "::1/128"]


def test_a_front_process_is_refused_where_nobody_else_could_do_its_turns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An operator sets SAFAR_BACKGROUND=false on the processes behind the proxy. That is only
    a deployment with a worker on a shared Redis, answering Telegram by webhook."""
    for name in ("REDIS_URL", "TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SAFAR_BACKGROUND", "false")
    with pytest.raises(SettingsError, match=r"SAFAR_BACKGROUND=false.*needs REDIS_URL"):
        load_settings()  # the embedded Redis belongs to this process alone
    shared = {"redis_url": "redis://redis:6379/0", "secret": "s" * 40}
    with pytest.raises(SettingsError, match="TELEGRAM_WEBHOOK_URL"):
        load_settings(**shared, telegram_bot_token="1:abc")  # a poller answers by itself
    front = load_settings(
        **shared, telegram_bot_token="1:abc", telegram_webhook_url="https://bot.example"
    )
    assert front.background is False
    assert load_settings(**shared).background is False  # SMS and web chat only
    monkeypatch.delenv("SAFAR_BACKGROUND")
    assert load_settings().background is True  # the default: one process does everything
