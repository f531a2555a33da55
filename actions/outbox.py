"""Delivery of stored requests to the clinic: a signed webhook and/or e-mail over SMTP.

Every request has one `outbox` row per channel (see `actions/store.py`). A delivery attempt
first *claims* its row (so no other process tries it at the same time), then sends, then marks
the row `delivered` or schedules the next attempt with exponential backoff and jitter, capped
at `BTS_OUTBOX_BACKOFF_MAX_S`. Rows stay `pending` until delivered; nothing is given up.

Webhook: `POST` of the request as JSON with the headers

- `Idempotency-Key`: the reference, the same on every retry, so the receiver can drop repeats;
- `X-BTS-Timestamp`: UNIX seconds when this attempt was signed;
- `X-BTS-Signature`: `sha256=` + hex HMAC-SHA256 with `BTS_WEBHOOK_SECRET` over
  `<timestamp> + "." + <raw body bytes>`.

Any 2xx answer counts as delivered (a receiver answers 2xx to a repeat too); anything else, a
redirect, a timeout or a connection error is retried. Because an attempt can succeed at the
receiver while its answer is lost, the receiver must deduplicate by `Idempotency-Key`: that
makes delivery exactly-once from its point of view.

E-mail: one message per request to `BTS_SMTP_TO`, with a subject naming only the kind and the
reference, and a `Message-ID` derived from the idempotency key, so that a repeat after a lost
answer is recognisable as the same message.

Request details are health information and are never logged; errors are recorded in
`outbox.last_error` as short texts without personal data.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import hmac
import json
import logging
import random
import smtplib
import ssl
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Mapping, Optional

import requests

from actions.config import Settings

if TYPE_CHECKING:  # actions.store imports this module at run time
    from actions.store import OutboxJob, Store

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-BTS-Signature"
TIMESTAMP_HEADER = "X-BTS-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SIGNATURE_TOLERANCE_S = 300
PAYLOAD_VERSION = 1
USER_AGENT = "bts-outbox/1"

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


class DeliveryError(Exception):
    """A delivery attempt failed; the message is short and free of personal data."""


@dataclass(frozen=True)
class DeliveryPass:
    """What one pass over the due deliveries did.

    Attributes:
        due: Rows that were due.
        delivered: Rows delivered in this pass.
        failed: Rows whose attempt failed (retried later).
        skipped: Due rows another process had claimed first.
    """

    due: int = 0
    delivered: int = 0
    failed: int = 0
    skipped: int = 0


# -- webhook ------------------------------------------------------------------------------------


def webhook_payload(request: Mapping[str, Any]) -> Dict[str, Any]:
    """The JSON document POSTed for a request.

    Args:
        request: The request as `Store.find` returns it.

    Returns:
        `version`, `event` (`request.created`), `reference`, `kind`, `status`,
        `conversation_id`, `created_at` (ISO 8601 UTC) and `details`.
    """
    return {
        "version": PAYLOAD_VERSION,
        "event": "request.created",
        "reference": request["reference"],
        "kind": request["kind"],
        "status": request["status"],
        "conversation_id": request["conversation_id"],
        "created_at": request["created_at"],
        "details": request["details"],
    }


def encode_payload(payload: Mapping[str, Any]) -> bytes:
    """Serialises a payload deterministically (sorted keys, no spaces, UTF-8)."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Computes the `X-BTS-Signature` header value.

    Args:
        secret: The shared secret (`BTS_WEBHOOK_SECRET`).
        timestamp: The `X-BTS-Timestamp` header value (UNIX seconds as text).
        body: The raw request body.

    Returns:
        `sha256=` followed by the hex HMAC-SHA256 of `timestamp + "." + body`.
    """
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: str,
    timestamp: Optional[str],
    body: bytes,
    signature: Optional[str],
    now: Optional[float] = None,
    tolerance_s: float = SIGNATURE_TOLERANCE_S,
) -> bool:
    """Checks a webhook signature the way a receiver should.

    Args:
        secret: The shared secret.
        timestamp: The `X-BTS-Timestamp` header.
        body: The raw request body, exactly as received.
        signature: The `X-BTS-Signature` header.
        now: The current UNIX time (for tests).
        tolerance_s: Largest accepted clock difference, against replays of old requests.

    Returns:
        True only if the signature matches and the timestamp is recent.
    """
    if not secret or not timestamp or not signature:
        return False
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - sent_at) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature.strip())


def _cause_name(exc: BaseException) -> str:
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return type(exc).__name__


def send_webhook(config: Settings, request: Mapping[str, Any], timeout_s: Optional[float] = None) -> None:
    """POSTs one request to the webhook.

    Args:
        config: Settings with `webhook_url`, `webhook_secret` and `webhook_timeout_s`.
        request: The request as `Store.find` returns it.
        timeout_s: Connect and read timeout; defaults to `webhook_timeout_s`.

    Raises:
        DeliveryError: If the receiver did not answer with a 2xx status in time.
    """
    if not config.webhook_url:
        raise DeliveryError("BTS_WEBHOOK_URL is not set")
    if not config.webhook_secret:
        raise DeliveryError("BTS_WEBHOOK_SECRET is not set; refusing to send unsigned requests")
    timeout = config.webhook_timeout_s if timeout_s is None else timeout_s
    body = encode_payload(webhook_payload(request))
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        IDEMPOTENCY_HEADER: str(request["reference"]),
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(config.webhook_secret, timestamp, body),
    }
    try:
        response = requests.post(
            config.webhook_url, data=body, headers=headers, timeout=(timeout, timeout), allow_redirects=False
        )
    except requests.Timeout:
        raise DeliveryError(f"webhook timed out after {timeout:.1f} s") from None
    except requests.ConnectionError as exc:
        raise DeliveryError(f"webhook connection failed ({_cause_name(exc)})") from None
    except requests.RequestException as exc:
        raise DeliveryError(f"webhook request failed ({type(exc).__name__})") from None
    with contextlib.closing(response):
        if not 200 <= response.status_code < 300:
            raise DeliveryError(f"webhook answered HTTP {response.status_code}")


# -- e-mail -------------------------------------------------------------------------------------


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


# -- attempts -----------------------------------------------------------------------------------


def backoff_delay(
    attempts: int, base_s: float, max_s: float, rand: Callable[[], float] = random.random
) -> float:
    """Delay before the next attempt: exponential, capped, with jitter.

    The nominal delay is `base_s * 2 ** (attempts - 1)`, capped at `max_s`; the result is
    drawn uniformly between half of it and all of it, so that many failed rows do not retry in
    lock-step.

    Args:
        attempts: Attempts made so far (1 after the first failure).
        base_s: Delay after the first failure.
        max_s: Cap.
        rand: Source of uniform numbers in [0, 1) (for tests).

    Returns:
        Seconds to wait.
    """
    nominal = min(max_s, base_s * 2 ** min(max(attempts - 1, 0), 60))
    return nominal / 2 + rand() * nominal / 2


def _shorter(own_s: float, limit_s: Optional[float]) -> float:
    return own_s if limit_s is None else min(own_s, limit_s)


def attempt(store: Store, job: OutboxJob, timeout_s: Optional[float] = None) -> bool:
    """Makes one delivery attempt of a claimed job and records the outcome.

    Args:
        store: Where the outcome is recorded.
        job: A job returned by `Store.claim`.
        timeout_s: Timeout to use instead of the channel's own (shorter, for the attempt made
            while the patient waits).

    Returns:
        True if delivered.
    """
    config = store.config
    reference = job.request["reference"]
    started = time.monotonic()
    try:
        if job.channel == "webhook":
            send_webhook(config, job.request, _shorter(config.webhook_timeout_s, timeout_s))
        elif job.channel == "email":
            send_email(config, job.request, job.idempotency_key, _shorter(config.smtp_timeout_s, timeout_s))
        else:
            raise DeliveryError(f"unknown channel {job.channel!r}")
    except Exception as exc:  # noqa: BLE001 - every failure is retried, none may escape the worker
        error = str(exc) if isinstance(exc, DeliveryError) else f"unexpected {type(exc).__name__}"
        delay = backoff_delay(job.attempts, config.outbox_backoff_base_s, config.outbox_backoff_max_s)
        logger.warning(
            "delivery of %s via %s failed (attempt %d): %s; next attempt in %.1f s",
            reference, job.channel, job.attempts, error, delay,
        )
        try:
            store.mark_failed(job.outbox_id, error, delay)
        except Exception as db_exc:  # noqa: BLE001 - the lease expires and the row is retried
            logger.error("could not record the failed attempt of %s (%s)", reference, type(db_exc).__name__)
        return False
    logger.info(
        "delivered %s via %s (attempt %d, %.2f s)", reference, job.channel, job.attempts,
        time.monotonic() - started,
    )
    try:
        store.mark_delivered(job.outbox_id)
    except Exception as db_exc:  # noqa: BLE001
        # The receiver has it; the retry after the lease is dropped there as a repeat.
        logger.error("delivered %s but could not record it (%s)", reference, type(db_exc).__name__)
    return True


def _claim_and_attempt(store: Store, outbox_id: int, timeout_s: Optional[float] = None) -> Optional[bool]:
    job = store.claim(outbox_id)
    if job is None:
        return None
    return attempt(store, job, timeout_s)


def deliver_due(
    store: Store, limit: int = 50, executor: Optional[concurrent.futures.Executor] = None
) -> DeliveryPass:
    """Claims and attempts every due delivery (up to `limit`).

    Args:
        store: The store.
        limit: Most rows to handle in this pass.
        executor: Runs attempts in parallel when given; otherwise one after the other.

    Returns:
        Counts of what happened.
    """
    ids = store.due_outbox_ids(limit)
    outcomes: List[Optional[bool]] = []
    if executor is None:
        outcomes = [_claim_and_attempt(store, outbox_id) for outbox_id in ids]
    else:
        futures = [executor.submit(_claim_and_attempt, store, outbox_id) for outbox_id in ids]
        for future in futures:
            try:
                outcomes.append(future.result())
            except concurrent.futures.CancelledError:
                continue
            except Exception as exc:  # noqa: BLE001 - e.g. the database went away mid-pass
                logger.error("delivery pass error (%s)", type(exc).__name__)
                outcomes.append(False)
    return DeliveryPass(
        due=len(ids),
        delivered=sum(1 for o in outcomes if o is True),
        failed=sum(1 for o in outcomes if o is False),
        skipped=sum(1 for o in outcomes if o is None),
    )


def deliver_now(store: Store, jobs: Iterable[OutboxJob], budget_s: float) -> None:
    """One immediate attempt per new delivery, holding the caller for at most about `budget_s`.

    The jobs come already claimed (see `Store.submit`). Attempts run in a background thread;
    the caller stops waiting after the budget. An attempt still running then finishes on its own
    and records its outcome; a job not yet attempted is given back to the worker.

    Args:
        store: The store.
        jobs: The claimed deliveries of a new request.
        budget_s: Seconds the caller may still wait.
    """
    pending = list(jobs)
    if not pending:
        return
    deadline = time.monotonic() + max(0.0, budget_s)

    def run() -> None:
        for index, job in enumerate(pending):
            remaining = deadline - time.monotonic()
            if remaining < 0.1:
                for untried in pending[index:]:
                    try:
                        store.release(untried.outbox_id)
                    except Exception as exc:  # noqa: BLE001 - the lease expires instead
                        logger.warning("could not give back %s (%s)", untried.idempotency_key,
                                       type(exc).__name__)
                return
            try:
                attempt(store, job, timeout_s=remaining)
            except Exception as exc:  # noqa: BLE001 - the worker retries after the lease
                logger.warning("immediate delivery skipped (%s); the worker will retry", type(exc).__name__)

    thread = threading.Thread(target=run, name="bts-deliver-now", daemon=False)
    thread.start()
    thread.join(max(0.0, deadline - time.monotonic()) + 0.1)
