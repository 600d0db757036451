from exchange.kernel.text import contains_pattern, fold, words


def test_folding_lowercases_cyrillic_and_reads_yo_as_ye() -> None:
    assert fold("ОШ ШААРЫНДАГЫ МЕКТЕП") == "ош шаарындагы мектеп"
    assert fold("Ёлка  и\tУЧЁБА") == "елка и учеба"
    assert fold("ӨНӨКТӨШТҮК Ңаары") == "өнөктөштүк ңаары"
    assert fold(None) == "" and fold("") == ""


def test_folding_is_compatibility_normalised() -> None:
    assert fold("Straße") == "strasse"
    assert fold("ｍａｔｈ") == "math"


def test_words_are_folded_letters_and_digits_of_any_script() -> None:
    assert words("Кыргыз тили, 7-класс; English!") == ["кыргыз", "тили", "7", "класс", "english"]


def test_like_patterns_take_wildcards_literally() -> None:
    assert contains_pattern("100%") == "%100\\%%"
    assert contains_pattern("a_b") == "%a\\_b%"
    assert contains_pattern("c:\\x") == "%c:\\\\x%"
