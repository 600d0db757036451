import pytest

from exchange.errors import InvalidInput
from exchange.partnerships.content import UnknownCharacteristic
from exchange.partnerships.terms import MAX_GOALS, clean_characteristics, clean_goals


def test_characteristics_come_back_once_each_in_the_handbooks_order() -> None:
    assert clean_characteristics(["informal", "virtual", " local ", "virtual"]) == [
        "local",
        "virtual",
        "informal",
    ]
    assert clean_characteristics([]) == []


def test_virtual_and_real_combine_but_local_and_international_do_not() -> None:
    assert clean_characteristics(["virtual", "real"]) == ["virtual", "real"]
    with pytest.raises(InvalidInput, match="both 'local' and 'international'"):
        clean_characteristics(["international", "local"])
    with pytest.raises(InvalidInput, match="both 'formal' and 'informal'"):
        clean_characteristics(["formal", "informal"])


def test_an_unknown_characteristic_names_itself_and_the_choices() -> None:
    with pytest.raises(UnknownCharacteristic, match=r"'online'.*urban_rural"):
        clean_characteristics(["online"])


def test_goals_are_trimmed_and_repeats_dropped() -> None:
    goals = ["  Exchange lesson   plans for grade 7 ", "Exchange lesson plans for grade 7", ""]

    assert clean_goals(goals) == ["Exchange lesson plans for grade 7"]


@pytest.mark.parametrize("goals", [[], ["", "  "]])
def test_at_least_one_goal_is_needed(goals: list[str]) -> None:
    with pytest.raises(InvalidInput, match="at least one concrete goal"):
        clean_goals(goals)


def test_a_goal_of_one_or_two_words_is_too_vague() -> None:
    with pytest.raises(InvalidInput, match="'Be best' is too vague"):
        clean_goals(["Improve Kyrgyz language assessment", "Be best"])


def test_there_is_a_ceiling_on_the_number_of_goals() -> None:
    goals = [f"Joint project number {n}" for n in range(MAX_GOALS + 1)]

    with pytest.raises(InvalidInput, match=f"at most {MAX_GOALS}"):
        clean_goals(goals)
