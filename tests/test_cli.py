"""The `safar` command as staff and the evaluation use it."""

from __future__ import annotations

import json

from click.testing import CliRunner

from bot.cli import main


def test_ask_jsonl_answers_in_the_contract_the_evaluation_reads() -> None:
    lines = [
        {"text": "Не выплатили зарплату, что делать?"},
        {"text": "kak oplatit patent", "lang": "ru"},
        {"text": "qwerty"},
    ]
    stdin = "\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n\nnot json\n"
    result = CliRunner().invoke(main, ["ask", "--jsonl"], input=stdin)
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert len(out) == 4
    for row in out[:3]:
        assert set(row) == {"lang", "answer", "matches"}
        assert len(row["matches"]) <= 3
        assert all(set(m) == {"id", "score"} and 0 <= m["score"] <= 1 for m in row["matches"])
    assert out[0] == {**out[0], "lang": "ru", "answer": "unpaid-wages"}
    assert out[1]["lang"] == "ru" and out[1]["answer"] == "work-patent"
    assert out[2]["answer"] is None
    assert "error" in out[3]


def test_ask_prints_the_article_for_a_person() -> None:
    result = CliRunner().invoke(main, ["ask", "--lang", "en", "my", "passport", "was", "stolen"])
    assert result.exit_code == 0
    assert result.output.startswith("[en] lost-documents")


def test_ask_says_when_it_is_not_sure() -> None:
    result = CliRunner().invoke(main, ["ask", "what's your favourite colour"])
    assert "not sure" in result.output


def test_chat_in_the_terminal_walks_the_menu() -> None:
    result = CliRunner().invoke(main, ["chat", "--lang", "en"], input="2\n2\n0\n")
    assert result.exit_code == 0
    assert "1. Before you go" in result.output
    assert "== Work patent" in result.output


def test_a_bad_setting_stops_with_the_variable_named(monkeypatch: object) -> None:
    result = CliRunner(env={"SAFAR_PORT": "eighty"}).invoke(main, ["check"])
    assert result.exit_code == 1
    assert "SAFAR_PORT='eighty'" in result.output
