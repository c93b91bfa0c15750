"""Send one message over SMTP with aiosmtplib, TLS as configured (none, starttls or ssl)."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from watcher.errors import DeliveryError
from watcher.notify.email import SmtpSettings

DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}


class SmtpSender:
    def __init__(self, settings: SmtpSettings, timeout: float = 30.0) -> None:
        self.settings = settings
        self.timeout = timeout

    @property
    def port(self) -> int:
        return self.settings.port or DEFAULT_PORTS[self.settings.tls]

    async def send(self, message: EmailMessage) -> None:
        """Send ``message``; any refusal or failure raises DeliveryError saying why."""
        s = self.settings
        try:
            errors, _ = await aiosmtplib.send(
                message,
                hostname=s.host,
                port=self.port,
                username=s.user or None,
                password=s.password or None,
                use_tls=s.tls == "ssl",
                start_tls=s.tls == "starttls",
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"SMTP {s.host}:{self.port}: login refused ({exc.code})") from exc
        except aiosmtplib.SMTPRecipientsRefused as exc:
            who = ", ".join(f"{r.recipient} ({r.code})" for r in exc.recipients)
            raise DeliveryError(f"SMTP {s.host}:{self.port}: recipient refused: {who}") from exc
        except aiosmtplib.SMTPException as exc:
            raise DeliveryError(f"SMTP {s.host}:{self.port}: {exc}") from exc
        except OSError as exc:
            raise DeliveryError(f"SMTP {s.host}:{self.port}: {exc}") from exc
        if errors:
            who = ", ".join(f"{k} ({v.code})" for k, v in errors.items())
            raise DeliveryError(f"SMTP {s.host}:{self.port}: recipient refused: {who}")
