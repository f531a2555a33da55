"""Booking references such as `BTS-7K2QM9XD`: drawn at random, read back however they are typed."""

from __future__ import annotations

import re
import secrets
from typing import Optional

REFERENCE_PREFIX = "BTS-"
# Digits and capitals without the look-alikes 0/O and 1/I: 32 symbols, 5 bits each.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
# 8 symbols are 40 bits: guessing an existing reference is hopeless at any request rate.
REFERENCE_LENGTH = 8
# References of the first release had 4 symbols (5 to 8 after collisions); they stay valid.
MIN_REFERENCE_LENGTH = 4
MAX_REFERENCE_LENGTH = 12
# Tries per code length before the code gets one character longer.
TRIES_PER_LENGTH = 5


def new_reference(length: int = REFERENCE_LENGTH) -> str:
    """Draws a random reference code from a cryptographic source.

    Args:
        length: Number of code characters after the `BTS-` prefix.

    Returns:
        A reference such as `BTS-7K2QM9XD`.
    """
    return REFERENCE_PREFIX + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(length))


def _valid_code(code: str) -> bool:
    return MIN_REFERENCE_LENGTH <= len(code) <= MAX_REFERENCE_LENGTH and all(
        char in REFERENCE_ALPHABET for char in code
    )


def normalize_reference(text: str) -> Optional[str]:
    """Turns what a patient typed into the canonical reference, if it can be one.

    Case, spaces, dashes and a leading `#` are tolerated: `bts 7k2q-m9xd`, `BTS7K2QM9XD` and
    `7K2Q M9XD` all become `BTS-7K2QM9XD`; the first release's `BTS-7K2Q` still reads.

    Args:
        text: The reference as typed.

    Returns:
        The canonical reference, or None when the text cannot be a reference.
    """
    if not isinstance(text, str):
        return None
    compact = re.sub(r"[^A-Za-z0-9]", "", text).upper()
    prefix = REFERENCE_PREFIX.rstrip("-")
    if compact.startswith(prefix) and _valid_code(compact[len(prefix):]):
        return REFERENCE_PREFIX + compact[len(prefix):]
    if _valid_code(compact):
        return REFERENCE_PREFIX + compact
    return None
