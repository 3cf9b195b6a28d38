"""The production path is docker compose. No Docker engine runs here, so the files are read
and checked for what operators rely on."""

from __future__ import annotations

import re

import yaml

from bot.settings import REPO_ROOT, Settings


def test_compose_runs_the_bot_against_a_persistent_healthy_redis() -> None:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    bot, redis = compose["services"]["bot"], compose["services"]["redis"]
    assert redis["image"].startswith("redis:")
    assert "--appendonly" in redis["command"] and "yes" in redis["command"]
    assert any(
        v.endswith(":/data") and v.split(":")[0] in compose["volumes"] for v in redis["volumes"]
    )
    assert "healthcheck" in redis and "healthcheck" in bot
    assert bot["environment"]["REDIS_URL"] == "redis://redis:6379/0"
    assert bot["depends_on"]["redis"]["condition"] == "service_healthy"
    assert bot["build"] == "."


def test_every_setting_is_documented_in_env_example_and_readme() -> None:
    example = (REPO_ROOT / ".env.example").read_text()
    readme = (REPO_ROOT / "README.md").read_text()
    names = {
        str(f.validation_alias.choices[0])  # type: ignore[union-attr]
        for f in Settings.model_fields.values()
    }
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example, re.M))
    assert names <= documented, names - documented
    assert all(f"`{n}`" in readme for n in names), [n for n in names if f"`{n}`" not in readme]


def test_no_secret_is_committed_in_env_example() -> None:
    for line in (REPO_ROOT / ".env.example").read_text().splitlines():
        if re.match(r"^(TELEGRAM_BOT_TOKEN|TWILIO_AUTH_TOKEN|TELEGRAM_WEBHOOK_SECRET)=", line):
            assert line.split("=", 1)[1] == "", line


def test_compose_scales_out_behind_a_proxy_that_hands_a_stopping_replicas_requests_on() -> None:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    bot, proxy = compose["services"]["bot"], compose["services"]["proxy"]
    assert bot["deploy"]["replicas"] >= 2
    assert "ports" not in bot  # only the proxy is reachable from outside
    assert "/readyz" in " ".join(bot["healthcheck"]["test"])  # readiness, not liveness
    assert proxy["depends_on"]["bot"]["condition"] == "service_healthy"
    grace = float(bot["environment"]["SAFAR_SHUTDOWN_GRACE"])
    assert float(bot["stop_grace_period"].rstrip("s")) > grace + 5  # before Docker's SIGKILL
    [mount] = [v for v in proxy["volumes"] if "nginx.conf" in v]
    conf = (REPO_ROOT / mount.split(":")[0]).read_text()
    assert re.search(r"server bot:8080 resolve", conf)  # every replica, re-resolved
    assert re.search(r"proxy_next_upstream [^;]*http_503[^;]*non_idempotent", conf)
    assert "readyz" in (REPO_ROOT / "Dockerfile").read_text()
    for shared in ("SAFAR_SECRET", "TELEGRAM_WEBHOOK_SECRET"):  # documented for replicas
        assert shared in (REPO_ROOT / "docker-compose.yml").read_text()


def test_compose_can_split_fronts_from_a_worker_with_fewer_cpu_shares() -> None:
    """An operator who wants the quickest webhook answers turns the replicas into fronts and
    starts the worker profile: the turns and sends then run there, below the fronts."""
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    bot, worker = compose["services"]["bot"], compose["services"]["worker"]
    assert bot["environment"]["SAFAR_BACKGROUND"] == "${BOT_BACKGROUND:-true}"  # default: all
    assert worker["profiles"] == ["split"] and worker["environment"]["SAFAR_BACKGROUND"] == "true"
    assert worker["cpu_shares"] < 1024  # Docker's default share, the fronts'
    assert worker["environment"]["REDIS_URL"] == bot["environment"]["REDIS_URL"]
    assert "ports" not in worker and "worker" not in (REPO_ROOT / "deploy/nginx.conf").read_text()
