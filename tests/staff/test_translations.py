"""A translator's round trip: staff export the texts to a spreadsheet, a translator fills it in,
staff import it back. Only what the translator changed may change in the files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from bot.cli import main
from bot.content.load import load_content
from bot.content.yamlfile import load_yaml
from bot.settings import REPO_ROOT
from bot.staff.translations import STATUS_FILE, export, import_

MINIMAL = REPO_ROOT / "tests" / "content" / "minimal"
LABEL = "dialogs/main.yaml:nodes.main.options.0.label.*"
"""The 'Documents' button of the main menu."""


def shipped(tmp_path: Path) -> Path:
    """A copy of everything Safar ships that a translator could touch."""
    root = tmp_path / "content"
    for folder in ("dialogs", "knowledge", "locales"):
        shutil.copytree(REPO_ROOT / folder, root / folder, ignore=shutil.ignore_patterns("*.mo"))
    return root


def minimal(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(MINIMAL, root)
    shutil.copytree(REPO_ROOT / "locales", root / "locales", ignore=shutil.ignore_patterns("*.mo"))
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def rows(sheet: Path) -> dict[str, dict[str, str]]:
    """The Texts sheet as {id: {column header: cell}}."""
    book = load_workbook(sheet)
    values = list(book["Texts"].iter_rows(values_only=True))
    header = [str(h) for h in values[0]]
    return {
        str(r[0]): {h: "" if v is None else str(v) for h, v in zip(header, r, strict=True)}
        for r in values[1:]
    }


def translate(sheet: Path, text_id: str, column: str, value: str) -> None:
    """What a translator does in the spreadsheet: type a new text into one cell, save."""
    book = load_workbook(sheet)
    texts = book["Texts"]
    header = [c.value for c in texts[1]]
    for row in texts.iter_rows(min_row=2):
        if row[0].value == text_id:
            row[header.index(column)].value = value
            book.save(sheet)
            return
    raise AssertionError(f"no row {text_id}")


def test_export_then_import_with_nothing_changed_leaves_every_file_as_it_was(
    tmp_path: Path,
) -> None:
    root = shipped(tmp_path)
    before = snapshot(root)
    sheet = tmp_path / "texts.xlsx"
    assert export(root, sheet) > 100
    written, refused = import_(root, sheet)
    assert (written, refused) == ([], [])
    assert snapshot(root) == before


def test_the_sheet_has_every_kind_of_text_in_four_languages(tmp_path: Path) -> None:
    root = shipped(tmp_path)
    sheet = tmp_path / "texts.xlsx"
    export(root, sheet)
    texts = rows(sheet)
    assert texts[LABEL]["Тоҷикӣ (tg)"] == "Пеш аз сафар"
    assert texts["knowledge/work-patent.yaml:*.title"]["English (en)"] == "Work patent in Russia"
    assert "патент" in texts["knowledge/work-patent.yaml:*.keywords"]["Русский (ru)"].split("\n")
    assert texts["knowledge/hotlines.yaml:hotlines.tj-918.name.*"]["Русский (ru)"]
    back = texts["locales/messages.po:Back"]
    assert (back["English (en)"], back["Кыргызча (ky)"], back["source"]) == ("Back", "Артка", "en")
    assert texts[LABEL]["status"] == "to review: ky, ru, tg"
    states = {part.split(":")[0] for t in texts.values() for part in t["status"].split("; ")}
    assert states <= {"missing", "changed since translated", "to review", "reviewed"}


def test_the_spreadsheet_is_readable_for_a_translator(tmp_path: Path) -> None:
    sheet = tmp_path / "texts.xlsx"
    export(minimal(tmp_path), sheet)
    book = load_workbook(sheet)
    assert book.sheetnames == ["Instructions", "Texts"]
    assert "safar translations import" in "\n".join(
        str(c.value) for c in book["Instructions"]["A"] if c.value
    )
    texts = book["Texts"]
    assert texts.freeze_panes == "D2"
    assert texts["D2"].alignment.wrap_text
    assert texts.column_dimensions["D"].width >= 40
    hidden = [
        texts.cell(1, c).value
        for c in range(1, texts.max_column + 1)
        if texts.column_dimensions[get_column_letter(c)].hidden
    ]
    assert hidden == [
        "fingerprint source",
        "fingerprint ky",
        "fingerprint ru",
        "fingerprint tg",
        "fingerprint en",
        "fingerprint reviewed",
    ]


def test_a_translator_changes_one_cell_and_only_that_text_changes(tmp_path: Path) -> None:
    root = shipped(tmp_path)
    before = snapshot(root)
    sheet = tmp_path / "texts.xlsx"
    export(root, sheet)
    translate(sheet, LABEL, "Тоҷикӣ (tg)", "Пеш аз сафари корӣ")

    written, refused = import_(root, sheet)

    assert (written, refused) == ([f"{LABEL} (tg)"], [])
    after = snapshot(root)
    changed = sorted(k for k in after if after[k] != before.get(k))
    assert changed == ["dialogs/main.yaml", STATUS_FILE]
    old = before["dialogs/main.yaml"].decode().splitlines()
    new = after["dialogs/main.yaml"].decode().splitlines()
    assert [(a, b) for a, b in zip(old, new, strict=True) if a != b] == [
        (
            '      - label: {ky: "Жолго чыгуу", ru: "Перед отъездом", tg: "Пеш аз сафар", '
            'en: "Before you go"}',
            '      - label: {ky: "Жолго чыгуу", ru: "Перед отъездом", tg: "Пеш аз сафари корӣ", '
            'en: "Before you go"}',
        )
    ]
    assert load_content(root).errors == []


def test_when_the_english_changes_the_translations_show_as_changed(tmp_path: Path) -> None:
    root = minimal(tmp_path)
    sheet = tmp_path / "texts.xlsx"
    label = "dialogs/main.yaml:nodes.main.options.0.label.*"
    export(root, sheet)
    translate(sheet, label, "Кыргызча (ky)", "Документтер жана уруксаттар")
    import_(root, sheet)
    export(root, sheet)
    assert rows(sheet)[label]["status"] == "to review: ky, ru, tg"

    main_yaml = root / "dialogs" / "main.yaml"  # staff reword the English button
    main_yaml.write_text(
        main_yaml.read_text(encoding="utf-8").replace('en: "Documents"', 'en: "Papers"'),
        encoding="utf-8",
    )
    export(root, sheet)
    assert rows(sheet)[label]["status"] == "changed since translated: ky; to review: ru, tg"


def test_a_native_speaker_marks_a_row_reviewed(tmp_path: Path) -> None:
    root = minimal(tmp_path)
    sheet = tmp_path / "texts.xlsx"
    label = "dialogs/main.yaml:nodes.main.text.*"
    export(root, sheet)
    translate(sheet, label, "reviewed", "ky tg")
    assert import_(root, sheet) == ([], [])
    export(root, sheet)
    row = rows(sheet)[label]
    assert (row["status"], row["reviewed"]) == ("to review: ru; reviewed: ky, tg", "ky tg")


def test_a_reviewed_text_changed_later_must_be_reviewed_again(tmp_path: Path) -> None:
    root = minimal(tmp_path)
    sheet = tmp_path / "texts.xlsx"
    label = "dialogs/main.yaml:nodes.main.text.*"
    export(root, sheet)
    translate(sheet, label, "reviewed", "ky")
    import_(root, sheet)
    export(root, sheet)
    translate(sheet, label, "Кыргызча (ky)", "Тандаңыз же жазыңыз:")  # someone else's correction
    import_(root, sheet)
    export(root, sheet)
    assert rows(sheet)[label]["status"] == "to review: ky, ru, tg"


def test_a_missing_translation_is_filled_in_from_the_sheet(tmp_path: Path) -> None:
    root = minimal(tmp_path)
    main_yaml = root / "dialogs" / "main.yaml"
    main_yaml.write_text(
        main_yaml.read_text(encoding="utf-8").replace(' tg: "Интихоб кунед:",', ""),
        encoding="utf-8",
    )
    assert load_content(root).content is None, "a missing language is an error"
    sheet = tmp_path / "texts.xlsx"
    export(root, sheet)
    assert rows(sheet)["dialogs/main.yaml:nodes.main.text.*"]["status"].startswith("missing: tg")

    translate(sheet, "dialogs/main.yaml:nodes.main.text.*", "Тоҷикӣ (tg)", "Интихоб кунед:")
    import_(root, sheet)

    assert load_content(root).errors == []
    assert 'en: "Choose:", tg: "Интихоб кунед:"}' in main_yaml.read_text(encoding="utf-8")


def test_article_texts_keep_their_block_style(tmp_path: Path) -> None:
    root = shipped(tmp_path)
    article = root / "knowledge" / "consulate.yaml"
    lines = article.read_text(encoding="utf-8").split("\n")
    doc = load_yaml(article)
    text_at = doc.line(("ru", "text"))  # `text: |`, the text on the lines below it
    sms_at = doc.line(("ru", "sms"))  # `sms: >-`, one line below it
    assert lines[text_at - 1].endswith("text: |") and lines[sms_at - 1].endswith("sms: >-")
    sheet = tmp_path / "texts.xlsx"
    export(root, sheet)
    full = rows(sheet)["knowledge/consulate.yaml:*.text"]["Русский (ru)"]
    first = full.split("\n")[0]
    translate(
        sheet, "knowledge/consulate.yaml:*.text", "Русский (ru)", full.replace(first, "Новое.")
    )
    translate(sheet, "knowledge/consulate.yaml:*.sms", "Русский (ru)", "Консульство поможет.")

    import_(root, sheet)

    expected = list(lines)
    expected[text_at] = expected[text_at].replace(first, "Новое.")
    expected[sms_at] = expected[sms_at][: len(expected[sms_at]) - len(expected[sms_at].lstrip())]
    expected[sms_at] += "Консульство поможет."
    assert article.read_text(encoding="utf-8").split("\n") == expected
    content = load_content(root).content
    assert content is not None
    assert content.articles["consulate"].lang("ru").sms.startswith("Консульство поможет.")


def test_keywords_are_one_per_line_in_the_sheet(tmp_path: Path) -> None:
    root = minimal(tmp_path)
    sheet = tmp_path / "texts.xlsx"
    export(root, sheet)
    translate(
        sheet,
        "knowledge/registration.yaml:*.keywords",
        "Русский (ru)",
        "регистрация\nучёт по месту пребывания\n",
    )
    import_(root, sheet)
    text = (root / "knowledge" / "registration.yaml").read_text(encoding="utf-8")
    assert "  keywords: [регистрация, учёт по месту пребывания]\n" in text


def test_interface_strings_go_to_the_po_file_of_that_language(tmp_path: Path) -> None:
    root = minimal(tmp_path)
    po = root / "locales" / "ky" / "LC_MESSAGES" / "messages.po"
    before = po.read_text(encoding="utf-8")
    sheet = tmp_path / "texts.xlsx"
    export(root, sheet)
    translate(sheet, "locales/messages.po:Back", "Кыргызча (ky)", "Артка кайтуу")

    assert import_(root, sheet) == (["locales/messages.po:Back (ky)"], [])

    assert po.read_text(encoding="utf-8") == before.replace(
        'msgid "Back"\nmsgstr "Артка"', 'msgid "Back"\nmsgstr "Артка кайтуу"'
    )


def test_an_edit_made_in_the_files_meanwhile_is_not_overwritten(tmp_path: Path) -> None:
    root = minimal(tmp_path)
    sheet = tmp_path / "texts.xlsx"
    export(root, sheet)
    main_yaml = root / "dialogs" / "main.yaml"
    edited = main_yaml.read_text(encoding="utf-8").replace('"Выберите:"', '"Выберите тему:"')
    main_yaml.write_text(edited, encoding="utf-8")  # a colleague fixed it in the YAML
    translate(sheet, "dialogs/main.yaml:nodes.main.text.*", "Русский (ru)", "Выбирайте:")

    written, refused = import_(root, sheet)

    assert written == []
    assert refused == [
        "Texts!E2: dialogs/main.yaml:nodes.main.text.* (ru) was also changed in the files since "
        "the export, so it was not overwritten: export again and redo this cell"
    ]
    assert main_yaml.read_text(encoding="utf-8") == edited


def test_staff_run_the_round_trip_with_the_safar_command(tmp_path: Path) -> None:
    root = minimal(tmp_path)
    sheet = tmp_path / "texts.xlsx"
    runner = CliRunner(env={"SAFAR_CONTENT_DIR": str(root)})
    result = runner.invoke(main, ["translations", "export", str(sheet)])
    assert result.exit_code == 0, result.output
    translate(sheet, LABEL, "Русский (ru)", "Документы и разрешения")

    result = runner.invoke(main, ["translations", "import", str(sheet)])

    assert result.exit_code == 0, result.output
    assert f"updated {LABEL} (ru)" in result.output
    assert "1 text(s) updated; check: 0 errors" in result.output


@pytest.mark.parametrize("bad", ["{hotline", "Регистрация: {phone}"])
def test_a_translation_that_breaks_the_content_fails_the_import(tmp_path: Path, bad: str) -> None:
    root = minimal(tmp_path)
    sheet = tmp_path / "texts.xlsx"
    runner = CliRunner(env={"SAFAR_CONTENT_DIR": str(root)})
    runner.invoke(main, ["translations", "export", str(sheet)])
    translate(sheet, "knowledge/registration.yaml:*.text", "Русский (ru)", bad)

    result = runner.invoke(main, ["translations", "import", str(sheet)])

    assert result.exit_code == 1
    assert "knowledge/registration.yaml:" in result.output
    assert "bad placeholder" in result.output

    # the translator fixes the cell in the same file, staff import it again
    translate(
        sheet, "knowledge/registration.yaml:*.text", "Русский (ru)", "Регистрация. {hotline}"
    )
    again = runner.invoke(main, ["translations", "import", str(sheet)])
    assert again.exit_code == 0, again.output
    assert load_content(root).errors == []


def test_importing_the_same_sheet_twice_changes_nothing_the_second_time(tmp_path: Path) -> None:
    root = minimal(tmp_path)
    sheet = tmp_path / "texts.xlsx"
    export(root, sheet)
    translate(sheet, LABEL, "Русский (ru)", "Документы и разрешения")
    assert import_(root, sheet) == ([f"{LABEL} (ru)"], [])
    after_first = snapshot(root)

    assert import_(root, sheet) == ([], [])
    assert snapshot(root) == after_first
