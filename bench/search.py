"""Search at scale: 100,000 multilingual resources on SQLite and on PostgreSQL.

Run by hand from the repository root:

    PYTHONPATH=src .venv/bin/python bench/search.py [--resources 100000]
        [--backends sqlite,postgresql] [--rounds 5] [--queries 40]
        [--postgres-url postgresql+asyncpg://postgres@127.0.0.1:5432/exchange_bench_search]
        [--workdir /tmp/exchange-bench-search] [--keep] [--reuse]

It generates a corpus with the word frequencies of real text (a Zipf-like skew over a
Kyrgyz, Russian and English vocabulary: words of the handbook, of the code of conduct
and school words, their inflected forms, and a long tail of rarer words, so ң ө ү and ё
all occur), bulk-loads it into each database with the migrations' schema (executemany on
SQLite, COPY on PostgreSQL; the index rows from the same `normalise_text` the app uses),
and then, in the same run, times:

- raw: the SQL the search endpoint issues for that query and that caller (visibility,
  ranking, page, total, facets: every statement of `SearchService.search`), captured
  once from the app's own engine and then replayed straight through the driver (sqlite3;
  asyncpg, in one transaction as the app runs it);
- match: for context, the bare full-text match alone (FTS5 `MATCH ... ORDER BY rank
  LIMIT 20`; `@@ ... ORDER BY ts_rank(...) DESC LIMIT 20`): no visibility, no facets,
  no total;
- http: `GET /api/resources?q=...` on the real app, served by uvicorn in a child process
  and called over HTTP with a keep-alive client: authentication, the search's SQL,
  snippets and JSON included. Its p99 is reported as a ratio of raw's.

The caller is a well-connected school: active partnerships with three quarters of the
schools, so it may read about two thirds of the corpus (the heaviest case for totals
and facets). A school with five partners is timed too.

Query classes: rare words (in at most 30 resources), two-word queries (two words each
in 0.5-5% of the resources), prefixes (4-5 letters of mid-frequency words), and very
common words (in more than a quarter of the resources). The PostgreSQL database is
created and dropped by the run (`--keep` keeps both databases, `--reuse` reuses them).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import importlib.util
import json
import math
import os
import random
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
from sqlalchemy import create_engine, event, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker
from tests.settings import settings_env
from uuid_utils.compat import uuid7

from exchange.accounts.identity import Identity
from exchange.accounts.passwords import hasher
from exchange.clock import SystemClock
from exchange.config import Settings
from exchange.database import PreparedRead, sqlite_reader
from exchange.database import create_engine as create_app_engine
from exchange.kernel.text import normalise_text
from exchange.models import (
    Member,
    MemberRole,
    Partnership,
    Resource,
    ResourceAuthor,
    ResourceShare,
    ResourceVersion,
    School,
    SearchDocument,
    SearchText,
)
from exchange.schema import upgrade
from exchange.search.engines import search_engine_for
from exchange.search.fulltext import fts5_expression, tsquery_expression
from exchange.search.index import indexed_text, within_tsvector_limit
from exchange.search.normalise import parse_query
from exchange.search.services import SearchParams, SearchService

ROOT = Path(__file__).resolve().parents[1]
SEED_TEXT = Path("/work/shared/seed/000_f859003fabd221e8.txt")
CONTENT = ROOT / "src" / "exchange" / "partnerships" / "content"
PASSWORD = "benchmark password"
BENCH_EMAIL = "director@bench.kg"
TYPICAL_EMAIL = "director@typical.kg"

# --- vocabulary --------------------------------------------------------------------------


def _words(block: str, separator: str | None = None) -> list[str]:
    return [word.strip() for word in block.split(separator) if word.strip()]


RUSSIAN_WORDS = _words("""
и в не на с что по к а как это из у за о от для так же мы но все всё его её их они
она он то бы ли до при под над или если когда чтобы только уже ещё был была были
будет может можно нужно очень также этот эта эти тот та те который которая которые
урок уроки урока уроков учитель учителя учителей ученик ученики учеников учащихся
школа школы школе школу школой класс класса классе классов учебный учебная учебного
учебных план плана планы занятие занятия задание задания заданий оценивание оценка
оценки контрольная работа работы работу проект проекта проекты тема темы тему цель
цели задачи результат результаты материал материалы литература литературы история
истории математика математики физика физики химия биология география язык языка
русский русского кыргызский английский эпос манас манаса родители родителей семья
директор завуч методист партнёрство партнёрства партнёр партнёры сотрудничество
обмен опытом опыт развитие развития образование образования программа программы
учёба отчёт отчёты зачёт объём подъём приём счёт учёный лёгкий твёрдый чёткий ёлка
самолёт берёза жёлтый зелёный нём всём своём полёт звёзды слёт учёт ответ вопрос
вопросы ответы текст текста чтение письмо грамматика словарь диктант сочинение
изложение пример примеры правило правила упражнение упражнения таблица схема
рисунок карта время минут часть части группа группы пара парах презентация видео
доклад исследование эксперимент наблюдение вывод выводы итог итоги неделя четверть
год года году месяц день дети детей дружба природа родина город село сельской
городской область район регион Бишкек Ош Нарын Талас Каракол Джалал Баткен
""")
ENGLISH_WORDS = _words("""
the of and to a in is for that on with as are be this by it at from or an
will their they have can which not all students student teacher teachers school
schools lesson lessons plan plans class grade grades learning learn assessment
assessments test tests question questions answer answers work project projects
reading writing language english kyrgyz russian history math mathematics science
physics chemistry biology geography literature epic manas partner partners
partnership exchange visit visits parents community rural urban village city
activity activities group groups pair pairs time minutes objective objectives
outcome outcomes resource resources worksheet worksheets rubric rubrics homework
feedback discussion presentation video report research experiment observation
summary review vocabulary grammar essay story stories text texts example examples
table map picture chart week term year day children friendship nature country
region mountain mountains lake river culture tradition traditions festival music
art sport games teamwork respect trust goal goals plan planning evaluation
""")
KYRGYZ_SUFFIXES = _words("""
лар дар тар лер дер тер дын дин нын нин тын тин дун дүн нун нүн га ге ка ке
го гө ко кө ды ди ны ни ту тү ну нү да де та те дан ден тан тен дон дөн
лык лик луу лүү сыз сиз чы чи чу чү ыбыз ибиз ыңыз иңиз ган ген кан кен ып
ип үү уу лардын лерди ларга лерге ыбызды иңизге чулук чүлүк даштык тештик
""")
RUSSIAN_ENDINGS = _words(
    "а у ом е ы ов ам ами ах ой ую ая ое ые ых ым ого ому ему ёт ём ешь ют ет ит"
)
ENGLISH_ENDINGS = _words("s es ed ing er ers ly ment ments ness")

SYLLABLES = {
    "ky": ("бвгджзйклмнңпрстчшх", "аеиоөуүы"),
    "ru": ("бвгджзклмнпрстфхцчшщ", "аеёиоуыэюя"),
    "en": ("bcdfghjklmnprstvwz", "aeiouy"),
}
SUBJECTS = {
    "ky": _words(
        "Кыргыз тили,Адабият,Математика,Тарых,Физика,Химия,Биология,География,"
        "Англис тили,Орус тили,Музыка,Дене тарбия",
        ",",
    ),
    "ru": _words(
        "Русский язык,Литература,Математика,История,Физика,Химия,Биология,"
        "География,Английский язык,Кыргызский язык,Музыка,Информатика",
        ",",
    ),
    "en": _words(
        "English,Literature,Mathematics,History,Physics,Chemistry,Biology,"
        "Geography,Kyrgyz,Russian,Music,Computer science",
        ",",
    ),
}
LANGUAGE_SHARE = (("ky", 0.45), ("ru", 0.35), ("en", 0.20))
KINDS = ("lesson_plan", "assessment", "policy", "video", "student_work", "other")
KIND_WEIGHTS = (45, 25, 5, 8, 12, 5)
LICENCES = ("all_rights_reserved", "cc-by", "cc-by-sa", "cc-by-nc", "cc-by-nc-sa", "cc0")
LICENCE_WEIGHTS = (60, 12, 8, 8, 6, 6)
VOCABULARY_SIZE = 60_000
ZIPF_EXPONENT = 1.05
WORD = re.compile(r"[^\W\d_]{2,}")
ALPHABETS = {
    "ky": re.compile(r"[а-яёңөү]+"),
    "ru": re.compile(r"[а-яё]+"),
    "en": re.compile(r"[a-z]+"),
}


def _texts_in(language: str) -> str:
    """Real text in `language` from the handbook and the partnership content."""
    pieces: list[str] = []
    if language == "ky":
        pieces.append(SEED_TEXT.read_text(encoding="utf-8"))
    pieces.append((CONTENT / f"invitation_letter.{language}.txt").read_text(encoding="utf-8"))

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == language and isinstance(value, str):
                    pieces.append(value)
                else:
                    collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(_code_of_conduct_v1())
    collect(json.loads((CONTENT / "self_assessment_v1.json").read_text(encoding="utf-8")))
    return "\n".join(pieces)


def _code_of_conduct_v1() -> dict[str, Any]:
    """The code of conduct's first version, as migration 0003 puts it in force."""
    path = ROOT / "migrations" / "versions" / "0003_code_of_conduct_v1.py"
    spec = importlib.util.spec_from_file_location("code_of_conduct_v1", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    document: dict[str, Any] = module.CODE_OF_CONDUCT_V1
    return document


def vocabulary(language: str, rng: random.Random) -> list[str]:
    """`VOCABULARY_SIZE` distinct lower-case words, most frequent first."""
    alphabet = ALPHABETS[language]
    counts = collections.Counter(
        word.lower()
        for word in WORD.findall(_texts_in(language))
        if alphabet.fullmatch(word.lower())
    )
    listed = {"ru": RUSSIAN_WORDS, "en": ENGLISH_WORDS}.get(language, [])
    ranked: list[str] = []
    seen: set[str] = set()

    def add(word: str) -> None:
        word = word.lower()
        if word not in seen and len(word) > 1:
            seen.add(word)
            ranked.append(word)

    # Function words of the list first, then the real text by its own frequencies.
    for word in listed[:40]:
        add(word)
    for word, _ in counts.most_common():
        add(word)
    for word in listed[40:]:
        add(word)
    stems = list(ranked[:3000])
    endings = {"ky": KYRGYZ_SUFFIXES, "ru": RUSSIAN_ENDINGS, "en": ENGLISH_ENDINGS}[language]
    for _ in range(VOCABULARY_SIZE):
        stem = rng.choice(stems)
        base = stem if language == "ky" else stem.rstrip("аеиоуыяьйeys")
        add(base + rng.choice(endings))
        if len(ranked) >= VOCABULARY_SIZE // 2:
            break
    consonants, vowels = SYLLABLES[language]
    while len(ranked) < VOCABULARY_SIZE:
        syllables = rng.randint(2, 4)
        add(
            "".join(
                rng.choice(consonants)
                + rng.choice(vowels)
                + (rng.choice(consonants) * (rng.random() < 0.3))
                for _ in range(syllables)
            )
        )
    # The long tail keeps its order; the middle gets real and invented words mixed.
    head, middle, tail = ranked[:300], ranked[300:20_000], ranked[20_000:]
    rng.shuffle(middle)
    return head + middle + tail


@dataclass
class Sampler:
    words: list[str]
    cumulative: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        total = 0.0
        for rank in range(1, len(self.words) + 1):
            total += 1.0 / rank**ZIPF_EXPONENT
            self.cumulative.append(total)

    def draw(self, rng: random.Random, k: int) -> list[str]:
        return rng.choices(self.words, cum_weights=self.cumulative, k=k)


def sentences(rng: random.Random, words: list[str]) -> str:
    out: list[str] = []
    position = 0
    while position < len(words):
        length = rng.randint(6, 16)
        chunk = words[position : position + length]
        position += length
        if rng.random() < 0.3 and len(chunk) > 4:
            chunk[len(chunk) // 2] += ","
        out.append(chunk[0].capitalize() + (" " + " ".join(chunk[1:]) if chunk[1:] else "") + ".")
    return " ".join(out)


# --- the corpus --------------------------------------------------------------------------


@dataclass
class Doc:
    id: UUID
    school: int
    author: int
    kind: str
    title: str
    description: str
    subject: str
    grades: list[int]
    language: str
    licence: str
    visibility: str
    shared_with: list[int]
    co_authors: list[str]
    created_at: datetime
    body: str


@dataclass
class Corpus:
    schools: int
    members_per_school: int
    partners_of_bench: int
    docs: list[Doc]
    document_frequency: dict[str, collections.Counter[str]]
    vocabularies: dict[str, list[str]]


def generate(resources: int, seed: int) -> Corpus:
    rng = random.Random(seed)
    schools = 400
    members_per_school = 5
    vocabularies = {language: vocabulary(language, rng) for language, _ in LANGUAGE_SHARE}
    samplers = {language: Sampler(words) for language, words in vocabularies.items()}
    title_samplers = {language: Sampler(words[40:]) for language, words in vocabularies.items()}
    frequency: dict[str, collections.Counter[str]] = {
        language: collections.Counter() for language in vocabularies
    }
    languages = [language for language, _ in LANGUAGE_SHARE]
    shares = [share for _, share in LANGUAGE_SHARE]
    start = datetime(2023, 9, 1, tzinfo=UTC)
    docs: list[Doc] = []
    for number in range(resources):
        language = rng.choices(languages, shares)[0]
        words = samplers[language]
        length = max(20, min(4000, int(rng.lognormvariate(5.4, 0.6))))
        body_words = words.draw(rng, length)
        if rng.random() < 0.1:  # a few words of another language, as teachers write
            other = rng.choice([item for item in languages if item != language])
            position = rng.randrange(len(body_words))
            body_words[position:position] = samplers[other].draw(rng, 5)
        title_words = title_samplers[language].draw(rng, rng.randint(3, 8))
        description_words = words.draw(rng, rng.randint(8, 25))
        frequency[language].update(set(body_words) | set(title_words) | set(description_words))
        school = rng.randrange(schools)
        first_grade = rng.randint(1, 11)
        visibility = rng.choices(("partners", "selected", "school"), (80, 10, 10))[0]
        docs.append(
            Doc(
                id=uuid7(),
                school=school,
                author=school * members_per_school + rng.randrange(members_per_school),
                kind=rng.choices(KINDS, KIND_WEIGHTS)[0],
                title=sentences(rng, title_words).rstrip("."),
                description=sentences(rng, description_words),
                subject=rng.choice(SUBJECTS[language]),
                grades=list(range(first_grade, min(11, first_grade + rng.randint(0, 2)) + 1)),
                language=language,
                licence=rng.choices(LICENCES, LICENCE_WEIGHTS)[0],
                visibility=visibility,
                shared_with=[0, rng.randrange(schools)]
                if visibility == "selected" and rng.random() < 0.5
                else ([rng.randrange(schools)] if visibility == "selected" else []),
                co_authors=[sentences(rng, title_samplers[language].draw(rng, 2)).rstrip(".")]
                if rng.random() < 0.2
                else [],
                created_at=start + timedelta(seconds=number * 900 + rng.randrange(600)),
                body=sentences(rng, body_words),
            )
        )
    return Corpus(
        schools=schools,
        members_per_school=members_per_school,
        partners_of_bench=300,
        docs=docs,
        document_frequency=frequency,
        vocabularies=vocabularies,
    )


# --- rows ---------------------------------------------------------------------------------


@dataclass
class Rows:
    """Every table's rows as dicts keyed by column name, ready for both loaders."""

    tables: dict[str, list[dict[str, Any]]]
    index: list[tuple[int, str, str, str]]  # (search document id, title, meta, body)


def school_id(number: int) -> UUID:
    return UUID(int=(1 << 120) + number)


def member_id(number: int) -> UUID:
    return UUID(int=(2 << 120) + number)


def rows_of(corpus: Corpus) -> Rows:
    now = datetime(2026, 9, 1, tzinfo=UTC)
    audit = {"created_at": now, "updated_at": now}
    password_hash = hasher.hash(PASSWORD)
    schools = [
        {
            **audit,
            "id": school_id(number),
            "name": f"Мектеп №{number}" if number else "Bench school",
            "region": "Чүй",
            "locality": "rural" if number % 3 else "urban",
            "kind": "state",
            "languages": ["ky", "ru"],
            "strong_subjects": [],
            "self_assessment": {},
            "search_text": "",
            "storage_used_bytes": 0,
        }
        for number in range(corpus.schools)
    ]
    typical = corpus.schools - 1
    members = []
    for number in range(corpus.schools * corpus.members_per_school):
        school = number // corpus.members_per_school
        email = f"member{number}@school{school}.kg"
        if number == 0:
            email = BENCH_EMAIL
        elif number == typical * corpus.members_per_school:
            email = TYPICAL_EMAIL
        members.append(
            {
                **audit,
                "id": member_id(number),
                "school_id": school_id(school),
                "email": email,
                "full_name": f"Мугалим {number} Асанова"
                if number % 2
                else f"Teacher {number} Ivanov",
                "role": "admin" if number % corpus.members_per_school == 0 else "teacher",
                "password_hash": password_hash,
                "is_active": True,
            }
        )
    partnerships = []
    pairs = [(0, partner) for partner in range(1, corpus.partners_of_bench + 1)]
    pairs += [(typical, partner) for partner in range(typical - 5, typical)]
    rng = random.Random(1)
    for _ in range(600):
        a, b = rng.randrange(1, corpus.schools - 1), rng.randrange(1, corpus.schools - 1)
        if a != b:
            pairs.append((a, b))
    seen: set[tuple[int, int]] = set()
    for number, (a, b) in enumerate(pairs):
        key = (min(a, b), max(a, b))
        if key in seen:
            continue
        seen.add(key)
        status = "active" if number < corpus.partners_of_bench + 5 or number % 3 else "ended"
        partnerships.append(
            {
                **audit,
                "id": uuid7(),
                "inviting_school_id": school_id(a),
                "invited_school_id": school_id(b),
                "status": status,
                "open_pair": f"{school_id(key[0])}:{school_id(key[1])}"
                if status == "active"
                else None,
                "characteristics": [],
                "goals": [],
                "language": "ky",
                "invitation_letter": "",
                "inviter_conduct_version": 1,
                "invited_at": now,
            }
        )
    resources, versions, authors, shares, documents, texts = [], [], [], [], [], []
    index: list[tuple[int, str, str, str]] = []
    for number, doc in enumerate(corpus.docs, start=1):
        author_name = members[doc.author]["full_name"]
        resources.append(
            {
                "id": doc.id,
                "created_at": doc.created_at,
                "updated_at": doc.created_at,
                "owner_school_id": school_id(doc.school),
                "created_by_id": member_id(doc.author),
                "kind": doc.kind,
                "title": doc.title,
                "description": doc.description,
                "subject": doc.subject,
                "grades": doc.grades,
                "language": doc.language,
                "licence": doc.licence,
                "visibility": doc.visibility,
                "confidential": False,
                "co_authors": doc.co_authors,
                "current_version_number": 1,
            }
        )
        versions.append(
            {
                "id": uuid7(),
                "created_at": doc.created_at,
                "updated_at": doc.created_at,
                "resource_id": doc.id,
                "number": 1,
                "blob_key": f"{number:032x}"[:2] + "/" + f"{number:032x}"[2:4] + f"/{number:032x}",
                "original_name": "plan.pdf",
                "media_type": "application/pdf",
                "size": len(doc.body.encode()) * 3,
                "sha256": f"{number:064x}",
                "uploaded_by_id": member_id(doc.author),
            }
        )
        authors.append(
            {
                "id": uuid7(),
                "created_at": doc.created_at,
                "updated_at": doc.created_at,
                "resource_id": doc.id,
                "member_id": member_id(doc.author),
            }
        )
        for school in dict.fromkeys(doc.shared_with):
            shares.append(
                {
                    "id": uuid7(),
                    "created_at": doc.created_at,
                    "updated_at": doc.created_at,
                    "resource_id": doc.id,
                    "school_id": school_id(school),
                }
            )
        names = [author_name, *doc.co_authors]
        documents.append(
            {
                "id": number,
                "created_at": doc.created_at,
                "updated_at": doc.created_at,
                "resource_id": doc.id,
                "extraction_status": "done",
                "extraction_reason": None,
                "extracted_version": 1,
                "extracted_at": doc.created_at,
                "text_truncated": False,
                "authors_text": normalise_text(" ".join(names)),
            }
        )
        texts.append(
            {
                "id": number,
                "created_at": doc.created_at,
                "updated_at": doc.created_at,
                "document_id": number,
                "body": doc.body,
            }
        )
        text = indexed_text(
            title=doc.title,
            subject=doc.subject,
            description=doc.description,
            author_names=names,
            body=doc.body,
        )
        index.append((number, text.title, text.meta, text.body))
    return Rows(
        tables={
            "schools": schools,
            "members": members,
            "partnerships": partnerships,
            "resources": resources,
            "resource_versions": versions,
            "resource_authors": authors,
            "resource_shares": shares,
            "search_documents": documents,
            "search_texts": texts,
        },
        index=index,
    )


TABLES = {
    "schools": School,
    "members": Member,
    "partnerships": Partnership,
    "resources": Resource,
    "resource_versions": ResourceVersion,
    "resource_authors": ResourceAuthor,
    "resource_shares": ResourceShare,
    "search_documents": SearchDocument,
    "search_texts": SearchText,
}


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def load_sqlite(settings: Settings, rows: Rows) -> None:
    upgrade(settings)
    engine = create_engine(settings.database_url.replace("+aiosqlite", ""))
    with engine.begin() as connection:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        for name, model in TABLES.items():
            for part in chunks(rows.tables[name], 20_000):
                connection.execute(insert(model.__table__), list(part))  # type: ignore[arg-type]
        for part in chunks(rows.index, 20_000):
            connection.exec_driver_sql(
                "INSERT INTO search_index (rowid, title, meta, body) VALUES (?, ?, ?, ?)",
                list(part),
            )
    with engine.connect() as connection:
        connection.exec_driver_sql("INSERT INTO search_index (search_index) VALUES ('optimize')")
        connection.exec_driver_sql("ANALYZE")
        connection.commit()
    engine.dispose()


def _pg_value(value: Any) -> Any:
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return value


async def load_postgres(url: str, settings: Settings, rows: Rows) -> None:
    upgrade(settings)
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        # The full-text indexes (as the migrations made them) are built after the load.
        full_text_indexes = await connection.fetch(
            "SELECT indexname, indexdef FROM pg_indexes "
            "WHERE tablename = 'search_documents' AND indexdef LIKE '%USING gin%'"
        )
        for index in full_text_indexes:
            await connection.execute(f'DROP INDEX "{index["indexname"]}"')
        for name, model in TABLES.items():
            if name in {"search_documents", "search_texts"}:
                continue
            columns = [column.name for column in model.__table__.columns]
            records = [
                tuple(_pg_value(row.get(column)) for column in columns) for row in rows.tables[name]
            ]
            records = [
                tuple(
                    value if value is not None else _default(model, column)
                    for value, column in zip(record, columns, strict=True)
                )
                for record in records
            ]
            await connection.copy_records_to_table(name, records=records, columns=columns)
        document_columns = [column.name for column in SearchDocument.__table__.columns]
        await connection.execute(
            "CREATE UNLOGGED TABLE search_staging (LIKE search_documents INCLUDING DEFAULTS, "
            "title_text text, meta_text text, body_text text)"
        )
        staged = [
            (
                *(
                    _pg_value(document.get(column))
                    if document.get(column) is not None
                    else _default(SearchDocument, column)
                    for column in document_columns
                ),
                title,
                meta,
                within_tsvector_limit(body),
            )
            for document, (_, title, meta, body) in zip(
                rows.tables["search_documents"], rows.index, strict=True
            )
        ]
        await connection.copy_records_to_table(
            "search_staging",
            records=staged,
            columns=[*document_columns, "title_text", "meta_text", "body_text"],
        )
    finally:
        await connection.close()
    # Two connections build the tsvectors of half the rows each: one per core.
    listed = ", ".join(document_columns)
    middle = len(staged) // 2 + 1

    async def fill(low: int, high: int) -> None:
        worker = await asyncpg.connect(dsn)
        try:
            await worker.execute(
                f"INSERT INTO search_documents ({listed}, head_vector, search_vector, "
                "owner_school_id) "
                f"SELECT {listed}, "
                "setweight(to_tsvector('simple', title_text), 'A') "
                "|| setweight(to_tsvector('simple', meta_text), 'B'), "
                "setweight(to_tsvector('simple', title_text), 'A') "
                "|| setweight(to_tsvector('simple', meta_text), 'B') "
                "|| setweight(to_tsvector('simple', body_text), 'C'), "
                "(SELECT owner_school_id FROM resources "
                "WHERE resources.id = search_staging.resource_id) "
                f"FROM search_staging WHERE id >= {low} AND id < {high}"
            )
        finally:
            await worker.close()

    await asyncio.gather(fill(0, middle), fill(middle, len(staged) + 1))
    connection = await asyncpg.connect(dsn)
    try:
        text_columns = [column.name for column in SearchText.__table__.columns]
        await connection.copy_records_to_table(
            "search_texts",
            records=[
                tuple(text[column] for column in text_columns)
                for text in rows.tables["search_texts"]
            ],
            columns=text_columns,
        )
        await connection.execute("DROP TABLE search_staging")
        for name in ("search_documents", "search_texts"):
            await connection.execute(
                f"ALTER TABLE {name} ALTER COLUMN id RESTART WITH {len(staged) + 1}"
            )
        await connection.execute("SET maintenance_work_mem = '512MB'")
        for index in full_text_indexes:
            await connection.execute(index["indexdef"])
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


def _default(model: Any, column: str) -> Any:
    spec = model.__table__.columns[column]
    if spec.default is not None and getattr(spec.default, "is_scalar", False):
        return _pg_value(spec.default.arg)
    if spec.default is not None and getattr(spec.default, "is_callable", False):
        try:
            return _pg_value(spec.default.arg(None))
        except TypeError:
            return _pg_value(spec.default.arg())
    return None


# --- queries -------------------------------------------------------------------------------


@dataclass
class Queries:
    classes: dict[str, list[str]]


def choose_queries(corpus: Corpus, per_class: int, seed: int) -> Queries:
    rng = random.Random(seed)
    total = len(corpus.docs)
    frequency: collections.Counter[str] = collections.Counter()
    for counter in corpus.document_frequency.values():
        frequency.update(counter)
    # Every list in a fixed order: the counters were filled from sets, whose order
    # changes from one process to the next, and the same seed must pick the same
    # queries in every run (runs are compared).
    counted = sorted(frequency.items())
    rare = [word for word, n in counted if 1 <= n <= 30 and len(word) >= 4]
    middle = [word for word, n in counted if total * 0.005 <= n <= total * 0.05]
    common = [
        word for word, n in sorted(counted, key=lambda pair: -pair[1])[:60] if n >= total * 0.25
    ]
    by_language: dict[str, list[str]] = {}
    for language, counter in corpus.document_frequency.items():
        by_language[language] = [
            word for word, n in sorted(counter.items()) if total * 0.005 <= n <= total * 0.05
        ]
    pairs = []
    for _ in range(per_class):
        language = rng.choice(list(by_language))
        first, second = rng.sample(by_language[language], 2)
        pairs.append(f"{first} {second}")
    prefixes = []
    for word in rng.sample([word for word in middle if len(word) >= 6], per_class):
        prefixes.append(word[: rng.choice((4, 5))])
    return Queries(
        classes={
            "rare": rng.sample(rare, min(per_class, len(rare))),
            "two words": pairs,
            "prefix": prefixes,
            "common": [rng.choice(common) for _ in range(per_class)],
        }
    )


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))
    return ordered[index]


def summary(values: Sequence[float]) -> dict[str, float]:
    return {
        "p50": round(statistics.median(values), 1),
        "p95": round(percentile(values, 0.95), 1),
        "p99": round(percentile(values, 0.99), 1),
        "n": len(values),
    }


def match_sqlite(path: Path, queries: Queries, rounds: int) -> dict[str, list[float]]:
    connection = sqlite3.connect(path)
    timings: dict[str, list[float]] = {}
    statement = "SELECT rowid FROM search_index WHERE search_index MATCH ? ORDER BY rank LIMIT 20"
    for name, words in queries.classes.items():
        expressions = [fts5_expression(parse_query(q)) for q in words]
        for expression in expressions:  # warm-up
            connection.execute(statement, (expression,)).fetchall()
        timings[name] = []
        for _ in range(rounds):
            for expression in expressions:
                started = time.perf_counter()
                connection.execute(statement, (expression,)).fetchall()
                timings[name].append((time.perf_counter() - started) * 1000)
    connection.close()
    return timings


async def match_postgres(url: str, queries: Queries, rounds: int) -> dict[str, list[float]]:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    statement = await connection.prepare(
        "SELECT id FROM search_documents WHERE search_vector @@ to_tsquery('simple', $1) "
        "ORDER BY ts_rank(search_vector, to_tsquery('simple', $1)) DESC LIMIT 20"
    )
    timings: dict[str, list[float]] = {}
    try:
        for name, words in queries.classes.items():
            expressions = [tsquery_expression(parse_query(q)) for q in words]
            for expression in expressions:
                await statement.fetch(expression)
            timings[name] = []
            for _ in range(rounds):
                for expression in expressions:
                    started = time.perf_counter()
                    await statement.fetch(expression)
                    timings[name].append((time.perf_counter() - started) * 1000)
    finally:
        await connection.close()
    return timings


# What `SearchService.search` sends to the driver for one query: (SQL, parameters) each.
Statements = list[tuple[str, Any]]


async def search_statements(
    settings: Settings, email: str, queries: Queries
) -> dict[str, list[Statements]]:
    """Runs every query through the app's search service on the app's own engine, as
    `email` (the HTTP caller), and keeps the statements the driver was given."""
    engine = create_app_engine(settings)
    sent: Statements = []

    def keep(_connection: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        if isinstance(parameters, (list, tuple)):  # SQLite's binary UUIDs come as memoryviews
            parameters = tuple(
                bytes(value) if isinstance(value, memoryview) else value for value in parameters
            )
        sent.append((statement, parameters))

    sessions = async_sessionmaker(engine, expire_on_commit=False)
    searching = search_engine_for(engine)
    try:
        async with sessions() as session:
            member = (await session.scalars(select(Member).where(Member.email == email))).one()
            identity = Identity(
                member_id=member.id,
                school_id=member.school_id,
                role=MemberRole(member.role),
                email=member.email,
                full_name=member.full_name,
                token_id=member.id,
            )
        event.listen(engine.sync_engine, "before_cursor_execute", keep)
        if engine.dialect.name == "sqlite":
            # SQLite searches run on the reader engine (see `database.sqlite_reader`).
            event.listen(sqlite_reader(engine.sync_engine), "before_cursor_execute", keep)
        # Statements compiled once run straight on SQLite's cursor, past the engine's
        # events (`database.PreparedRead`): they are kept as they are given to it.
        run_prepared = PreparedRead._rows

        def kept_prepared(
            read: PreparedRead, dialect: Any, *args: Any, **kwargs: Any
        ) -> list[tuple[Any, ...]]:
            params = args[1]
            keep(None, None, *read.bound(dialect, params))
            return run_prepared(read, dialect, *args, **kwargs)

        captured: dict[str, list[Statements]] = {}
        PreparedRead._rows = kept_prepared  # type: ignore[method-assign]
        try:
            for name, words in queries.classes.items():
                captured[name] = []
                for q in words:
                    sent.clear()
                    async with sessions() as session:
                        await SearchService(session, settings, SystemClock(), searching).search(
                            identity, SearchParams(q=q)
                        )
                    captured[name].append(list(sent))
        finally:
            PreparedRead._rows = run_prepared  # type: ignore[method-assign]
        return captured
    finally:
        await engine.dispose()


def raw_sqlite(
    path: Path, captured: dict[str, list[Statements]], rounds: int
) -> dict[str, list[float]]:
    """Each search's statements replayed with sqlite3, with the app's read pragmas."""
    connection = sqlite3.connect(path)
    for pragma in ("foreign_keys=ON", "mmap_size=1073741824", "cache_size=-32768"):
        connection.execute(f"PRAGMA {pragma}")

    def replay(statements: Statements) -> None:
        for statement, parameters in statements:
            connection.execute(statement, parameters).fetchall()

    timings: dict[str, list[float]] = {}
    for name, searches in captured.items():
        for statements in searches:  # warm-up
            replay(statements)
        timings[name] = []
        for _ in range(rounds):
            for statements in searches:
                started = time.perf_counter()
                replay(statements)
                timings[name].append((time.perf_counter() - started) * 1000)
    connection.close()
    return timings


async def raw_postgres(
    url: str, captured: dict[str, list[Statements]], rounds: int
) -> dict[str, list[float]]:
    """Each search's statements replayed with asyncpg in one transaction (its planner
    settings are transaction-local), prepared and cached as the app's driver does."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn, statement_cache_size=500)

    async def replay(statements: Statements) -> None:
        async with connection.transaction():
            for statement, parameters in statements:
                await connection.fetch(statement, *(parameters or ()))

    timings: dict[str, list[float]] = {}
    try:
        for name, searches in captured.items():
            for statements in searches:
                await replay(statements)
            timings[name] = []
            for _ in range(rounds):
                for statements in searches:
                    started = time.perf_counter()
                    await replay(statements)
                    timings[name].append((time.perf_counter() - started) * 1000)
    finally:
        await connection.close()
    return timings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "exchange.app:create_app",
            "--factory",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the app exited early")
        try:
            if httpx.get(f"{base}/health/live", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("the app did not start")


def http_timings(
    base: str, email: str, queries: Queries, rounds: int, extra: dict[str, str] | None = None
) -> tuple[dict[str, list[float]], dict[str, list[int]]]:
    with httpx.Client(base_url=base, timeout=60) as client:
        token = client.post("/api/auth/token", json={"email": email, "password": PASSWORD}).json()[
            "access_token"
        ]
        client.headers["Authorization"] = f"Bearer {token}"
        timings: dict[str, list[float]] = {}
        totals: dict[str, list[int]] = {}
        for name, words in queries.classes.items():
            for q in words:  # warm-up
                response = client.get("/api/resources", params={"q": q, **(extra or {})})
                response.raise_for_status()
            timings[name], totals[name] = [], []
            for _ in range(rounds):
                for q in words:
                    started = time.perf_counter()
                    response = client.get("/api/resources", params={"q": q, **(extra or {})})
                    timings[name].append((time.perf_counter() - started) * 1000)
                    response.raise_for_status()
                    totals[name].append(response.json()["total"])
        return timings, totals


def feed_timings(base: str, email: str, rounds: int, params: dict[str, str]) -> list[float]:
    with httpx.Client(base_url=base, timeout=60) as client:
        token = client.post("/api/auth/token", json={"email": email, "password": PASSWORD}).json()[
            "access_token"
        ]
        client.headers["Authorization"] = f"Bearer {token}"
        timings = []
        for round_number in range(rounds * 10 + 5):
            started = time.perf_counter()
            response = client.get("/api/resources", params=params)
            response.raise_for_status()
            if round_number >= 5:
                timings.append((time.perf_counter() - started) * 1000)
        return timings


# --- the run -------------------------------------------------------------------------------


async def admin(url: str, statement: str) -> None:
    dsn = make_url(url).set(drivername="postgresql", database="postgres")
    connection = await asyncpg.connect(dsn.render_as_string(hide_password=False))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def report(backend: str, results: dict[str, Any]) -> None:
    print(f"\n== {backend} ==")
    print(
        f"{'class':<10} {'match p50/p99':>15} {'raw p50/p99 ms':>16} {'http p50/p99 ms':>17} "
        f"{'http/raw p99':>12} {'typical http p99':>16} {'median total':>12}"
    )
    for name, raw in results["raw"].items():
        match = results["match"][name]
        http = results["http"][name]
        typical = results["typical"][name]
        print(
            f"{name:<10} {match['p50']:>6.1f}/{match['p99']:<8.1f}"
            f" {raw['p50']:>7.1f}/{raw['p99']:<8.1f}"
            f" {http['p50']:>8.1f}/{http['p99']:<8.1f}"
            f" {http['p99'] / max(raw['p99'], 0.001):>12.2f} {typical['p99']:>16.1f}"
            f" {results['totals'][name]:>12}"
        )
    for name, label in (("feed", "partner feed (sort=newest&school_id=)"), ("browse", "no words")):
        figures = results[name]
        print(f"{label}: p50 {figures['p50']} ms, p99 {figures['p99']} ms")


def run_backend(
    backend: str, args: argparse.Namespace, corpus: Corpus, rows: Rows | None, queries: Queries
) -> dict[str, Any]:
    workdir = Path(args.workdir) / backend
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir / 'exchange.sqlite3'}"
    else:
        url = args.postgres_url
    settings = Settings(data_dir=workdir, database_url=url, log_level="WARNING")
    built = (workdir / "built").is_file()
    if not (args.reuse and built):
        if workdir.exists():
            shutil.rmtree(workdir)
        workdir.mkdir(parents=True)
        if rows is None:
            rows = rows_of(corpus)
        started = time.perf_counter()
        if backend == "sqlite":
            load_sqlite(settings, rows)
        else:
            database = make_url(url).database
            asyncio.run(admin(url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            asyncio.run(admin(url, f'CREATE DATABASE "{database}"'))
            asyncio.run(load_postgres(url, settings, rows))
        (workdir / "built").write_text("yes")
        print(
            f"{backend}: loaded {len(corpus.docs)} resources "
            f"in {time.perf_counter() - started:.0f} s"
        )
    captured = asyncio.run(search_statements(settings, BENCH_EMAIL, queries))
    if backend == "sqlite":
        match = match_sqlite(workdir / "exchange.sqlite3", queries, args.rounds)
        raw = raw_sqlite(workdir / "exchange.sqlite3", captured, args.rounds)
    else:
        match = asyncio.run(match_postgres(url, queries, args.rounds))
        raw = asyncio.run(raw_postgres(url, captured, args.rounds))
    env = {
        **os.environ,
        **settings_env(settings),
        "EXCHANGE_RUN_JOBS": "false",
        "EXCHANGE_AUTO_MIGRATE": "false",
        "EXCHANGE_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT / "src"),
    }
    port = free_port()
    process = serve(env, port)
    try:
        base = f"http://127.0.0.1:{port}"
        http, totals = http_timings(base, BENCH_EMAIL, queries, args.rounds)
        typical, _ = http_timings(base, TYPICAL_EMAIL, queries, 1)
        feed = feed_timings(
            base, BENCH_EMAIL, args.rounds, {"sort": "newest", "school_id": str(school_id(1))}
        )
        browse = feed_timings(base, BENCH_EMAIL, args.rounds, {})
    finally:
        process.terminate()
        process.wait(timeout=30)
    return {
        "match": {name: summary(values) for name, values in match.items()},
        "raw": {name: summary(values) for name, values in raw.items()},
        "http": {name: summary(values) for name, values in http.items()},
        "typical": {name: summary(values) for name, values in typical.items()},
        "totals": {name: int(statistics.median(values)) for name, values in totals.items()},
        "feed": summary(feed),
        "browse": summary(browse),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--resources", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--queries", type=int, default=40, help="queries per class")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", default="/tmp/exchange-bench-search")
    parser.add_argument(
        "--postgres-url",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/exchange_bench_search",
    )
    parser.add_argument("--keep", action="store_true", help="keep both databases")
    parser.add_argument("--reuse", action="store_true", help="reuse databases a --keep run left")
    args = parser.parse_args()
    started = time.perf_counter()
    corpus = generate(args.resources, args.seed)
    print(f"corpus: {len(corpus.docs)} resources in {time.perf_counter() - started:.0f} s")
    queries = choose_queries(corpus, args.queries, args.seed)
    rows = None
    results: dict[str, Any] = {}
    try:
        for backend in args.backends.split(","):
            if rows is None and not (
                args.reuse and (Path(args.workdir) / backend / "built").is_file()
            ):
                rows = rows_of(corpus)
            results[backend] = run_backend(backend, args, corpus, rows, queries)
            report(backend, results[backend])
    finally:
        if not args.keep:
            if "postgresql" in args.backends:
                database = make_url(args.postgres_url).database
                asyncio.run(
                    admin(args.postgres_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
                )
            shutil.rmtree(args.workdir, ignore_errors=True)
    print(
        json.dumps({"queries": queries.classes, "results": results}, ensure_ascii=False, indent=1)
    )


if __name__ == "__main__":
    main()
