"""Plain-text checks shared by the NLU pipeline and the action server."""

from __future__ import annotations

import itertools
import re
import unicodedata
from typing import Optional

from bts.runtime.channels import limits as _limits

# The channels cut messages to this length before Rasa stores them; `InputGuard` cuts again
# before NLU for messages that arrive another way.
MAX_MESSAGE_CHARS = _limits.MAX_MESSAGE_CHARS
truncate = _limits.truncate

# HTML or XML tags, script URLs, code fences and template syntax, and the shapes of SQL injection
# that no patient writes in a question ("select a therapist from your list" must stay text).
MARKUP_OR_CODE = re.compile(
    r"<\s*/?\s*[a-z][a-z0-9-]*(\s[^<>]*)?/?\s*>"
    r"|javascript\s*:|```|\$\{|\{\{|\{%"
    r"|\bselect\s+(\*|count\s*\()|\bunion\s+(all\s+)?select\b|\bdrop\s+(table|database)\b"
    r"|\binsert\s+into\s+\w+\s*(\(|values\b)|\bdelete\s+from\s+\w+\s*(;|where\b)"
    r"|\bupdate\s+\w+\s+set\s+\w+\s*=|['\"]\s*or\s+['\"]?\w+['\"]?\s*=\s*['\"]?\w+|;\s*--"
    r"|\b(def|function)\s+\w+\s*\([^()\n]{0,200}\)\s*[:{]|\bconsole\.log\s*\(|\bprint\s*\(\s*['\"]",
    re.IGNORECASE,
)



def classify_text(text: Optional[str]) -> str:
    """Sorts a message into a kind of input, to answer the ones NLU cannot use.

    Args:
        text: The raw message text.

    Returns:
        "empty" (nothing or only spaces), "no_words" (emoji, punctuation), "non_latin"
        (letters, but none of them Latin), "markup" (HTML, SQL or program code, which NLU
        would otherwise read as words of a question) or "text".
    """
    stripped = (text or "").strip()
    if not stripped:
        return "empty"
    letters = (ch for ch in stripped if ch.isalpha())
    first = next(letters, None)
    if first is None:
        return "no_words"
    if not any("LATIN" in unicodedata.name(ch, "") for ch in itertools.chain([first], letters)):
        return "non_latin"
    # NLU reads only the first MAX_MESSAGE_CHARS characters (truncate), so that is what counts.
    if MARKUP_OR_CODE.search(stripped[:MAX_MESSAGE_CHARS]):
        return "markup"
    return "text"
