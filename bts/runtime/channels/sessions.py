"""Server-issued, signed session ids for the socket.io channel.

A session id is the bearer of a conversation, so the server makes it: a random token plus an
HMAC of it under `BTS_SESSION_SECRET`. A client may resume a session only with an id the server
signed; anything else gets a new one. The REST channel refuses ids of this form, so a socket.io
conversation cannot be continued over REST.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import re
import secrets
from typing import Mapping, Optional

from bts import env

logger = logging.getLogger(__name__)

SECRET_ENV = "BTS_SESSION_SECRET"
PROFILE_ENV = "BTS_PROFILE"
MIN_SECRET_CHARS = 32
PREFIX = "s1."
SIGNED_FORM = re.compile(r"^s1\.[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]{22}$")


def looks_signed(session_id: object) -> bool:
    """Whether `session_id` has the form of a socket.io session id (signed or not)."""
    return isinstance(session_id, str) and SIGNED_FORM.match(session_id) is not None


def is_dev(environ: Mapping[str, str]) -> bool:
    """Whether the environment is the development profile (`BTS_PROFILE=dev`)."""
    return env.text(environ, PROFILE_ENV).lower() == "dev"


class SessionIds:
    """Issues and checks signed session ids.

    Args:
        secret: The signing key.
    """

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> SessionIds:
        """The key from `BTS_SESSION_SECRET`; generated for this process in the dev profile.

        Raises:
            bts.env.SettingsError: If the secret is missing (outside dev) or too short.
        """
        environ = os.environ if environ is None else environ
        secret = env.text(environ, SECRET_ENV)
        if not secret:
            if not is_dev(environ):
                raise env.SettingsError(
                    f"{SECRET_ENV} is not set: socket.io session ids are signed with it (at least "
                    f"{MIN_SECRET_CHARS} characters, the same on every replica), or set "
                    f"{PROFILE_ENV}=dev to generate one per run"
                )
            logger.info("%s not set (dev profile): session ids are signed with a key made for this run.",
                        SECRET_ENV)
            secret = secrets.token_urlsafe(48)
        if len(secret) < MIN_SECRET_CHARS:
            raise env.SettingsError(f"{SECRET_ENV}: at least {MIN_SECRET_CHARS} characters")
        return cls(secret.encode())

    def _signature(self, token: str) -> str:
        digest = hmac.new(self._secret, (PREFIX + token).encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode()[:22]

    def issue(self) -> str:
        """A new unguessable, signed session id."""
        token = secrets.token_urlsafe(24)
        return f"{PREFIX}{token}.{self._signature(token)}"

    def verify(self, session_id: object) -> bool:
        """Whether `session_id` was issued with this key (compared in constant time)."""
        if not looks_signed(session_id):
            return False
        assert isinstance(session_id, str)
        _, token, signature = session_id.split(".")
        return hmac.compare_digest(signature, self._signature(token))
