"""The segment counter against cases counted by hand, the way a carrier bills them."""

from __future__ import annotations

import pytest

from bot.sms.segments import GSM_BASIC, GSM_EXTENSION, count, fits, is_gsm, split


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 0),
        ("Hi", "GSM-7", 2, 1),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),  # 153 + 8
        ("a" * 306, "GSM-7", 306, 2),  # 153 + 153
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),  # each € is escape + €: two septets
        ("€" * 81, "GSM-7", 162, 2),
        ("a" * 159 + "[", "GSM-7", 161, 2),  # the bracket pushes it over 160
        ("{}[]~\\|^€\f", "GSM-7", 20, 1),  # the whole extension table
        ("Ça coûte 5 €", "UCS-2", 12, 1),  # û is not GSM-7 (ù is)
        ("à é è ù ì ò Ä Ö Ñ Ü ä ö ñ ü ß Å Æ Ø É ¿ ¡ § £ ¥ ¤ Δ Ω", "GSM-7", 53, 1),  # 27+26
        ("Привет", "UCS-2", 6, 1),
        ("я" * 70, "UCS-2", 70, 1),
        ("я" * 71, "UCS-2", 71, 2),  # 67 + 4
        ("я" * 134, "UCS-2", 134, 2),
        ("я" * 135, "UCS-2", 135, 3),
        ("a" * 159 + "ң", "UCS-2", 160, 3),  # one Kyrgyz letter: all of it is UCS-2
        ("😀", "UCS-2", 2, 1),  # outside the BMP: a surrogate pair
        ("😀" * 35, "UCS-2", 70, 1),
        ("😀" * 36, "UCS-2", 72, 2),
    ],
)
def test_hand_counted_cases(text: str, encoding: str, units: int, segments: int) -> None:
    got = count(text)
    assert (got.encoding, got.units, got.segments) == (encoding, units, segments)


def test_an_escape_pair_is_never_split_across_two_segments() -> None:
    # 152 letters, then "€" (2 septets) would straddle the 153-septet boundary: it moves to
    # part two, so 152 + (2 + 152) + ... Hand count: part 1 = 152 septets, part 2 = 2 + 151.
    text = "a" * 152 + "€" + "b" * 151
    assert count(text).units == 305
    assert count(text).segments == 2
    text += "b"  # 306 septets would fit 2 x 153 only if the pair could be split
    assert count(text).units == 306
    assert count(text).segments == 3
    assert split(text)[0] == "a" * 152


def test_a_surrogate_pair_is_never_split_either() -> None:
    text = "я" * 66 + "😀" + "я" * 66  # 66 + 2 + 66 = 134 units, but 😀 cannot straddle 67
    assert count(text).units == 134
    assert count(text).segments == 3
    assert split(text) == ["я" * 66, "😀" + "я" * 65, "я"]


def test_split_gives_the_parts_a_phone_receives() -> None:
    assert split("") == []
    assert split("short") == ["short"]
    parts = split("x" * 400)
    assert [len(p) for p in parts] == [153, 153, 94]


def test_the_alphabet_tables_have_the_standard_sizes() -> None:
    # GSM 03.38: 128 codes, one of them the escape; 9 printable extension characters + \f
    assert len(GSM_BASIC) == 127
    assert len(GSM_EXTENSION) == 10
    assert is_gsm("Salom! Mavzu'ro intikhob kuned: 1 Patent, 0 Back")
    assert not is_gsm("«Patent»")


def test_fits_respects_the_budget_and_twilios_1600_characters() -> None:
    assert fits("a" * 459, 3)
    assert not fits("a" * 460, 3)
    assert not fits("a" * 1601, 20)
