"""Which saved files start a reload: the ones the loader reads, nothing an editor leaves."""

from __future__ import annotations

from pathlib import Path

from watchfiles import Change

from bot.content.watch import content_filter


def test_only_content_files_start_a_reload(tmp_path: Path) -> None:
    wanted = content_filter(tmp_path)
    yes = [
        "dialogs/main.yaml",
        "knowledge/registration.yaml",
        "knowledge/new-topic.yml",
        "locales/ky/LC_MESSAGES/messages.po",
        "locales/ky/LC_MESSAGES/messages.mo",
    ]
    no = [
        "knowledge/.registration.yaml.swp",  # vim
        "knowledge/registration.yaml~",  # a backup
        "knowledge/drafts/registration.yaml",  # the loader reads no subfolders
        "knowledge/README.md",
        "dialogs/.#main.yaml",  # emacs
        "bot/app.py",
    ]
    assert [p for p in yes if wanted(Change.modified, str(tmp_path / p))] == yes
    assert [p for p in no if wanted(Change.modified, str(tmp_path / p))] == []
    assert not wanted(Change.added, "/elsewhere/dialogs/main.yaml")
