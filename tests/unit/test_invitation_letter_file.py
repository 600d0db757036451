import io
from datetime import date
from urllib.parse import unquote

import pytest
from odf import dc, teletype
from odf.opendocument import load
from odf.text import P

from exchange.partnerships.content import render_invitation_letter
from exchange.partnerships.letter import (
    attachment_disposition,
    letter_filename,
    letter_odt,
)


def test_the_file_name_is_in_the_letters_language_and_safe_to_save() -> None:
    assert letter_filename("ky", "Ош шаарындагы №5 мектеп") == (
        "Чакыруу кат - Ош шаарындагы №5 мектеп.txt"
    )
    assert letter_filename("en", 'Lyceum "A/B" <1>') == "Invitation letter - Lyceum A B 1.txt"
    assert letter_filename("ru", "../..") == "Письмо-приглашение.txt"


def test_the_disposition_carries_the_exact_name_and_an_ascii_stand_in() -> None:
    value = attachment_disposition("Чакыруу кат - Мектеп.txt")

    assert value.startswith('attachment; filename="invitation-letter.txt"; ')
    encoded = value.split("filename*=UTF-8''", 1)[1]
    assert encoded.isascii() and " " not in encoded
    assert unquote(encoded) == "Чакыруу кат - Мектеп.txt"


def test_an_ascii_name_is_its_own_stand_in() -> None:
    value = attachment_disposition("Invitation letter - Lyceum One.txt")

    assert value.startswith('attachment; filename="Invitation letter - Lyceum One.txt"; ')


@pytest.mark.parametrize("language", ["ky", "ru", "en"])
def test_the_odt_letter_reads_back_line_for_line_in_its_language(language: str) -> None:
    letter = render_invitation_letter(
        language,
        inviting_school_name="Ош шаарындагы №5 мектеп",
        inviting_school_contacts="school5@osh.kg",
        partner_school_name="Нарын №2 айыл мектеби",
        partner_school_contacts="Нарын облусу",
        date=date(2026, 12, 7),
        sender_name="Айгүл Асанова",
        sender_position="директор\tмектептин  администратору",
        goals=["Кыргыз тили сабагында окуучулардын жетишкендиктерин баалоону жакшыртуу"],
        characteristics=["local", "real"],
    )

    document = load(io.BytesIO(letter_odt(letter, language)))

    lines = [teletype.extractText(p) for p in document.getElementsByType(P)]
    expected = [line.rstrip() for line in letter.splitlines()]
    assert lines[: len(expected)] == expected
    assert lines[len(expected) :] == ["", "_" * 30]  # room to sign under the closing
    assert "Нарын №2 айыл мектеби" in letter and "Айгүл Асанова" in letter
    title = document.meta.getElementsByType(dc.Title)[0]
    assert teletype.extractText(title) == letter_filename(language, "", "odt").removesuffix(".odt")
    assert teletype.extractText(document.meta.getElementsByType(dc.Language)[0]) == language
