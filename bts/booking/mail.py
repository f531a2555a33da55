"""The e-mail of a request: one message to `BTS_SMTP_TO` over SMTP.

The subject names only the kind and the reference, and the `Message-ID` is derived from the
idempotency key, so that a repeat after a lost answer is recognisable as the same message.
"""

from __future__ import annotations

import contextlib
import json
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any, Dict, Mapping, Optional

from bts.booking.settings import Settings
from bts.booking.webhook import DeliveryError, encode_payload, webhook_payload

logger = logging.getLogger(__name__)

LANGUAGE_NAMES = {"en": "English", "es": "Spanish (call back in Spanish)"}

DETAIL_LABELS = (
    ("name", "Name"),
    ("phone", "Phone"),
    ("email", "Email"),
    ("preferred_time_text", "Preferred time (as written)"),
    ("preferred_time", "Preferred time (America/Denver)"),
    ("best_time", "Best time to call"),
    ("reason", "Reason for the visit"),
    ("patient_type", "New or returning"),
    ("insurance", "Insurance"),
    ("consent", "Consent to be contacted"),
    ("related_reference", "Related reference"),
    ("spooled_reference", "Reference given to the patient"),
)


def _detail_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def email_body(request: Mapping[str, Any]) -> str:
    """The plain-text body of the e-mail for a request.

    Args:
        request: The request as `Store.find` returns it.

    Returns:
        A readable summary: reference, kind, time received, then every detail.
    """
    details: Dict[str, Any] = dict(request.get("details") or {})
    lines = [
        f"New {request['kind']} request {request['reference']}",
        f"Received: {request['created_at']} (conversation {request['conversation_id']})",
        f"Language: {LANGUAGE_NAMES.get(str(request.get('language') or 'en'), request.get('language'))}",
        "",
    ]
    for key, label in DETAIL_LABELS:
        if key in details and details[key] not in (None, ""):
            lines.append(f"{label}: {_detail_text(details.pop(key))}")
        else:
            details.pop(key, None)
    for key in sorted(details):
        if details[key] not in (None, ""):
            lines.append(f"{key}: {_detail_text(details[key])}")
    lines += [
        "",
        "The patient was told that the front desk will call within one business day.",
        "Sent by the Border Therapy Services assistant; the attached JSON has the same data.",
    ]
    return "\n".join(lines) + "\n"


def build_email(config: Settings, request: Mapping[str, Any], idempotency_key: str) -> EmailMessage:
    """Builds the e-mail for a request.

    Args:
        config: Settings with `smtp_from` and `smtp_to`.
        request: The request as `Store.find` returns it.
        idempotency_key: The outbox row's key; the `Message-ID` is derived from it.

    Returns:
        The message: text body plus the webhook JSON as an attachment.
    """
    reference = str(request["reference"])
    domain = config.smtp_from.rsplit("@", 1)[-1].strip("<> ") or "localhost"
    message = EmailMessage()
    message["Subject"] = f"[BTS] New {request['kind']} request {reference}"
    message["From"] = config.smtp_from
    message["To"] = ", ".join(config.smtp_to)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = f"<{idempotency_key.replace(':', '.')}@{domain}>"
    message["X-BTS-Reference"] = reference
    message["X-BTS-Idempotency-Key"] = idempotency_key
    message.set_content(email_body(request))
    message.add_attachment(
        encode_payload(webhook_payload(request)),
        maintype="application",
        subtype="json",
        filename=f"{reference}.json",
    )
    return message


def send_email(
    config: Settings,
    request: Mapping[str, Any],
    idempotency_key: str,
    timeout_s: Optional[float] = None,
) -> None:
    """Sends the e-mail for a request over SMTP.

    Port 465 uses TLS from the start; otherwise STARTTLS is required unless
    `BTS_SMTP_STARTTLS=false`. A login is made when `BTS_SMTP_USER` is set.

    Args:
        config: Settings with the SMTP fields.
        request: The request as `Store.find` returns it.
        idempotency_key: The outbox row's key.
        timeout_s: Timeout of each SMTP operation; defaults to `smtp_timeout_s`.

    Raises:
        DeliveryError: If the server could not be reached or did not accept the message.
    """
    if not config.smtp_host:
        raise DeliveryError("BTS_SMTP_HOST is not set")
    if not config.smtp_from or not config.smtp_to:
        raise DeliveryError("BTS_SMTP_FROM and BTS_SMTP_TO must be set")
    timeout = config.smtp_timeout_s if timeout_s is None else timeout_s
    message = build_email(config, request, idempotency_key)
    smtp: Optional[smtplib.SMTP] = None
    try:
        if config.smtp_port == 465:
            smtp = smtplib.SMTP_SSL(
                config.smtp_host, config.smtp_port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=timeout)
            if config.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
        if config.smtp_user:
            smtp.login(config.smtp_user, config.smtp_password)
        refused = smtp.send_message(message)
        if refused:
            # Some recipients got it; retrying would send it to them again.
            logger.warning("e-mail %s: %d of %d recipients refused", request["reference"],
                           len(refused), len(config.smtp_to))
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(f"SMTP login refused ({exc.smtp_code})") from None
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(f"SMTP server answered {exc.smtp_code}") from None
    except smtplib.SMTPException as exc:
        raise DeliveryError(f"SMTP failed ({type(exc).__name__})") from None
    except TimeoutError:
        raise DeliveryError(f"SMTP timed out after {timeout:.1f} s") from None
    except (OSError, ssl.SSLError) as exc:
        raise DeliveryError(f"SMTP connection failed ({type(exc).__name__})") from None
    finally:
        if smtp is not None:
            with contextlib.suppress(Exception):
                smtp.quit()
            with contextlib.suppress(Exception):
                smtp.close()
