"""A bare ASGI app for bench/transfer.py: what the HTTP server alone costs.

Served by the same uvicorn as `exchange serve`, it reads a POST's body and drops it,
and answers anything else with the file named by `EXCHANGE_BENCH_FILE`, read in 1 MiB
chunks. No framework, no parsing, no hashing, no disk writes: the time it takes is the
server's own floor under the exchange's upload and download.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

CHUNK = 1024 * 1024

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    if scope["method"] == "POST":
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    path = os.environ["EXCHANGE_BENCH_FILE"]
    size = os.path.getsize(path)
    headers = [(b"content-length", str(size).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    with open(path, "rb") as source:
        while chunk := source.read(CHUNK):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})
