"""Sending through the SMTP server named by `EXCHANGE_SMTP_URL`.

`smtp://[user[:password]@]host[:port][?starttls=1&timeout=20]` (port 25 by default) or
`smtps://...` for TLS from the first byte (port 465 by default). aiosmtplib does the
protocol, so sending never blocks the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from exchange.config import SettingsError

_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    use_tls: bool = False
    start_tls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 20.0

    @classmethod
    def from_url(cls, url: str) -> SmtpTarget:
        parts = urlsplit(url)
        if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
            raise SettingsError(
                "EXCHANGE_SMTP_URL must look like smtp://host:25, "
                "smtp://user:password@host:587?starttls=1 or smtps://host:465."
            )
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        use_tls = parts.scheme == "smtps"
        try:
            port = parts.port or (465 if use_tls else 25)
            timeout = float(query.get("timeout", "20"))
        except ValueError as exc:
            raise SettingsError(f"EXCHANGE_SMTP_URL has a bad port or timeout: {exc}") from exc
        return cls(
            host=parts.hostname,
            port=port,
            use_tls=use_tls,
            start_tls=query.get("starttls", "").lower() in _TRUE,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            timeout=timeout,
        )


async def send_message(target: SmtpTarget, message: EmailMessage) -> None:
    """Send one message over its own connection. Raises `aiosmtplib.SMTPException` or
    `OSError` when the server is unreachable or refuses it."""
    async with aiosmtplib.SMTP(
        hostname=target.host,
        port=target.port,
        use_tls=target.use_tls,
        start_tls=target.start_tls,
        username=target.username,
        password=target.password,
        timeout=target.timeout,
    ) as client:
        await client.send_message(message)
