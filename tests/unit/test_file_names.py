"""Display names of uploaded files: safe to show, safe to save, the teacher's words kept."""

import unicodedata

import pytest

from exchange.files.names import (
    MAX_DISPLAY_NAME_CHARS,
    clean_display_name,
    content_disposition,
    extension_of,
)


@pytest.mark.parametrize(
    ("original", "cleaned"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\Windows\\system.ini", "system.ini"),
        ("C:\\Users\\Aigul\\Desktop\\plan.docx", "plan.docx"),
        ("/var/tmp/lesson.pdf", "lesson.pdf"),
        ("plan\x00.pdf", "plan.pdf"),
        ("plan\r\n.pdf", "plan.pdf"),
        ("tab\there.txt", "tabhere.txt"),
        ('say "hello".txt', "say hello.txt"),
        (".htaccess", "htaccess"),
        ("-rf.txt", "rf.txt"),
        ("--help", "help"),
        ("  ..  hidden.md", "hidden.md"),
        ("report.pdf. . ", "report.pdf"),
        ("what?*<>|:.txt", "what______.txt"),
        ("many   spaces\u00a0here.txt", "many spaces here.txt"),
    ],
)
def test_unsafe_parts_of_a_name_are_removed(original: str, cleaned: str) -> None:
    assert clean_display_name(original) == cleaned


def test_right_to_left_override_cannot_disguise_an_extension() -> None:
    # Shown raw, "invoice\u202efdp.exe" reads as "invoiceexe.pdf".
    assert clean_display_name("invoice\u202efdp.exe") == "invoicefdp.exe"


@pytest.mark.parametrize(
    "bidi",
    [
        "\u202a",
        "\u202b",
        "\u202c",
        "\u202d",
        "\u202e",
        "\u2066",
        "\u2067",
        "\u2068",
        "\u2069",
        "\u200e",
        "\u200f",
        "\u061c",
    ],
)
def test_every_bidi_control_is_dropped(bidi: str) -> None:
    assert clean_display_name(f"a{bidi}b.txt") == "ab.txt"


@pytest.mark.parametrize(
    ("original", "cleaned"),
    [
        ("CON.pdf", "CON_.pdf"),
        ("con", "con_"),
        ("Nul.tar.gz", "Nul_.tar.gz"),
        ("LPT1.docx", "LPT1_.docx"),
        ("com9 .txt", "com9_.txt"),
        ("CONSOLE.pdf", "CONSOLE.pdf"),
        ("icon.png", "icon.png"),
    ],
)
def test_windows_device_names_are_defused(original: str, cleaned: str) -> None:
    assert clean_display_name(original) == cleaned


def test_a_very_long_name_is_cut_keeping_its_extension() -> None:
    cleaned = clean_display_name("ы" * 1000 + ".pdf")

    assert len(cleaned) == MAX_DISPLAY_NAME_CHARS
    assert cleaned.endswith(".pdf")
    assert cleaned.startswith("ыыы")


def test_a_very_long_name_without_extension_is_cut() -> None:
    assert clean_display_name("a" * 1000) == "a" * MAX_DISPLAY_NAME_CHARS


@pytest.mark.parametrize(
    "name",
    [
        "Сабак планы — 5-класс, Кыргыз тили (өң, үй, ң).docx",
        "План урока: дроби.pdf".replace(":", ""),
        "Lesson plan (final).pptx",
        "数学 第一课.pdf",
    ],
)
def test_names_in_any_script_are_kept_intact(name: str) -> None:
    assert clean_display_name(name) == name


def test_names_are_normalised_to_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Сабак йод ё.txt")
    assert decomposed != "Сабак йод ё.txt"

    assert clean_display_name(decomposed) == "Сабак йод ё.txt"


@pytest.mark.parametrize("original", ["", "...", " - ", "\x00\x01", "\u202e", "../", "//"])
def test_a_name_with_nothing_left_gets_the_fallback(original: str) -> None:
    assert clean_display_name(original) == "file"
    assert clean_display_name(original, fallback="upload") == "upload"


@pytest.mark.parametrize(
    ("name", "extension"),
    [
        ("plan.PDF", "pdf"),
        ("archive.tar.gz", "gz"),
        ("README", ""),
        (".bashrc", ""),
        ("trailing.", ""),
        ("Notes.Md", "md"),
        ("version 2.0 of the plan", ""),
        ("фото.JPEG", "jpeg"),
    ],
)
def test_extension_is_the_lowercase_suffix(name: str, extension: str) -> None:
    assert extension_of(name) == extension


def test_content_disposition_carries_the_exact_name_and_an_ascii_stand_in() -> None:
    header = content_disposition("Сабак планы.docx")

    assert header == (
        'attachment; filename="file.docx"; '
        "filename*=UTF-8''%D0%A1%D0%B0%D0%B1%D0%B0%D0%BA%20%D0%BF%D0%BB%D0%B0%D0%BD%D1%8B.docx"
    )


def test_content_disposition_folds_accents_for_old_clients() -> None:
    assert content_disposition("Résumé 100%.pdf", disposition="inline") == (
        "inline; filename=\"Resume 100_.pdf\"; filename*=UTF-8''R%C3%A9sum%C3%A9%20100%25.pdf"
    )


def test_content_disposition_cannot_be_broken_out_of() -> None:
    header = content_disposition('a"; filename=evil.exe\r\nX-Injected: 1.pdf')

    assert "\r" not in header and "\n" not in header
    assert header.count('"') == 2
