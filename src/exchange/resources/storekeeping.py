"""Keeping the store and the database in step: `exchange store gc` and `exchange store verify`.

The exchange writes a file before the row that points at it and deletes rows before
their files, so what a crash, a dead store or a lost connection can leave behind is
only ever a file no row points at (or a temporary file, or an unfinished S3 multipart
upload). `collect_garbage` removes those once they are older than a grace period: an
upload whose file has landed but whose row is still being committed is young, so it is
never taken. `verify_store` reads every stored version back and checks its size and
SHA-256 against its row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.blobstore import BlobNotFound, BlobStore
from exchange.i18n import _, lazy_gettext
from exchange.models import ResourceVersion
from exchange.resources.resumable import expire_uploads, live_upload_keys

# Keys checked against the database per query.
_BATCH = 500
# How long `gc` leaves a file no row points at: an upload may still be committing it.
DEFAULT_GRACE = timedelta(hours=24)

SessionFactory = Callable[[], Any]


@dataclass
class GarbageReport:
    orphans: list[str] = field(default_factory=list)
    kept_young: int = 0
    referenced: int = 0
    incomplete_cleared: int = 0
    uploads_expired: int = 0
    dry_run: bool = False


async def collect_garbage(
    store: BlobStore,
    sessions: SessionFactory,
    *,
    now: datetime,
    grace: timedelta,
    dry_run: bool = False,
) -> GarbageReport:
    """Remove stored files no `resource_versions.blob_key` (nor `preview_blob_key`: a
    version's preview image) points at, older than `grace`,
    what interrupted writes left (temporary files, unfinished multipart uploads), and
    resumable uploads past their expiry (their bytes, and their share of the quota)."""
    cutoff = now - grace
    report = GarbageReport(dry_run=dry_run)
    if not dry_run:
        report.uploads_expired = await expire_uploads(store, sessions, now=now)
        report.incomplete_cleared = await clear_interrupted_uploads(
            store, now=now, grace=grace, sessions=sessions
        )
    batch: list[str] = []
    async for key, modified in store.iter_keys():
        if modified >= cutoff:
            report.kept_young += 1
            continue
        batch.append(key)
        if len(batch) >= _BATCH:
            await _sweep(store, sessions, batch, report)
            batch = []
    if batch:
        await _sweep(store, sessions, batch, report)
    return report


async def clear_interrupted_uploads(
    store: BlobStore, *, now: datetime, grace: timedelta, sessions: SessionFactory
) -> int:
    """Remove what interrupted uploads left: at once what the store knows no living
    process writes (the folder store's unlocked temporary files), after `grace` what it
    cannot tell (S3 multipart uploads), except those of resumable uploads that live.
    Safe while app instances upload."""
    keep = await live_upload_keys(sessions, now=now)
    return await store.clear_incomplete(now - grace, keep)


async def _sweep(
    store: BlobStore, sessions: SessionFactory, keys: list[str], report: GarbageReport
) -> None:
    session: AsyncSession
    async with sessions() as session:
        known = set(
            await session.scalars(
                select(ResourceVersion.blob_key).where(ResourceVersion.blob_key.in_(keys))
            )
        )
        known.update(
            await session.scalars(
                select(ResourceVersion.preview_blob_key).where(
                    ResourceVersion.preview_blob_key.in_(keys)
                )
            )
        )
    report.referenced += len(known)
    for key in keys:
        if key in known:
            continue
        report.orphans.append(key)
        if not report.dry_run:
            await store.delete(key)


# What `store verify` found wrong with a stored version.
_DAMAGE_WORDS: Final = {
    "missing": lazy_gettext("file missing"),
    "size": lazy_gettext("size differs"),
    "sha256": lazy_gettext("content differs"),
}


@dataclass(frozen=True)
class Damage:
    """A stored version whose file is missing or differs from its row."""

    problem: str  # "missing" | "size" | "sha256"
    resource_id: UUID
    number: int
    key: str
    expected: str
    found: str

    def describe(self) -> str:
        """One line for the console, in its language."""
        return _(
            "{problem}: resource {resource_id} version {number} (key {key}): expected "
            "{expected}, found {found}",
            problem=_DAMAGE_WORDS[self.problem],
            resource_id=self.resource_id,
            number=self.number,
            key=self.key,
            expected=self.expected,
            found=self.found,
        )


@dataclass
class VerifyReport:
    checked: int = 0
    damaged: list[Damage] = field(default_factory=list)


async def verify_store(
    store: BlobStore,
    sessions: SessionFactory,
    *,
    on_damage: Callable[[Damage], None] | None = None,
) -> VerifyReport:
    """Read every stored version back and compare it with its row; `on_damage` hears of
    each damaged version as soon as it is found."""
    report = VerifyReport()
    after: UUID | None = None
    while True:
        async with sessions() as session:
            query = select(
                ResourceVersion.id,
                ResourceVersion.resource_id,
                ResourceVersion.number,
                ResourceVersion.blob_key,
                ResourceVersion.size,
                ResourceVersion.sha256,
            ).order_by(ResourceVersion.id)
            if after is not None:
                query = query.where(ResourceVersion.id > after)
            rows = [tuple(row) for row in await session.execute(query.limit(_BATCH))]
        if not rows:
            return report
        for version_id, resource_id, number, key, size, sha256 in rows:
            damage = await _check_version(store, resource_id, number, key, size, sha256)
            report.checked += 1
            if damage is not None:
                report.damaged.append(damage)
                if on_damage is not None:
                    on_damage(damage)
            after = version_id


async def _check_version(
    store: BlobStore, resource_id: UUID, number: int, key: str, size: int, sha256: str
) -> Damage | None:
    def damage(problem: str, expected: str, found: str) -> Damage:
        return Damage(problem, resource_id, number, key, expected, found)

    try:
        content = await store.open_range(key)
    except BlobNotFound:
        return damage("missing", f"{size} bytes", "nothing")
    digest = hashlib.sha256()
    length = 0
    try:
        async with content:
            async for chunk in content:
                digest.update(chunk)
                length += len(chunk)
    except BlobNotFound:
        return damage("missing", f"{size} bytes", "a file that vanished while read")
    if length != size:
        return damage("size", f"{size} bytes", f"{length} bytes")
    if digest.hexdigest() != sha256:
        return damage("sha256", sha256, digest.hexdigest())
    return None
