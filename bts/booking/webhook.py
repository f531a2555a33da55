"""The signed webhook: the JSON document, its HMAC signature, and the POST to the clinic.

`POST` of the request as JSON with the headers

- `Idempotency-Key`: the reference, the same on every retry, so the receiver can drop repeats;
- `X-BTS-Timestamp`: UNIX seconds when this attempt was signed;
- `X-BTS-Signature`: `sha256=` + hex HMAC-SHA256 with `BTS_WEBHOOK_SECRET` over
  `<timestamp> + "." + <raw body bytes>`.

Any 2xx answer counts as delivered (a receiver answers 2xx to a repeat too); anything else, a
redirect, a timeout or a connection error is an error the outbox retries.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import time
from typing import Any, Dict, Mapping, Optional

import requests

from bts.booking.settings import Settings


class DeliveryError(Exception):
    """A delivery attempt failed; the message is short and free of personal data."""


SIGNATURE_HEADER = "X-BTS-Signature"
TIMESTAMP_HEADER = "X-BTS-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SIGNATURE_TOLERANCE_S = 300
PAYLOAD_VERSION = 1
USER_AGENT = "bts-outbox/1"

def webhook_payload(request: Mapping[str, Any]) -> Dict[str, Any]:
    """The JSON document POSTed for a request.

    Args:
        request: The request as `Store.find` returns it.

    Returns:
        `version`, `event` (`request.created`), `reference`, `kind`, `status`,
        `conversation_id`, `created_at` (ISO 8601 UTC), `language` (`en` or `es`) and `details`.
    """
    return {
        "version": PAYLOAD_VERSION,
        "event": "request.created",
        "reference": request["reference"],
        "kind": request["kind"],
        "status": request["status"],
        "conversation_id": request["conversation_id"],
        "created_at": request["created_at"],
        "language": request.get("language") or "en",
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


def cause_name(exc: BaseException) -> str:
    """The name of the innermost exception of a chain (e.g. `ConnectTimeoutError`)."""
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
        raise DeliveryError(f"webhook connection failed ({cause_name(exc)})") from None
    except requests.RequestException as exc:
        raise DeliveryError(f"webhook request failed ({type(exc).__name__})") from None
    with contextlib.closing(response):
        if not 200 <= response.status_code < 300:
            raise DeliveryError(f"webhook answered HTTP {response.status_code}")
