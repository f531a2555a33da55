"""Passwords (argon2id), session and CSRF tokens, and masking of phone numbers and e-mails."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# argon2-cffi's defaults are argon2id with RFC 9106's low-memory profile (t=3, m=64 MiB, p=4).
_hasher = PasswordHasher()
# Verified against when the account does not exist, so that the answer takes as long.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
MIN_PASSWORD_CHARS = 12
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


def hash_password(password: str) -> str:
    """An argon2id hash of `password`."""
    return _hasher.hash(password)


def check_password(stored_hash: str | None, password: str) -> bool:
    """True if `password` matches; always does one argon2 verification."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


def password_problem(password: str) -> str | None:
    """Why a password is not acceptable, or None."""
    if len(password) < MIN_PASSWORD_CHARS:
        return f"the password needs at least {MIN_PASSWORD_CHARS} characters"
    if len(password) > 1024:
        return "the password is too long"
    return None


def new_token() -> str:
    return secrets.token_urlsafe(32)


def keyed(secret: bytes, purpose: str, value: str) -> str:
    """HMAC-SHA256 of `value` for one purpose (session key, CSRF token, login form token)."""
    return hmac.new(secret, f"{purpose}\0{value}".encode(), hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


# ------------------------------------------------------------------- masking

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# A run of 7 to 15 digits with the usual separators: (575) 555-0142, +1 575 555 0142, 5755550142.
PHONE_RE = re.compile(r"(?<![\w+(])[+(]?(?:\d[\s().-]{0,2}){6,14}\d(?!\w)")
ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _mask_phone(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    if not 7 <= len(digits) <= 15 or ISO_DATE_RE.match(match.group(0)):
        return match.group(0)
    return f"[phone …{digits[-2:]}]"


def _mask_email(match: re.Match) -> str:
    return f"[e-mail {match.group(0)[0]}…]"


def mask(value: Any) -> str:
    """Hides phone numbers and e-mail addresses in `value`, keeping a hint of each."""
    text = "" if value is None else str(value)
    return PHONE_RE.sub(_mask_phone, EMAIL_RE.sub(_mask_email, text))
