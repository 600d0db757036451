"""code of conduct version 1: the handbook's nine rules, in force from the first start

Revision ID: 0003
Revises: 0002

Data, not schema: appendix 1 of the handbook, Kyrgyz original with Russian and English,
so a fresh database always has a code of conduct for partnerships to agree to. The text is
written out here rather than read from the package, so this revision inserts the same
version 1 whatever later releases ship.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op
from sqlalchemy.dialects import postgresql
from uuid_utils.compat import uuid7

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# JSON on SQLite, JSONB on PostgreSQL, as revision 0001 made the columns.
JsonDocument = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

# The table as this migration knows it, independent of later changes to the model.
code_of_conduct_versions = sa.table(
    "code_of_conduct_versions",
    sa.column("id", GUID(length=16)),
    sa.column("version", sa.Integer()),
    sa.column("title", JsonDocument),
    sa.column("preamble", JsonDocument),
    sa.column("rules", JsonDocument),
    sa.column("published_at", DateTimeUTC(timezone=True)),
    sa.column("created_at", DateTimeUTC(timezone=True)),
    sa.column("updated_at", DateTimeUTC(timezone=True)),
)


CODE_OF_CONDUCT_V1: dict[str, Any] = {
    "title": {"ky": "Жүрүм-турум кодекси", "ru": "Кодекс поведения", "en": "Code of conduct"},
    "preamble": {
        "ky": "Өнөктөштүк ишеним артууга жана сыйлашууга жараша болгондуктан, айрым бир макулдашылган адептик ченемдерди эске алуу зарыл. Төмөндө сиздер сактай турган кээ бир эрежелер келтирилди.",
        "ru": "Поскольку партнёрство строится на доверии и взаимном уважении, необходимо соблюдать некоторые согласованные этические нормы. Ниже приведены правила, которые вы будете соблюдать.",
        "en": "Because partnership depends on trust and mutual respect, certain agreed ethical norms must be observed. Below are some rules that you will follow.",
    },
    "rules": [
        {
            "number": 1,
            "text": {
                "ky": "Биз өз өнөктөштөрүбүзгө дайыма сый мамиле кылабыз.",
                "ru": "Мы всегда относимся к своим партнёрам с уважением.",
                "en": "We always treat our partners with respect.",
            },
        },
        {
            "number": 2,
            "text": {
                "ky": "Биз өзүбүздүн күчтүү жана чабал жактарыбызды жашырбай ачык айтабыз.",
                "ru": "Мы открыто, ничего не скрывая, говорим о своих сильных и слабых сторонах.",
                "en": "We are open about our strengths and weaknesses and do not hide them.",
            },
        },
        {
            "number": 3,
            "text": {
                "ky": "Биз чыгымдарды азайтууга бар күчүбүздү жумшайбыз жана кандайдыр бир интеллектуалдык менчикке акы албайбыз.",
                "ru": "Мы прилагаем все усилия, чтобы сократить расходы, и не берём плату ни за какую интеллектуальную собственность.",
                "en": "We do our best to reduce costs, and we charge nothing for any intellectual property.",
            },
        },
        {
            "number": 4,
            "text": {
                "ky": "Биз өнөктөш катары дайым эле өз өнөктөшүбүзгө бергенчелик ала албай калсак деле кайылбыз.",
                "ru": "Как партнёры, мы согласны с тем, что не всегда будем получать от партнёра столько же, сколько даём ему.",
                "en": "As partners, we accept that we may not always receive as much from our partner as we give.",
            },
        },
        {
            "number": 5,
            "text": {
                "ky": "Башка мектеп эмнелерди сунуштаары жөнүндө кандай ойдо болгондугубузга карабай, биз ал мектепти жарыя да, өзүбүзчө да сындабайбыз.",
                "ru": "Что бы мы ни думали о том, что предлагает другая школа, мы не критикуем эту школу ни публично, ни в своём кругу.",
                "en": "Whatever we think of what another school offers, we do not criticise that school, either in public or privately.",
            },
        },
        {
            "number": 6,
            "text": {
                "ky": "Мектептер ортосундагы каалагандай байланыштар купуя жүрөт.",
                "ru": "Любые контакты между школами конфиденциальны.",
                "en": "All contacts between the schools are confidential.",
            },
        },
        {
            "number": 7,
            "text": {
                "ky": "Эгер биз кандайдыр бир ресурстарды алган болсок, биз аларды өзүбүздүн мектептин чегинен сырткары бөлөк адамдарга берүүдөн мурда авторлордон/ээлеринен уруксат сурайбыз.",
                "ru": "Если мы получили какие-либо ресурсы, то, прежде чем передать их кому-либо за пределами своей школы, мы спрашиваем разрешения у их авторов/владельцев.",
                "en": "If we have received any resources, we ask their authors/owners for permission before passing them to anyone outside our own school.",
            },
        },
        {
            "number": 8,
            "text": {
                "ky": "Биз өнөктөштүн ар кандай буюмуна же кызматкерине өзүбүздүкү сыяктуу мамиле кылабыз.",
                "ru": "Мы относимся к любому имуществу и к любому сотруднику партнёра так же, как к своим.",
                "en": "We treat our partner's property and staff as we would our own.",
            },
        },
        {
            "number": 9,
            "text": {
                "ky": "Биз акылга сыярлык убакыт аралыгында жардам бере албасак да, суроо-талаптарга сөзсүз жооп берип турабыз.",
                "ru": "Мы обязательно отвечаем на запросы, даже если не можем помочь в разумный срок.",
                "en": "We always answer requests, even when we cannot help within a reasonable time.",
            },
        },
    ],
}


def upgrade() -> None:
    now = datetime.now(UTC)
    op.bulk_insert(
        code_of_conduct_versions,
        [
            {
                "id": uuid7(),
                "version": 1,
                "title": CODE_OF_CONDUCT_V1["title"],
                "preamble": CODE_OF_CONDUCT_V1["preamble"],
                "rules": CODE_OF_CONDUCT_V1["rules"],
                "published_at": now,
                "created_at": now,
                "updated_at": now,
            }
        ],
    )


def downgrade() -> None:
    op.execute(code_of_conduct_versions.delete().where(code_of_conduct_versions.c.version == 1))
