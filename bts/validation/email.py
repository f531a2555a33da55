"""An optional e-mail address, checked for its form only (no DNS or network)."""

from __future__ import annotations

import re

from bts.validation.result import ValidationResult, fail, ok, phrases, squash

_EMAIL_SKIP = phrases(
    """skip|no|none|no email|nope|n/a|na|pass|no thanks|no thank you|i don't have one|i dont have one|
    don't have one|dont have one|i don't have email|i don't have an email|i dont have an email|
    don't have email|no e-mail|not now|rather not|prefer not to say|skip it|skip that|nah|omitir|
    saltar|ninguno|no tengo|no tengo correo|no tengo email|no tengo e-mail|no gracias|paso|prefiero no|
    sin correo|    no uso correo"""
)
_EMAIL_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$")
_EMAIL_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def validate_email(text: str) -> ValidationResult[str]:
    """Validates an optional email address with a pragmatic syntax check (no DNS or network).

    "skip", "no", "none", "no email" and similar are accepted with the value `None`. Otherwise the
    answer must contain one address of the form local@domain.tld: one "@", no spaces, a domain with a dot
    whose last part has at least 2 letters, at most 64 characters before the "@" and 254 in all. Words
    around the address ("my email is ...") are allowed.

    Args:
        text: What the patient typed.

    Returns:
        The address with its domain lower-cased (the part before "@" is kept as typed), or `None` when
        skipped.
    """
    squashed = squash(text)
    lowered = squashed.lower().strip(" .!")
    if not lowered or lowered in _EMAIL_SKIP:
        return ok(None)
    if "@" not in squashed:
        return fail("email_no_at")
    if re.search(r"\s@|@\s", squashed):
        return fail("email_spaces")
    tokens = [token for token in squashed.split() if "@" in token]
    if len(tokens) > 1:
        return fail("email_several")
    address = re.sub(r"^mailto:", "", tokens[0].strip("<>\"'(),;:!?"), flags=re.IGNORECASE).rstrip(".")
    if address.count("@") != 1:
        return fail("email_one_at")
    local, domain = address.split("@")
    domain = domain.lower()
    problem = ""
    if not local:
        problem = "email_local_missing"
    elif len(local) > 64 or len(address) > 254:
        problem = "email_too_long"
    elif not _EMAIL_LOCAL.match(local) or local.startswith(".") or local.endswith(".") or ".." in local:
        problem = "email_local_characters"
    elif not domain:
        problem = "email_domain_missing"
    elif "." not in domain:
        problem = "email_domain_dot"
    else:
        try:
            ascii_domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            ascii_domain = ""
        labels = ascii_domain.split(".") if ascii_domain else []
        tld = labels[-1] if labels else ""
        if (
            not labels
            or len(ascii_domain) > 253
            or not all(_EMAIL_LABEL.match(label) for label in labels)
            or not (re.fullmatch(r"[a-z]{2,63}", tld) or tld.startswith("xn--"))
        ):
            problem = "email_domain_bad"
    if problem:
        return fail(problem)
    return ok(f"{local}@{domain}")
