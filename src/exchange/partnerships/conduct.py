"""The code of conduct as published versions: the one in force, and publishing a new one.

Version 1 (the handbook's appendix 1) is seeded by migration 0003. The operator
publishes later versions with `exchange conduct publish --file F.json`. Partnerships
keep the version each side agreed to; only new agreements use a newer version.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from exchange.domain_service import DomainService
from exchange.errors import Conflict, InvalidInput, NotFound
from exchange.i18n import _
from exchange.models import CodeOfConductVersion
from exchange.partnerships.content import CodeOfConductText, parse_code_of_conduct
from exchange.unit_of_work import unit_of_work

# The handbook's model code has nine rules and the exchange enforces rules 6, 7 and 9
# by number: a new version may add rules, never drop or renumber those.
MIN_RULES = 9


def conduct_columns(text: CodeOfConductText) -> dict[str, Any]:
    """The columns of a `CodeOfConductVersion` holding `text` (also used by migration 0003)."""
    return {
        "version": text.version,
        "title": dict(text.title),
        "preamble": dict(text.preamble),
        "rules": [{"number": rule.number, "text": dict(rule.text)} for rule in text.rules],
    }


class CodeOfConductService(DomainService):
    async def in_force(self) -> CodeOfConductVersion:
        """The highest published version: what a school agrees to when it signs today."""
        current = await self.session.scalar(
            select(CodeOfConductVersion).order_by(CodeOfConductVersion.version.desc()).limit(1)
        )
        if current is None:  # pragma: no cover - migration 0003 seeds version 1
            raise RuntimeError("No code of conduct is published: run `exchange db upgrade`.")
        return current

    async def get(self, version: int) -> CodeOfConductVersion:
        found = await self.session.scalar(
            select(CodeOfConductVersion).where(CodeOfConductVersion.version == version)
        )
        if found is None:
            raise NotFound(
                _("No code of conduct version {version} has been published.", version=version)
            )
        return found

    async def publish(self, raw: Mapping[str, object]) -> CodeOfConductVersion:
        """Publish the code in `raw` (its JSON form: title, preamble, numbered rules).
        Without a `version` it becomes the next number; with one, that number must be above
        every published version."""
        highest = await self.session.scalar(select(func.max(CodeOfConductVersion.version)))
        highest = int(highest or 0)
        document = dict(raw)
        document.setdefault("version", highest + 1)
        try:
            text = parse_code_of_conduct(document)
        except ValueError as exc:
            raise InvalidInput(_("The code of conduct is not complete: {exc}", exc=exc)) from exc
        if len(text.rules) < MIN_RULES:
            raise InvalidInput(
                _(
                    "A code of conduct needs at least {MIN_RULES} rules (this one has {rules}): "
                    "the exchange enforces rules 6, 7 and 9 by number.",
                    MIN_RULES=MIN_RULES,
                    rules=len(text.rules),
                )
            )
        if text.version <= highest:
            raise Conflict(
                _(
                    "Version {highest} is already published; a new version needs a higher number "
                    "(leave 'version' out to take the next one).",
                    highest=highest,
                )
            )
        published = CodeOfConductVersion(**conduct_columns(text), published_at=self.clock.now())
        self.session.add(published)
        try:
            await unit_of_work(self.session, self.clock).commit()
        except IntegrityError as exc:
            await self.session.rollback()
            raise Conflict(
                _(
                    "Version {version} was published by someone else a moment ago.",
                    version=text.version,
                )
            ) from exc
        return published
