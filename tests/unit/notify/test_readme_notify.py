"""The README's Notifications section as written: the TOML loads into the settings it describes, and the
exported URLs (with placeholder credentials) are URLs apprise accepts for Discord, Telegram and email."""

from __future__ import annotations

import os
import subprocess

import apprise

from cappuccino_core.config import load_settings
from tests.unit.readme_blocks import blocks


def test_the_toml_block_loads(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    [toml] = blocks("### Notifications", "toml")
    (tmp_path / "notify.toml").write_text(toml)
    n = load_settings(tmp_path / "notify.toml").notify
    assert [t.name for t in n.targets] == ["discord-ops", "telegram-desk", "email", "desktop"]
    assert [t.kind for t in n.targets] == ["discord", "telegram", "email", "desktop"]
    assert n.rate_limit == 20 and n.always_deliver == ["emergency_stop"]
    assert "gate_failed" not in n.targets[1].events and "gate_failed" in n.targets[0].events


def test_the_exported_urls_are_valid_apprise_urls() -> None:
    [bash] = blocks("### Notifications", "bash")
    fake = {"DISCORD_WEBHOOK_ID": "1234567890", "DISCORD_WEBHOOK_TOKEN": "abcdefghijklmnop",
            "TELEGRAM_BOT_TOKEN": "123456789:ABCdefGHIjklMNOpqrSTUvwxYZ012345678",
            "TELEGRAM_CHAT_ID": "987654", "SMTP_USER": "desk", "SMTP_PASSWORD": "pw"}  # fmt: skip
    script = bash + "\nenv | grep '^CAPPUCCINO_.*_URL=' | sort\n"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CAPPUCCINO_")}  # CI sets its own
    out = subprocess.run(["bash", "-euc", script], env={**clean, **fake}, capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    urls = dict(line.split("=", 1) for line in out.splitlines())
    assert set(urls) == {"CAPPUCCINO_DISCORD_URL", "CAPPUCCINO_TELEGRAM_URL", "CAPPUCCINO_EMAIL_URL"}
    kinds = {}
    for name, url in urls.items():
        a = apprise.Apprise()
        assert a.add(url), f"apprise refuses the README's {name}"
        kinds[name] = type(a[0]).__name__
    assert kinds == {"CAPPUCCINO_DISCORD_URL": "NotifyDiscord", "CAPPUCCINO_TELEGRAM_URL": "NotifyTelegram",
                     "CAPPUCCINO_EMAIL_URL": "NotifyEmail"}  # fmt: skip
