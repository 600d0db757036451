"""Search over what a school may read, in Kyrgyz, Russian and English, inside files too.

Real text: the handbook (Kyrgyz) from shared/seed, and Russian, English and Kyrgyz
documents generated here as real DOCX, PDF and ODT files and read by text extraction.
What these protect: word endings do not matter (every query word is a prefix), case and
ё/е do not matter, quoted phrases are exact, words are ANDed, title matches rank first,
filters and facets count only what the caller may read, and cursor pages neither skip
nor repeat a resource when another is added between pages.
"""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from uuid import UUID

import docx
import pytest
from fpdf import FPDF
from odf import teletype
from odf.opendocument import OpenDocumentText
from odf.text import H, P

from exchange.config import Settings
from tests.actors import Actor, SchoolFactory, SchoolHandle
from tests.clock import ManualClock
from tests.problems import assert_problem
from tests.search_rows import Shelf

# On SQLite and PostgreSQL: search has its own SQL on each database.
pytestmark = pytest.mark.every_database

HANDBOOK = Path("/work/shared/seed/000_f859003fabd221e8.txt")
if not HANDBOOK.is_file():  # a checkout beside the shared folder
    HANDBOOK = Path(__file__).resolve().parents[3] / "shared" / "seed" / HANDBOOK.name

RUSSIAN = (
    "Оценивание учебных достижений учащихся седьмого класса.",
    "Эпос «Манас» изучают на уроках литературы; Ёлка стоит во дворе школы.",
    "Контрольная работа по грамматике для восьмиклассников.",
)
ENGLISH = (
    "Partner schools share lesson plans and assessments.",
    "Students write an essay about the Manas epic and its heroes.",
)
KYRGYZ = (
    "Манас эпосу боюнча 7-класстын окуучулары үчүн баа берүү.",
    "Жана почта сыяктуу салттуу каражаттар аркылуу жүргүзүлүүчү өнөктөштүктү эске алабыз.",
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, token_ttl_hours=24 * 365)


@pytest.fixture
def shelf(settings: Settings, clock: ManualClock) -> Shelf:
    return Shelf(settings, clock)


def find_unicode_font() -> Path:
    for candidate in (
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
        Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
        Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),
    ):
        if candidate.is_file():
            return candidate
    pytest.skip("needs the DejaVuSans font (Debian package fonts-dejavu-core) to write a PDF")


def russian_docx(path: Path) -> Path:
    document = docx.Document()
    document.add_heading("План урока литературы", level=1)
    for sentence in RUSSIAN:
        document.add_paragraph(sentence)
    document.save(str(path))
    return path


def english_pdf(path: Path) -> Path:
    pdf = FPDF()
    pdf.add_font("DejaVu", fname=str(find_unicode_font()))
    pdf.set_font("DejaVu", size=12)
    pdf.add_page()
    pdf.multi_cell(0, 8, "\n".join(ENGLISH))
    pdf.output(str(path))
    return path


def kyrgyz_odt(path: Path) -> Path:
    document = OpenDocumentText()
    document.text.addElement(H(outlinelevel=1, text="Баа берүү"))
    for sentence in KYRGYZ:
        paragraph = P()
        teletype.addTextToElement(paragraph, sentence)
        document.text.addElement(paragraph)
    document.save(str(path))
    return path


async def search(actor: Actor, **params: Any) -> dict[str, Any]:
    response = await actor.get("/api/resources", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def titles(page: dict[str, Any]) -> list[str]:
    return [item["title"] for item in page["items"]]


def facet(page: dict[str, Any], name: str) -> dict[Any, int]:
    return {entry["value"]: entry["count"] for entry in page["facets"][name]}


@dataclass
class Library:
    home: SchoolHandle
    partner: SchoolHandle
    handbook: UUID
    russian: UUID
    english: UUID
    kyrgyz: UUID


@pytest.fixture
async def library(schools: SchoolFactory, shelf: Shelf, tmp_path: Path) -> Library:
    """A partner school has shared the handbook and three generated documents."""
    home = await schools.create("Home school")
    partner = await schools.create("Ысык-Көл мектеби")
    await shelf.partnership(home.id, partner.id)
    author = partner.admin.member_id
    handbook = await shelf.add(
        partner.id,
        title="Мектептердин өнөктөштүгү боюнча колдонмо",
        file=HANDBOOK,
        author_id=author,
        kind="policy",
        language="ky",
        subject="Мектеп башкаруу",
    )
    russian = await shelf.add(
        partner.id,
        title="Литература: эпос и его герои",
        file=russian_docx(tmp_path / "plan.docx"),
        author_id=author,
        kind="lesson_plan",
        language="ru",
        subject="Литература",
        grades=[7],
    )
    english = await shelf.add(
        partner.id,
        title="Essay assignment",
        file=english_pdf(tmp_path / "essay.pdf"),
        author_id=author,
        kind="assessment",
        language="en",
        subject="English",
        grades=[8, 9],
        licence="cc-by",
    )
    kyrgyz = await shelf.add(
        partner.id,
        title="Адабият: текшерүү иши",
        file=kyrgyz_odt(tmp_path / "test.odt"),
        author_id=author,
        kind="assessment",
        language="ky",
        subject="Адабият",
        grades=[7],
        co_authors=["Гүлмира Токтосунова"],
    )
    return Library(home, partner, handbook, russian, english, kyrgyz)


# --- words, word endings, case and phrases ------------------------------------------------


async def test_a_kyrgyz_stem_finds_the_inflected_words_of_the_handbook(library: Library) -> None:
    for query in ("өнөктөш", "ӨНӨКТӨШ", "Өнөктөштүк", "мектептеринин", "мугалим", "айылдык"):
        page = await search(library.home.admin, q=query)
        assert str(library.handbook) in [item["id"] for item in page["items"]], query
    page = await search(library.home.admin, q="өнөктөш")
    item = next(item for item in page["items"] if item["id"] == str(library.handbook))
    assert "<mark>" in item["snippet"]
    assert item["snippet"].lower().count("<mark>өнөктөш") >= 1


async def test_words_are_anded_and_every_word_is_a_prefix(library: Library) -> None:
    page = await search(library.home.admin, q="манас окуучу")
    assert titles(page) == ["Адабият: текшерүү иши"]
    assert page["total"] == 1
    assert (await search(library.home.admin, q="манас окуучу грамматика"))["total"] == 0


async def test_russian_word_forms_match_by_their_stem_whatever_the_case(library: Library) -> None:
    for query in ("оценивани", "ДОСТИЖЕНИЕ"[:-1], "учащ", "Грамматик", "восьмикласс"):
        page = await search(library.home.admin, q=query)
        assert titles(page) == ["Литература: эпос и его герои"], query


async def test_yo_and_ye_are_the_same_letter_in_queries_and_documents(library: Library) -> None:
    for query in ("ёлка", "елка", "ЕЛКА", "Ёлк"):
        page = await search(library.home.admin, q=query)
        assert titles(page) == ["Литература: эпос и его герои"], query
        assert "<mark>Ёлка</mark>" in page["items"][0]["snippet"]


async def test_quoted_phrases_match_exactly(library: Library) -> None:
    page = await search(library.home.admin, q='"partner schools share"')
    assert titles(page) == ["Essay assignment"]
    assert "<mark>Partner schools share</mark>" in page["items"][0]["snippet"]
    assert (await search(library.home.admin, q='"schools partner"'))["total"] == 0
    # A quoted word is whole: no prefix match.
    assert (await search(library.home.admin, q='"assess"'))["total"] == 0
    assert titles(await search(library.home.admin, q="assess")) == ["Essay assignment"]
    kyrgyz = await search(library.home.admin, q='"ӨНӨКТӨШТҮКТҮ ЭСКЕ АЛАБЫЗ"')
    assert set(titles(kyrgyz)) == {
        "Мектептердин өнөктөштүгү боюнча колдонмо",
        "Адабият: текшерүү иши",
    }


async def test_text_inside_pdf_docx_and_odt_files_is_searchable(library: Library) -> None:
    assert titles(await search(library.home.admin, q="heroes essay")) == ["Essay assignment"]
    assert titles(await search(library.home.admin, q="изучают")) == ["Литература: эпос и его герои"]
    assert set(titles(await search(library.home.admin, q="каражаттар салттуу"))) == {
        "Мектептердин өнөктөштүгү боюнча колдонмо",
        "Адабият: текшерүү иши",
    }


async def test_search_finds_authors_and_co_authors_and_the_subject(library: Library) -> None:
    assert titles(await search(library.home.admin, q="гүлмира")) == ["Адабият: текшерүү иши"]
    page = await search(library.home.admin, q="director ысык")
    assert page["total"] == 4
    assert titles(await search(library.home.admin, q="башкаруу")) == [
        "Мектептердин өнөктөштүгү боюнча колдонмо"
    ]


async def test_a_result_carries_its_school_authors_version_and_extraction(
    library: Library,
) -> None:
    (item,) = (await search(library.home.admin, q="essay assignment"))["items"]
    assert item["id"] == str(library.english)
    assert item["kind"] == "assessment"
    assert item["language"] == "en"
    assert item["grades"] == [8, 9]
    assert item["licence"] == "cc-by"
    assert item["school"] == {"id": str(library.partner.id), "name": "Ысык-Көл мектеби"}
    assert item["authors"] == [
        {"id": str(library.partner.admin.member_id), "full_name": "Director of Ысык-Көл мектеби"}
    ]
    assert item["current_version"]["media_type"] == "application/pdf"
    assert item["current_version"]["size"] > 0
    assert item["extraction_status"] == "done"
    assert item["created_at"]


async def test_snippets_escape_the_text_and_mark_only_matches(
    schools: SchoolFactory, shelf: Shelf
) -> None:
    home = await schools.create()
    await shelf.add(
        home.id,
        title="Markup",
        body="Before <script>alert(1)</script> & the Manas epic, then more text.",
    )
    (item,) = (await search(home.admin, q="manas"))["items"]
    assert item["snippet"] == (
        "Before &lt;script&gt;alert(1)&lt;/script&gt; &amp; the <mark>Manas</mark> epic, "
        "then more text."
    )


# --- ranking ------------------------------------------------------------------------------


async def test_title_matches_rank_above_metadata_and_body_matches(
    schools: SchoolFactory, shelf: Shelf
) -> None:
    home = await schools.create()
    await shelf.add(home.id, title="Эпос", description="Манас эпосу жөнүндө", body="текст")
    await shelf.add(home.id, title="Манас: 7-класс", body="текст")
    await shelf.add(home.id, title="Баяндама", body="Манас жөнүндө баяндама")
    await shelf.add(home.id, title="Эскиз", body="Манастын образы")
    relevance = await search(home.admin, q="манас")
    assert titles(relevance)[:2] == ["Манас: 7-класс", "Эпос"]
    # Body matches after, newest first.
    assert titles(relevance)[2:] == ["Эскиз", "Баяндама"]
    newest = await search(home.admin, q="манас", sort="newest")
    assert titles(newest) == ["Эскиз", "Баяндама", "Манас: 7-класс", "Эпос"]


async def test_more_query_words_in_the_title_rank_higher(
    schools: SchoolFactory, shelf: Shelf
) -> None:
    home = await schools.create()
    await shelf.add(home.id, title="Manas epic", body="grade seven test")
    await shelf.add(home.id, title="Manas epic test", body="grade seven")
    await shelf.add(home.id, title="Notes", body="manas epic test")
    assert titles(await search(home.admin, q="manas test")) == [
        "Manas epic test",
        "Manas epic",
        "Notes",
    ]


@pytest.mark.parametrize("matches", ["few", "named", "many"])
async def test_pages_go_through_every_tier_in_order_one_at_a_time(
    schools: SchoolFactory, shelf: Shelf, monkeypatch: pytest.MonkeyPatch, matches: str
) -> None:
    # The title, metadata and text-only tiers are read apart: a page that starts in one
    # and ends in another, and cursors inside each, keep the order. Few matches are
    # named and tested by key; many are found through the indexes (on PostgreSQL the
    # titles' words, then the heads, then the text), which "many" stands in for here.
    # Between the two ("named"), PostgreSQL names every match but finds the head
    # matches among them through the indexes.
    if matches == "many":
        monkeypatch.setattr("exchange.search.engines.run.COUNT_SAMPLE", 2)
    if matches == "named":
        monkeypatch.setattr("exchange.search.engines.postgres._FEW_REACHED", 0)
        monkeypatch.setattr("exchange.search.engines.postgres._HEAD_BY_KEY_AT_MOST", 0)
    home = await schools.create()
    partner = await schools.create()
    await shelf.partnership(home.id, partner.id)
    await shelf.add(home.id, title="Notes one", body="manas epic test")
    await shelf.add(home.id, title="Manas epic test", body="grade seven")
    await shelf.add(partner.id, title="Kept", body="manas test", visibility="school")
    await shelf.add(home.id, title="Plan", description="manas", body="test")
    await shelf.add(partner.id, title="Manas test shared", body="text")
    await shelf.add(home.id, title="Notes two", body="test manas")
    await shelf.add(home.id, title="Manas", description="test of the epic", body="text")
    expected = [
        "Manas test shared",  # every word in the title, newest first
        "Manas epic test",
        "Manas",  # every word in title and metadata
        "Plan",  # a word in the metadata, the other in the text
        "Notes two",  # the text alone, newest first
        "Notes one",
    ]
    one_word = [
        "Manas",  # the word in the title, newest first
        "Manas test shared",
        "Manas epic test",
        "Plan",  # in the metadata
        "Notes two",  # the text alone, newest first
        "Notes one",
    ]
    for q, ranked in (("manas test", expected), ("manas", one_word)):
        assert titles(await search(home.admin, q=q)) == ranked, q
        for limit in (1, 2, 4):
            seen: list[str] = []
            cursor = None
            while True:
                page = await search(
                    home.admin, q=q, limit=limit, **({"cursor": cursor} if cursor else {})
                )
                seen += titles(page)
                cursor = page["next_cursor"]
                if cursor is None:
                    break
            assert seen == ranked, (q, limit)
    newest = await search(home.admin, q="manas test", sort="newest", limit=4)
    assert titles(newest) == ["Manas", "Notes two", "Manas test shared", "Plan"]


# --- filters and facets -------------------------------------------------------------------


async def test_filters_narrow_the_results_and_combine(library: Library) -> None:
    reader = library.home.admin
    assert set(titles(await search(reader, kind="assessment"))) == {
        "Essay assignment",
        "Адабият: текшерүү иши",
    }
    assert titles(await search(reader, kind="assessment", language="ky")) == [
        "Адабият: текшерүү иши"
    ]
    assert set(titles(await search(reader, grade=7))) == {
        "Литература: эпос и его герои",
        "Адабият: текшерүү иши",
    }
    assert titles(await search(reader, grade=9)) == ["Essay assignment"]
    assert titles(await search(reader, licence="cc-by")) == ["Essay assignment"]
    assert titles(await search(reader, subject="Литература")) == ["Литература: эпос и его герои"]
    both = await reader.get("/api/resources", params=[("grade", "8"), ("grade", "7")])
    assert both.json()["total"] == 3
    assert (await search(reader, school_id=str(library.home.id)))["total"] == 0
    assert (await search(reader, school_id=str(library.partner.id)))["total"] == 4
    assert (await search(reader, q="manas", language="en"))["total"] == 1


async def test_author_filter_takes_a_member_id_or_a_name(library: Library) -> None:
    reader = library.home.admin
    by_id = await search(reader, author=str(library.partner.admin.member_id))
    assert by_id["total"] == 4
    assert titles(await search(reader, author="Гүлмира")) == ["Адабият: текшерүү иши"]
    assert titles(await search(reader, author="ТОКТОСУН")) == ["Адабият: текшерүү иши"]
    assert (await search(reader, author="director ысык"))["total"] == 4
    assert (await search(reader, author=str(library.home.admin.member_id)))["total"] == 0


async def test_facets_count_the_whole_result_set_not_the_page(library: Library) -> None:
    page = await search(library.home.admin, limit=1)
    assert len(page["items"]) == 1
    assert page["total"] == 4
    assert facet(page, "kind") == {"assessment": 2, "lesson_plan": 1, "policy": 1}
    assert facet(page, "language") == {"ky": 2, "ru": 1, "en": 1}
    assert facet(page, "grade") == {7: 2, 8: 1, 9: 1}
    assert facet(page, "subject") == {
        "Адабият": 1,
        "English": 1,
        "Литература": 1,
        "Мектеп башкаруу": 1,
    }
    assert page["facets"]["school"] == [
        {"value": str(library.partner.id), "name": "Ысык-Көл мектеби", "count": 4}
    ]
    words = await search(library.home.admin, q="манас")
    assert words["total"] == 2
    assert facet(words, "language") == {"ky": 1, "ru": 1}
    assert facet(words, "grade") == {7: 2}


async def test_a_resource_counts_once_in_each_of_its_grades(
    schools: SchoolFactory, shelf: Shelf
) -> None:
    home = await schools.create()
    await shelf.add(home.id, title="Manas one", grades=[7, 8])
    await shelf.add(home.id, title="Manas two", grades=[8, 7])
    await shelf.add(home.id, title="Manas three", grades=[7, 8])
    await shelf.add(home.id, title="Manas four", grades=[8])
    await shelf.add(home.id, title="Manas five")
    page = await search(home.admin, q="manas", limit=1)
    assert page["total"] == 5
    assert facet(page, "grade") == {7: 3, 8: 4}
    assert [entry["value"] for entry in page["facets"]["grade"]] == [7, 8]


# --- who sees what ------------------------------------------------------------------------


@pytest.mark.parametrize("heads", ["by key", "through the indexes"])
async def test_only_what_the_caller_may_read_is_found_counted_or_faceted(
    schools: SchoolFactory, shelf: Shelf, monkeypatch: pytest.MonkeyPatch, heads: str
) -> None:
    # Every match here is in a title. On PostgreSQL the title matches among named
    # documents are tested by key when they are few, or found through the GIN indexes
    # over every school's documents when they are many: "through the indexes" forces
    # that, and nothing the caller may not read may come through it either.
    if heads == "through the indexes":
        monkeypatch.setattr("exchange.search.engines.postgres._FEW_REACHED", 0)
        monkeypatch.setattr("exchange.search.engines.postgres._HEAD_BY_KEY_AT_MOST", 0)
    home = await schools.create("Home")
    partner = await schools.create("Partner")
    other = await schools.create("Other partner")
    stranger = await schools.create("Stranger")
    former = await schools.create("Former partner")
    await shelf.partnership(home.id, partner.id)
    await shelf.partnership(other.id, home.id)
    await shelf.partnership(partner.id, other.id)
    await shelf.partnership(home.id, former.id, status="ended")
    await shelf.add(home.id, title="Manas at home", visibility="school")
    await shelf.add(partner.id, title="Manas for partners", kind="assessment")
    await shelf.add(partner.id, title="Manas inside partner", visibility="school")
    await shelf.add(
        partner.id, title="Manas for home only", visibility="selected", shared_with=[home.id]
    )
    await shelf.add(
        partner.id,
        title="Manas for the other school",
        visibility="selected",
        shared_with=[other.id],
        kind="policy",
    )
    await shelf.add(stranger.id, title="Manas of a stranger", kind="policy")
    await shelf.add(former.id, title="Manas of a former partner", kind="video")

    page = await search(home.admin, q="manas")
    assert set(titles(page)) == {"Manas at home", "Manas for partners", "Manas for home only"}
    assert page["total"] == 3
    assert facet(page, "kind") == {"lesson_plan": 2, "assessment": 1}
    assert {entry["value"] for entry in page["facets"]["school"]} == {
        str(home.id),
        str(partner.id),
    }
    # A partner's partner is not a partner.
    assert set(titles(await search(other.admin, q="manas"))) == {
        "Manas for partners",
        "Manas for the other school",
    }
    nothing = await search(stranger.admin, q="manas", school_id=str(partner.id))
    assert nothing["total"] == 0 and nothing["items"] == []
    assert all(values == [] for values in nothing["facets"].values())
    assert titles(await search(stranger.admin)) == ["Manas of a stranger"]
    assert (await search(home.admin, school_id=str(former.id)))["total"] == 0


async def test_the_partner_feed_lists_what_a_partner_shared_newest_first(
    schools: SchoolFactory, shelf: Shelf
) -> None:
    home = await schools.create()
    partner = await schools.create()
    await shelf.partnership(home.id, partner.id)
    for number in range(3):
        await shelf.add(partner.id, title=f"Shared {number}")
    await shelf.add(partner.id, title="Kept inside", visibility="school")
    await shelf.add(home.id, title="Ours")
    feed = await search(home.admin, sort="newest", school_id=str(partner.id))
    assert titles(feed) == ["Shared 2", "Shared 1", "Shared 0"]
    assert feed["sort"] == "newest"


# --- pages --------------------------------------------------------------------------------


async def collect_pages(actor: Actor, limit: int, **params: Any) -> tuple[list[str], int]:
    """Follows `next_cursor` to the end; returns the ids seen and the number of pages."""
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = await search(actor, limit=limit, **params, **({"cursor": cursor} if cursor else {}))
        pages += 1
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return seen, pages


@pytest.mark.parametrize("sort", ["relevance", "newest"])
async def test_cursor_pages_neither_skip_nor_repeat_when_resources_are_added(
    schools: SchoolFactory, shelf: Shelf, sort: str
) -> None:
    home = await schools.create()
    ids = []
    for number in range(7):
        in_title = number % 2 == 0
        ids.append(
            await shelf.add(
                home.id,
                title=f"Manas {number}" if in_title else f"Lesson {number}",
                body="manas epic" if not in_title else "text",
            )
        )
    first = await search(home.admin, q="manas", sort=sort, limit=3)
    assert len(first["items"]) == 3 and first["total"] == 7
    # Resources added after the first page, ranking both above and below it.
    added = [
        await shelf.add(home.id, title="Manas newest"),
        await shelf.add(home.id, title="Newest lesson", body="manas"),
    ]
    seen = [item["id"] for item in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = await search(home.admin, q="manas", sort=sort, limit=3, cursor=cursor)
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)), "a resource was shown twice"
    assert {str(resource_id) for resource_id in ids} <= set(seen), "a resource was skipped"
    assert set(seen) <= {str(resource_id) for resource_id in ids + added}


async def test_pages_follow_the_ranking_to_the_end(schools: SchoolFactory, shelf: Shelf) -> None:
    home = await schools.create()
    for number in range(5):
        await shelf.add(home.id, title=f"Plan {number}")
    seen, pages = await collect_pages(home.admin, 2)
    assert len(seen) == 5 and len(set(seen)) == 5
    assert pages == 3
    last = await search(home.admin, limit=5)
    assert last["next_cursor"] is None


def tampered(cursor: str, **changes: Any) -> str:
    document = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    document.update(changes)
    raw = json.dumps(document).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def test_a_cursor_that_was_not_issued_for_this_search_is_refused(
    schools: SchoolFactory, shelf: Shelf
) -> None:
    home = await schools.create()
    for number in range(3):
        await shelf.add(home.id, title=f"Manas {number}")
    cursor = (await search(home.admin, q="manas", limit=1))["next_cursor"]
    assert cursor
    for bad in (
        "not a cursor",
        cursor[:-3],
        "A" * 500,
        tampered(cursor, k=["high", 1]),
        tampered(cursor, k=[1, -1]),
        tampered(cursor, k=[1, True]),
        tampered(cursor, k=[1]),
        tampered(cursor, v=99),
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
    ):
        response = await home.admin.get("/api/resources", params={"q": "manas", "cursor": bad})
        body = assert_problem(response, 422)
        assert "cursor" in body["detail"]
    other_search = await home.admin.get("/api/resources", params={"q": "plan", "cursor": cursor})
    assert "different list" in assert_problem(other_search, 422)["detail"]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "many"},
        {"sort": "popular"},
        {"grade": "12"},
        {"grade": "0"},
        {"grade": "seventh"},
        {"language": "kyrgyz"},
        {"licence": "gpl"},
        {"kind": "poster"},
        {"school_id": "not-a-uuid"},
        {"q": "манас " * 200},
        {"subject": "x" * 101},
    ],
)
async def test_every_parameter_is_checked_with_a_problem_a_teacher_can_act_on(
    schools: SchoolFactory, params: dict[str, str]
) -> None:
    home = await schools.create()
    response = await home.admin.get("/api/resources", params=params)
    assert_problem(response, 422)


async def test_search_needs_a_signed_in_member(schools: SchoolFactory) -> None:
    await schools.create()
    response = await schools.client.get("/api/resources", params={"q": "manas"})
    assert_problem(response, 401)


async def test_a_query_without_words_lists_everything_readable_newest_first(
    schools: SchoolFactory, shelf: Shelf
) -> None:
    home = await schools.create()
    await shelf.add(home.id, title="First")
    await shelf.add(home.id, title="Second")
    for query in ("", "  ", "!!! ...", '""'):
        page = await search(home.admin, q=query)
        assert titles(page) == ["Second", "First"], query
        assert page["sort"] == "newest"


async def test_many_searches_at_once_each_get_their_page_total_and_facets(
    schools: SchoolFactory, shelf: Shelf
) -> None:
    # More searches at once than connections a database pool keeps: on SQLite each
    # holds a reader connection for its page while its count holds a second, and none
    # waits for another's.
    home = await schools.create()
    for number in range(6):
        await shelf.add(home.id, title=f"Manas {number}", kind="assessment")
    pages = await asyncio.gather(*(search(home.admin, q="manas", limit=2) for _ in range(40)))
    for page in pages:
        assert titles(page) == ["Manas 5", "Manas 4"]
        assert page["total"] == 6 and facet(page, "kind") == {"assessment": 6}


async def test_a_very_common_word_is_counted_over_a_sample_and_says_so(
    schools: SchoolFactory, shelf: Shelf, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("exchange.search.engines.run.COUNT_SAMPLE", 4)
    home = await schools.create()
    partner = await schools.create()
    await shelf.partnership(home.id, partner.id)
    for number in range(4):
        await shelf.add(home.id, title=f"Manas {number}", kind="assessment")
    for number in range(4):
        await shelf.add(partner.id, title=f"Manas shared {number}", grades=[7])
    for number in range(4):
        await shelf.add(partner.id, title=f"Manas kept {number}", visibility="school")

    page = await search(home.admin, q="manas", limit=20)
    # Exactly what the caller may read is listed; the count is scaled from a sample, and
    # never below what the page lists.
    assert len(page["items"]) == 8
    assert page["total_is_estimate"] is True
    assert 8 <= page["total"] <= 12
    assert 0 < sum(facet(page, "kind").values()) <= page["total"]
    narrowed = await search(home.admin, q="manas", school_id=str(partner.id))
    assert narrowed["total_is_estimate"] is False
    assert narrowed["total"] == 4
    few = await search(home.admin, q="shared")
    assert few["total_is_estimate"] is False and few["total"] == 4


async def test_a_kept_estimate_never_counts_a_partner_whose_partnership_ended(
    schools: SchoolFactory, shelf: Shelf, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A list of everything the caller may read is estimated when there are many
    # resources, and the estimate is kept a few seconds for the school's next list. It
    # is kept by whose resources the school may read: when a partnership ends, the next
    # list counts afresh, and the former partner is in neither the page nor the facets.
    # What is added shows in the page at once.
    monkeypatch.setattr("exchange.search.engines.run.COUNT_SAMPLE", 4)
    home = await schools.create()
    partner = await schools.create()
    partnership = await shelf.partnership(home.id, partner.id)
    for number in range(3):
        await shelf.add(home.id, title=f"Ours {number}")
    for number in range(3):
        await shelf.add(partner.id, title=f"Theirs {number}")

    listed = await search(home.admin, limit=10)
    assert listed["total_is_estimate"] is True
    assert str(partner.id) in facet(listed, "school")
    assert sorted(titles(listed)) == [
        *(f"Ours {n}" for n in range(3)),
        *(f"Theirs {n}" for n in range(3)),
    ]

    await shelf.set_partnership_status(partnership, "ended")
    await shelf.add(home.id, title="Ours, new")
    after = await search(home.admin, limit=10)
    assert titles(after) == ["Ours, new", "Ours 2", "Ours 1", "Ours 0"]
    assert set(facet(after, "school")) <= {str(home.id)}
    # The partner's own list is counted for the partner, never from the other's.
    theirs = await search(partner.admin, limit=10)
    assert set(facet(theirs, "school")) <= {str(partner.id)}
    assert titles(theirs) == ["Theirs 2", "Theirs 1", "Theirs 0"]


async def test_many_matches_are_estimated_from_a_sample_spread_over_the_corpus(
    schools: SchoolFactory, shelf: Shelf, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Totals and facets of many matches come from a sample spread over the whole corpus
    # (by a hash of the index position), not from the oldest matches: a school that
    # shared only lately counts in the facets too. PostgreSQL also estimates the number
    # of matches from fixed samples of the documents (migrations 0006 and 0007).
    monkeypatch.setattr("exchange.search.engines.run.COUNT_SAMPLE", 8)
    monkeypatch.setattr("exchange.search.engines.postgres._SAMPLE_AT_LEAST", 4)
    home = await schools.create()
    early = await schools.create()
    late = await schools.create()
    await shelf.partnership(home.id, early.id)
    await shelf.partnership(home.id, late.id)
    for number in range(24):
        await shelf.add(early.id, title=f"Manas early {number}")
    for number in range(24):
        await shelf.add(late.id, title=f"Manas late {number}", kind="assessment")

    page = await search(home.admin, q="manas", limit=5)
    assert page["total_is_estimate"] is True
    assert 16 <= page["total"] <= 128
    # The eight oldest matches are all the early school's.
    assert set(facet(page, "school")) == {str(early.id), str(late.id)}
    assert set(facet(page, "kind")) == {"lesson_plan", "assessment"}
    assert sum(facet(page, "kind").values()) == page["total"]
    assert len(page["items"]) == 5 and page["next_cursor"] is not None


@pytest.mark.parametrize("quarter_first", [True, False])
async def test_a_search_counts_the_same_whether_the_quarter_sample_is_read_first_or_not(
    schools: SchoolFactory, shelf: Shelf, monkeypatch: pytest.MonkeyPatch, quarter_first: bool
) -> None:
    # PostgreSQL reads the quarter sample before the first matches when a smaller sample
    # promises it enough; when the quarter falls short all the same, the first matches
    # name every match and the count is exact. Forced here either way.
    monkeypatch.setattr("exchange.search.engines.run.COUNT_SAMPLE", 8)
    monkeypatch.setattr("exchange.search.engines.postgres._SAMPLE_AT_LEAST", 4)
    margin = 0.0 if quarter_first else float("inf")
    monkeypatch.setattr("exchange.search.engines.postgres._QUARTER_FIRST_MARGIN", margin)
    home = await schools.create()
    partner = await schools.create()
    await shelf.partnership(home.id, partner.id)
    for number in range(3):
        await shelf.add(partner.id, title=f"Komuz {number}", kind="assessment")
    for number in range(48):
        await shelf.add(partner.id, title=f"Manas {number}")

    few = await search(home.admin, q="komuz", limit=2)
    assert few["total_is_estimate"] is False and few["total"] == 3
    assert facet(few, "kind") == {"assessment": 3}
    assert titles(few) == ["Komuz 2", "Komuz 1"]
    many = await search(home.admin, q="manas", limit=2)
    assert len(many["items"]) == 2 and many["next_cursor"] is not None
    assert 16 <= many["total"] <= 128
    assert sum(facet(many, "kind").values()) == many["total"]


async def test_a_school_with_few_partners_counts_exactly_what_it_may_read_among_many_matches(
    schools: SchoolFactory, shelf: Shelf, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every match the caller may read is among the documents of its school and its
    # partners. When those schools share few resources, PostgreSQL starts from their
    # matches: the total and the facets are exact, however many documents the words
    # match across the exchange. SQLite estimates them as for any caller. On both the
    # pages hold exactly what the caller may read.
    monkeypatch.setattr("exchange.search.engines.run.COUNT_SAMPLE", 8)
    monkeypatch.setattr("exchange.search.engines.postgres._SAMPLE_AT_LEAST", 4)
    home = await schools.create()
    partner = await schools.create()
    stranger = await schools.create()
    await shelf.partnership(home.id, partner.id)
    for number in range(12):
        await shelf.add(stranger.id, title=f"Manas elsewhere {number}")
    for number in range(3):
        await shelf.add(partner.id, title=f"Manas at the partner {number}")
    await shelf.add(partner.id, title="Manas kept at the partner", visibility="school")
    await shelf.add(home.id, title="Manas at home", kind="assessment")
    for number in range(12):
        await shelf.add(stranger.id, title=f"Manas elsewhere again {number}")

    page = await search(home.admin, q="mana", limit=2)
    assert titles(page) == ["Manas at home", "Manas at the partner 2"]
    if settings.is_sqlite:
        assert page["total_is_estimate"] is True
        assert set(facet(page, "school")) <= {str(partner.id), str(home.id)}
    else:
        assert page["total_is_estimate"] is False and page["total"] == 4
        assert facet(page, "school") == {str(partner.id): 3, str(home.id): 1}
        assert facet(page, "kind") == {"lesson_plan": 3, "assessment": 1}
    seen, pages = await collect_pages(home.admin, 3, q="manas")
    assert pages == 2 and len(set(seen)) == 4
    newest = await search(home.admin, q="manas", sort="newest")
    assert titles(newest) == [
        "Manas at home",
        "Manas at the partner 2",
        "Manas at the partner 1",
        "Manas at the partner 0",
    ]
    # The partner reaches the same schools: its own resource kept to itself counts too.
    theirs = await search(partner.admin, q="manas", limit=10)
    assert len(theirs["items"]) == 5 and theirs["next_cursor"] is None
    if not settings.is_sqlite:
        assert theirs["total_is_estimate"] is False and theirs["total"] == 5


async def test_listing_without_words_walks_back_until_the_page_is_full(
    schools: SchoolFactory, shelf: Shelf, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Windows of one document at first: what the caller may read is far apart.
    monkeypatch.setattr("exchange.search.engines.run.FIRST_WINDOW", 1)
    home = await schools.create()
    other = await schools.create()
    await shelf.add(home.id, title="Oldest of ours", kind="policy")
    for number in range(6):
        await shelf.add(other.id, title=f"Not ours {number}", kind="policy")
    await shelf.add(home.id, title="Middle of ours", kind="lesson_plan")
    for number in range(6):
        await shelf.add(other.id, title=f"Not ours either {number}", kind="policy")
    await shelf.add(home.id, title="Newest of ours", kind="policy")

    assert titles(await search(home.admin)) == [
        "Newest of ours",
        "Middle of ours",
        "Oldest of ours",
    ]
    assert titles(await search(home.admin, kind="policy")) == ["Newest of ours", "Oldest of ours"]
    seen, pages = await collect_pages(home.admin, 1)
    assert pages == 3 and len(set(seen)) == 3
