"""What else changes when a partnership ends, registered by the domains it affects.

Access to `partners` resources follows the partnership's status in SQL, so it ends with
the status change, and a new partnership gives it again. What rested on the partnership
itself ends for good, so that partnering again does not bring it back: `shared_with`
entries naming the former partner, the grants from requests made under it, the forwards
made with them, pending requests (`exchange.reuse.partnership_end`, registered when the
`exchange.reuse` package is imported). A domain registers a hook with
`on_partnership_end`; the lifecycle service runs every hook inside the transaction that
ends the partnership, so the end and its effects are committed together or not at all.
A hook must not commit.
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
