"""Previews: the small image shown before a download, and what a download costs."""

from __future__ import annotations

from typing import Final, Literal

# What the API tells of a version's preview: made (`ready`), coming (`pending`: its job
# has not run yet) or `none` (the file has none, or it could not be made).
PreviewState = Literal["ready", "pending", "none"]
READY: Final = "ready"
PENDING: Final = "pending"
NONE: Final = "none"
# Every preview is a WebP image.
PREVIEW_MEDIA_TYPE: Final = "image/webp"


def preview_state(stored: str | None) -> PreviewState:
    """The state as the API tells it, from the column's value."""
    if stored == READY:
        return "ready"
    return "pending" if stored == PENDING else "none"
