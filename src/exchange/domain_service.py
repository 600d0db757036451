"""What every domain service is built from: the session of the request or job it works
for, the settings and the clock.

A controller names a service class as its dependency (`Provide(ReuseRequestService)`):
Litestar builds it from this constructor, taking the request's session (advanced-alchemy's
`db_session`), the settings and the clock from the app's dependencies. The command line,
the jobs and the tests call the same constructor with their own session.
"""

# Without `from __future__ import annotations`: Litestar reads this constructor's types
# when it builds a subclass, from the subclass's module, where these names may be absent.

from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.clock import Clock
from exchange.config import Settings


class DomainService:
    def __init__(
        self,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        clock: NamedDependency[Clock],
    ) -> None:
        self.session = db_session
        self.settings = settings
        self.clock = clock
