from urllib.parse import unquote

from exchange.partnerships.letter import attachment_disposition, letter_filename


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
