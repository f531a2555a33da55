"""Passwords (argon2id), session and CSRF tokens, and masking of phone numbers and e-mails."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Any
from urllib.parse import unquote, urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from bts import contact

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


def mask(value: Any) -> str:
    """Hides phone numbers and e-mail addresses in `value` (as the booking validators accept them)."""
    return contact.mask("" if value is None else str(value))


def clip(text: str, limit: int, reveal: bool) -> tuple[str, bool]:
    """At most `limit` characters of `text`, masked unless `reveal`, and whether it was cut."""
    return contact.clip(text, limit, masked=not reveal)


# ------------------------------------------------------------------ redirects

MAX_NEXT_CHARS = 2000


def safe_next(value: str | None, default: str) -> str:
    """`value` if it is a path on this site, as a browser would resolve it; otherwise `default`.

    Browsers drop tabs and newlines inside a URL, treat a backslash as a slash and resolve
    percent-encoded characters in some places, so a "/", a tab and "/evil.example" lead off-site.
    Anything with a control character, a backslash or an encoded form of those is refused.
    """
    if not value or len(value) > MAX_NEXT_CHARS:
        return default
    for candidate in (value, unquote(value)):
        if any(ch < " " or ch == "\x7f" for ch in candidate) or "\\" in candidate:
            return default
        if not candidate.startswith("/") or candidate.startswith("//"):
            return default
        parts = urlsplit(candidate)
        if parts.scheme or parts.netloc:
            return default
    return value


def query_hash(secret: bytes, query: str) -> str:
    """A keyed hash of a search query for the audit log: repeats show, the words do not."""
    return keyed(secret, "query", " ".join(query.lower().split()))[:16]
