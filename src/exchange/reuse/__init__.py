"""Reuse beyond the receiving school: requests to the authors, grants and forwards.

Importing the package registers what ending a partnership does to grants, forwards,
`shared_with` entries and pending requests (`exchange.reuse.partnership_end`).
"""

from exchange.reuse import partnership_end as partnership_end
