"""The pages' stylesheet and scripts, served under names that carry their content hash.

A name changes whenever its content does, so browsers keep each file for a year without
asking again (`immutable`), and a new release is fetched at once. Files are read and
gzipped once, when the process starts: they are small and never change while it runs.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from litestar import Request, Response, get
from litestar.params import FromPath

from exchange.errors import NotFound
from exchange.i18n import _

STATIC_DIR: Final = Path(__file__).resolve().parent / "static"
IMMUTABLE: Final = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Asset:
    name: str
    hashed_name: str
    media_type: str
    body: bytes
    gzipped: bytes


def _load(path: Path) -> Asset:
    body = path.read_bytes()
    digest = hashlib.sha256(body).hexdigest()[:12]
    stem, dot, suffix = path.name.partition(".")
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if media_type.startswith("text/") or media_type.endswith("javascript"):
        media_type += "; charset=utf-8"
    return Asset(
        name=path.name,
        hashed_name=f"{stem}.{digest}{dot}{suffix}",
        media_type=media_type,
        body=body,
        gzipped=gzip.compress(body, compresslevel=9, mtime=0),
    )


ASSETS: Final = {
    asset.name: asset
    for asset in (_load(path) for path in sorted(STATIC_DIR.iterdir()) if path.is_file())
}
_BY_HASHED_NAME: Final = {asset.hashed_name: asset for asset in ASSETS.values()}


def asset_url(name: str) -> str:
    """The address of a static file, e.g. `asset_url("site.css")`."""
    return f"/static/{ASSETS[name].hashed_name}"


@get(
    "/static/{name:str}",
    include_in_schema=False,
    opt={"exclude_from_auth": True, "exclude_from_csrf": True},
)
async def static_file(request: Request[Any, Any, Any], name: FromPath[str]) -> Response[bytes]:
    asset = _BY_HASHED_NAME.get(name)
    if asset is None:
        raise NotFound(_("There is no such file."))
    headers = {"Cache-Control": IMMUTABLE, "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)
