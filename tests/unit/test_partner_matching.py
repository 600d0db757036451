from uuid import UUID

import pytest

from exchange.schools.matching import Profile, Terms, stems_meet, suggest


def profile(
    n: int,
    name: str,
    *,
    offers: str | None = None,
    needs: str | None = None,
    strong: tuple[str, ...] = (),
) -> Profile:
    return Profile(UUID(int=n), name, offers, needs, strong)


@pytest.mark.parametrize(
    ("a", "b", "meet"),
    [
        ("математика", "математике", True),
        ("математика", "математикой", True),
        ("физика", "физике", True),
        ("химия", "химии", True),
        ("english", "english", True),
        ("икт", "икт", True),
        ("математика", "материал", False),
        ("икт", "иктис", False),
        ("опыт", "опыта", False),
        ("music", "museum", False),
    ],
)
def test_forms_of_one_word_meet_and_different_words_do_not(a: str, b: str, meet: bool) -> None:
    assert stems_meet(a, b) is meet
    assert stems_meet(b, a) is meet


def test_terms_drop_common_words_in_every_language_and_keep_the_written_form() -> None:
    terms = Terms("Биздин мектеп МАТЕМАТИКА боюнча тажрыйбабыз менен бөлүшөт; our teachers help")

    assert "математика" in terms.words
    assert terms.words["математика"] == "МАТЕМАТИКА"
    for common in ("биздин", "мектеп", "боюнча", "тажрыйбабыз", "менен", "our", "teachers"):
        assert common not in terms.words


def test_two_way_fits_come_first_then_score_then_name() -> None:
    mine = profile(1, "Mine", offers="English clubs, chess", needs="Mathematics, physics")
    candidates = [
        profile(2, "Zeta one-way", offers="Mathematics and physics olympiad"),
        profile(3, "Beta two-way", offers="Mathematics and physics", needs="English"),
        profile(6, "Gamma two-way", offers="Mathematics", needs="Chess club"),
        profile(4, "Alpha two-way", offers="Physics", needs="Chess club"),
        profile(5, "Nothing", offers="Football", needs="Choir"),
        profile(1, "Mine again", offers="Mathematics", needs="English"),
    ]

    ranked = suggest(mine, candidates, limit=10)

    assert [s.school_id.int for s in ranked] == [3, 4, 6, 2]
    assert [s.score for s in ranked] == [6, 4, 4, 4]
    assert [s.two_way for s in ranked] == [True, True, True, False]
    assert ranked[3].reasons[0].words == ("Mathematics", "physics")
    assert suggest(mine, candidates, limit=1)[0].school_id.int == 3


def test_strong_subjects_count_both_ways() -> None:
    mine = profile(1, "Mine", needs="Кыргыз тилин окутуу", strong=("Информатика",))
    theirs = profile(2, "Theirs", needs="Информатика сабактары", strong=("Кыргыз тили",))

    (suggestion,) = suggest(mine, [theirs], limit=5)

    kinds = [(r.kind, r.words) for r in suggestion.reasons]
    assert kinds == [
        ("strong_in_what_you_need", ("Кыргыз тили",)),
        ("need_what_you_are_strong_in", ("Информатика",)),
    ]
    assert suggestion.two_way


def test_empty_profiles_suggest_nothing() -> None:
    assert suggest(profile(1, "Mine"), [profile(2, "Other", offers="Math")], limit=5) == []
