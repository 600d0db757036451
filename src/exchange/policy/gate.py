"""The two questions services ask the table: may this caller do this with this object
(`require`), and which rows may it do this with (`where`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement

from exchange.accounts.identity import Identity
from exchange.policy.relations import Relation, Target, Who
from exchange.policy.table import POLICY, Action
from exchange.policy.tuned import CALLER, at


def allows(identity: Identity, relation: Relation, obj: Any, *, resource: Any = None) -> bool:
    return relation.check(identity, Target(obj, resource))


def permits(identity: Identity, action: Action, obj: Any = None, *, resource: Any = None) -> bool:
    """May the caller do `action` with `obj`? (`require` without the refusal.)"""
    rule = POLICY[action]
    if rule.allowed.in_sql_only:
        raise TypeError(f"'{action}' is decided in SQL: load through policy.where")
    return rule.allowed.check(identity, Target(obj, resource))


def require(identity: Identity, action: Action, obj: Any = None, *, resource: Any = None) -> None:
    """Refuse, as the table says, unless the caller may do `action` with `obj` (for what
    belongs to a resource, `resource` is that resource).

    Reading a resource rests on other rows: it is asked by loading through `where` (see
    `exchange.policy.resources.readable_resource`), never here."""
    if not permits(identity, action, obj, resource=resource):
        rule = POLICY[action]
        raise rule.refusal(identity, Target(obj, resource))


def where(identity: Identity, action: Action, now: datetime | None = None) -> ColumnElement[bool]:
    """SQL condition on the action's table: the rows the caller may do `action` with. For
    what belongs to a resource (requests, grants, forwards) the statement joins the
    resource. Reading resources is judged at `now` (the injected clock's)."""
    rule = POLICY[action]
    return rule.allowed.sql(rule.model, Who.of(identity, CALLER, at(now)))
