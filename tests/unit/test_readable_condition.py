"""The visibility condition is built once and bound per caller at execution."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from sqlalchemy import exc, select
from sqlalchemy.dialects import postgresql, sqlite

from exchange.accounts.identity import Identity
from exchange.models import MemberRole, Resource
from exchange.policy import readable_by_caller, reading_parameters

DIALECTS = [postgresql.dialect(), sqlite.dialect()]


def _identity() -> Identity:
    return Identity(
        member_id=uuid4(),
        school_id=uuid4(),
        role=MemberRole.ADMIN,
        email="a@school.kg",
        full_name="A",
        token_id=uuid4(),
    )


def test_the_condition_is_built_once_and_shared() -> None:
    assert readable_by_caller() is readable_by_caller()


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda dialect: dialect.name)
def test_every_subquery_is_correlated_with_the_statement_it_belongs_to(dialect: object) -> None:
    # A subquery two levels down that failed to correlate would read every forward
    # (SQLAlchemy warns of the cartesian product it then compiles).
    statement = select(Resource.id).where(readable_by_caller())
    with warnings.catch_warnings():
        warnings.simplefilter("error", exc.SAWarning)
        compiled = statement.compile(dialect=dialect)  # type: ignore[arg-type]
        sql = str(compiled)
    # The forwards are read twice: by the first hop and by the recursive step.
    assert sql.count("forwards AS forwards_") == 2


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda dialect: dialect.name)
def test_a_statement_without_the_callers_values_fails_rather_than_reads(dialect: object) -> None:
    compiled = select(Resource.id).where(readable_by_caller()).compile(dialect=dialect)  # type: ignore[arg-type]
    with pytest.raises(exc.InvalidRequestError, match="readable_"):
        compiled.construct_params({})
    identity, now = _identity(), datetime(2026, 1, 1, tzinfo=UTC)
    values = compiled.construct_params(reading_parameters(identity, now))
    assert identity.school_id in values.values()
    assert now in values.values()
