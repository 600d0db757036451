"""What else changes when a partnership ends, registered by the domains it affects.

Access to `partners` and `selected` resources needs nothing here: the policy computes it
from the partnership's status in SQL, so it ends with the status change. Other domains
(reuse requests: a request from a school whose partnership ended is closed) register a
hook with `on_partnership_end` when their module is imported; the lifecycle service runs
every hook inside the transaction that ends the partnership, so the end and its effects
are committed together or not at all. A hook must not commit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from exchange.clock import Clock
from exchange.models import Partnership

PartnershipEndHook = Callable[[AsyncSession, Clock, Partnership], Awaitable[None]]

partnership_end_hooks: list[PartnershipEndHook] = []


def on_partnership_end(hook: PartnershipEndHook) -> PartnershipEndHook:
    """Register `hook` (usable as a decorator); registering it twice runs it once."""
    if hook not in partnership_end_hooks:
        partnership_end_hooks.append(hook)
    return hook


async def run_partnership_end_hooks(
    session: AsyncSession, clock: Clock, partnership: Partnership
) -> None:
    """Run every registered hook, in registration order, on the just-ended partnership."""
    for hook in list(partnership_end_hooks):
        await hook(session, clock, partnership)
