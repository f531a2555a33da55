"""Rule-based detection of emergency red flags with spaCy.

The project's spaCy pipeline (built by `scripts/build_spacy_pipeline.py`) carries an entity ruler
whose `RED_FLAG` patterns come from `data/spacy/red_flag_rules.jsonl`; the pattern id is the
red-flag category. This module turns those entities into findings and drops the ones the patient
explicitly denies ("I have no numbness in my groin") or only asks about ("what is saddle
numbness?"). It is the second net under the intent classifier: a red flag is raised when either
of them fires.

Rules file format (one JSON object per line; blank lines and lines starting with ``//`` are
skipped):

* ``{"define": "NAME", "terms": [terms...]}`` names a list of terms; ``"@NAME"`` in a group or a
  phrase list stands for all of them. A definition must come before its first use.
* ``{"id": "<category>", "near": [[terms...], [terms...], ...], "window": N}`` matches when one
  term of every group occurs, in any order, with at most N other tokens between neighbours
  (default 3). With ``"ordered": true`` the groups must occur in the given order. The tokens in
  between never include "but", ";" or a negation ("no", "never", "not", "n't"...), so "I had a
  fever last week, it never affected my back" does not join "fever" and "back";
  ``"gap_excludes": [words]`` adds lower-case words they may not include either ("can't *wait*
  to walk").
* ``{"id": "<category>", "phrase": [terms...]}`` matches any of the given phrases.

In the English rules (`red_flag_rules.jsonl`) terms are lower-case lemmas, as described below.
The Spanish rules (`red_flag_rules_es.jsonl`, loaded with ``attribute="NORM"``) match every word
on its NORM, the lower-case form without accents (components/normalize.py), so "vejiga" also
matches "Vejíga"; list plurals and misspellings as alternatives ("pierna|piernas|vegiga").
Both sets run on every message, whatever its language.

Terms are lower-case lemmas ("leg" matches "legs", "pee" matches "peed"); a term with spaces is
a sequence of tokens. Inside a term:

* ``*`` matches any single token;
* ``=word`` matches the exact lower-case form instead of the lemma, for forms the lookup
  lemmatizer maps badly ("=worse" — its lemma is "wrong"), plurals that matter ("=legs") and
  typos ("=weeker");
* ``a|b|c`` matches any of the alternatives, e.g. ``"fall down|off|over"`` (alternatives in one
  word are either all lemmas or all ``=`` forms);
* ``not`` also matches "n't", "nt" and the curly "n’t".
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

from spacy.tokens import Doc, Span, Token

from components.normalize import fold

LABEL = "RED_FLAG"

RULE_KEYS = {"id", "near", "phrase", "window", "ordered", "gap_excludes"}
DEFAULT_WINDOW = 3
# A rule that expands to more patterns than this is almost certainly a mistake (too many groups
# or multi-word terms) and would slow every message down.
MAX_PATTERNS_PER_RULE = 1000

# Forms of "not": the lookup lemmatizer maps "n't" and "nt" to "not" but leaves the curly "n’t".
NEGATION_FORMS = ("not", "n't", "nt", "n’t")
# Tokens a `near` window may not skip: contrasts, negations, and "between" (which starts a place:
# "numb between my legs" is saddle numbness, not numbness of both legs). Sentence ends may be
# skipped: "I fell off a ladder. The pain is unbearable" is one red flag.
GAP_STOPS = sorted(
    {";", "but", "however", "although", "though", "between"}
    | {"no", "never", "without", "nor", "neither", "none"}
    | set(NEGATION_FORMS)
    | {"pero", "aunque", "sin", "nunca", "ni", "tampoco", "jamas", "entre"}
)

# Cue words that, shortly before a red-flag phrase, mean the patient denies it. "can't",
# "unable" and similar are *not* here: "I can't hold my urine" is itself the red flag.
DENIAL_CUES = {"no", "without", "never", "denies", "deny", "nor", "neither", "none"}
DENIAL_CUES |= {"sin", "nunca", "ni", "tampoco", "jamas"}
# After these (one or two words after the cue), a denial cue reports a loss instead ("no control
# of my bladder", "no feeling in my groin", "no tengo control", "no puedo", "no siento", "sin
# poder caminar") or is an idiom ("for no reason", "no idea why").
NOT_DENIED_AFTER = {"control", "feeling", "sensation", "strength", "power", "reason", "idea"}
NOT_DENIED_AFTER |= {
    "controlar", "controlo", "controla", "puedo", "puede", "pude", "pudo", "podia", "poder",
    "siento", "siente", "sentia", "senti", "sintio", "sentir", "aguanto", "aguanta", "logro",
    "sensibilidad", "sensacion", "fuerza", "fuerzas", "razon", "motivo", "causa",
}
# "not"/"n't" deny together with a verb of having or noticing ("I don't have numbness"), or
# right after "do"/"be"/"have" ("I didn't wet myself", "it isn't numb"); after "can" or "will"
# they report an inability, which is the red flag itself.
NOT_CUES = set(NEGATION_FORMS) | {"dont", "didnt", "havent", "hasnt", "doesnt", "aint"}
HAVING_LEMMAS = {"have", "get", "experience", "notice", "any", "had", "got"}
AUXILIARIES = {"do", "does", "did", "is", "are", "was", "were", "am", "be", "been", "has", "have"}
AUXILIARIES |= {"had", "'m", "’m", "'s", "’s", "'re", "’re", "'ve", "’ve"}
MODALS = {"ca", "can", "could", "wo", "will", "would"}
DENIAL_WINDOW = 5
# "what is/does <red-flag phrase>" asks what the phrase means; it reports nothing.
QUESTION_VERBS = {"is", "are", "was", "'s", "’s", "s", "does", "do", "did", "causes", "cause"}
QUESTION_VERBS_ES = {"es", "son", "significa", "causa", "quiere"}
# Words after which the denial no longer applies ("no fever but I can't pee").
CLAUSE_BREAKS = {"but", "however", "although", "though", "yet", ".", ";", ":", "!", "?", "\n"}
CLAUSE_BREAKS |= {"pero", "aunque", "sino", "¿", "¡"}


@dataclass(frozen=True)
class Finding:
    """One red flag found in a message.

    Attributes:
        category: Red-flag category (the rule id), e.g. "bladder_bowel".
        text: The words that matched.
        start: Character offset of the match.
        end: Character offset after the match.
    """

    category: str
    text: str
    start: int
    end: int


def _word_token(word: str, attribute: str = "LEMMA") -> Dict[str, Any]:
    """Token pattern for one word of a term (see the module docstring for the syntax)."""
    if word == "*":
        return {}
    alternatives = word.split("|")
    if any(not alt or alt == "=" for alt in alternatives):
        raise ValueError(f"empty alternative in {word!r}")
    if attribute == "NORM":
        forms = sorted({fold(alt.removeprefix("=")) for alt in alternatives})
        return {"NORM": forms[0]} if len(forms) == 1 else {"NORM": {"IN": forms}}
    exact = [alt.startswith("=") for alt in alternatives]
    if all(exact):
        forms = [alt[1:] for alt in alternatives]
        return {"LOWER": forms[0]} if len(forms) == 1 else {"LOWER": {"IN": forms}}
    if any(exact):
        raise ValueError(f"{word!r} mixes lemmas and =forms")
    if "not" in alternatives:
        alternatives += [form for form in NEGATION_FORMS if form not in alternatives]
    return {"LEMMA": alternatives[0]} if len(alternatives) == 1 else {"LEMMA": {"IN": alternatives}}


def _term_tokens(term: str, attribute: str = "LEMMA") -> List[Dict[str, Any]]:
    if not isinstance(term, str) or not term.split():
        raise ValueError(f"a term must be a non-empty string, not {term!r}")
    return [_word_token(word, attribute) for word in term.split()]


def _resolve(terms: Sequence[str], definitions: Mapping[str, Sequence[str]]) -> List[str]:
    """Replaces `@NAME` references by the defined terms."""
    if isinstance(terms, str) or not isinstance(terms, (list, tuple)):
        raise ValueError(f"expected a list of terms, not {terms!r}")
    resolved: List[str] = []
    for term in terms:
        if isinstance(term, str) and term.startswith("@"):
            if term[1:] not in definitions:
                raise ValueError(f"unknown definition {term!r}")
            resolved.extend(definitions[term[1:]])
        else:
            resolved.append(term)
    return resolved


def _token_values(token: Dict[str, Any]) -> Optional[tuple]:
    """(attribute, values) of a simple token pattern, or None for a wildcard."""
    if not token:
        return None
    key, value = next(iter(token.items()))
    return key, tuple(value["IN"] if isinstance(value, dict) else [value])


def _make_token(key: str, values: Iterable[str]) -> Dict[str, Any]:
    unique = sorted(set(values))
    return {key: unique[0]} if len(unique) == 1 else {key: {"IN": unique}}


def _merge_sequences(sequences: List[List[Dict[str, Any]]]) -> List[List[Dict[str, Any]]]:
    """Merges token sequences that differ in one position only.

    The result matches the same texts with fewer patterns: "fall down" and "fall off" become
    "fall down|off", and single words of a group share one token.
    """
    merged = [list(seq) for seq in sequences]
    changed = True
    while changed:
        changed = False
        for i, j in itertools.combinations(range(len(merged)), 2):
            first, second = merged[i], merged[j]
            if len(first) != len(second):
                continue
            diff = [k for k in range(len(first)) if first[k] != second[k]]
            if len(diff) > 1:
                continue
            if diff:
                a, b = _token_values(first[diff[0]]), _token_values(second[diff[0]])
                if a is None or b is None or a[0] != b[0]:
                    continue
                first[diff[0]] = _make_token(a[0], a[1] + b[1])
            del merged[j]
            changed = True
            break
    return merged


def _group_alternatives(group: Sequence[str], attribute: str) -> List[List[Dict[str, Any]]]:
    """Token patterns for one group of terms, merged where possible."""
    return _merge_sequences([_term_tokens(term, attribute) for term in group])


def _gap(window: int, excludes: Sequence[str] = (), attribute: str = "LEMMA") -> List[Dict[str, Any]]:
    if window == 0:
        return []
    key = "NORM" if attribute == "NORM" else "LOWER"
    return [{key: {"NOT_IN": sorted(set(GAP_STOPS) | set(excludes))}, "OP": f"{{0,{window}}}"}]


def expand_rule(
    rule: Dict[str, Any],
    definitions: Optional[Mapping[str, Sequence[str]]] = None,
    attribute: str = "LEMMA",
) -> List[Dict[str, Any]]:
    """Expands one compact rule into entity-ruler patterns.

    Args:
        rule: A parsed line of the rules file.
        definitions: Named term lists that `@NAME` terms refer to.
        attribute: "LEMMA" (English rules: lemmas and `=` forms) or "NORM" (Spanish rules:
            every word is matched on its folded form).

    Returns:
        Entity-ruler patterns with label `RED_FLAG` and the rule's id.

    Raises:
        ValueError: If the rule has no id, unknown keys, neither "near" nor "phrase", an empty
            group, a bad window or term, or expands to too many patterns.
    """
    if not isinstance(rule, dict):
        raise ValueError(f"a rule must be a JSON object, not {rule!r}")
    definitions = definitions or {}
    category = rule.get("id")
    if not category or not isinstance(category, str):
        raise ValueError(f"rule without id: {rule}")
    unknown = set(rule) - RULE_KEYS
    if unknown:
        raise ValueError(f"rule {category}: unknown keys {sorted(unknown)}")
    sequences: List[List[Dict[str, Any]]] = []
    if "phrase" in rule:
        terms = _resolve(rule["phrase"], definitions)
        if not terms:
            raise ValueError(f"rule {category}: 'phrase' needs terms")
        sequences = _merge_sequences([_term_tokens(term, attribute) for term in terms])
    elif "near" in rule:
        groups = rule["near"]
        if not isinstance(groups, list) or len(groups) < 2:
            raise ValueError(f"rule {category}: 'near' needs at least two groups")
        groups = [_resolve(group, definitions) for group in groups]
        if any(not group for group in groups):
            raise ValueError(f"rule {category}: every group in 'near' needs terms")
        window = rule.get("window", DEFAULT_WINDOW)
        if not isinstance(window, int) or isinstance(window, bool) or not 0 <= window <= 20:
            raise ValueError(f"rule {category}: window must be an integer from 0 to 20")
        excludes = rule.get("gap_excludes", [])
        if not isinstance(excludes, list) or not all(isinstance(w, str) and w for w in excludes):
            raise ValueError(f"rule {category}: gap_excludes must be a list of words")
        gap = _gap(window, [fold(word) for word in excludes], attribute)
        alternatives = [_group_alternatives(group, attribute) for group in groups]
        count = math.prod(len(group) for group in alternatives)
        count *= 1 if rule.get("ordered") else math.factorial(len(groups))
        if count > MAX_PATTERNS_PER_RULE:
            raise ValueError(f"rule {category}: expands to {count} patterns, split it")
        orders = [alternatives] if rule.get("ordered") else itertools.permutations(alternatives)
        for order in orders:
            for combo in itertools.product(*order):
                pattern: List[Dict[str, Any]] = []
                for index, part in enumerate(combo):
                    if index:
                        pattern.extend(gap)
                    pattern.extend(part)
                sequences.append(pattern)
    else:
        raise ValueError(f"rule {category}: needs 'near' or 'phrase'")
    if len(sequences) > MAX_PATTERNS_PER_RULE:
        raise ValueError(f"rule {category}: expands to {len(sequences)} patterns, split it")
    return [{"label": LABEL, "id": category, "pattern": seq} for seq in sequences]


def load_rules(path: Path, attribute: str = "LEMMA") -> List[Dict[str, Any]]:
    """Reads a rules file and expands it into entity-ruler patterns.

    Args:
        path: A JSON-lines rules file.
        attribute: "LEMMA" for the English rules, "NORM" for the Spanish ones.

    Returns:
        All expanded patterns.

    Raises:
        ValueError: With the line number, if a line is not valid JSON or not a valid rule.
    """
    patterns: List[Dict[str, Any]] = []
    definitions: Dict[str, List[str]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        try:
            rule = json.loads(line)
            if isinstance(rule, dict) and "define" in rule:
                name, terms = rule.get("define"), rule.get("terms")
                if not isinstance(name, str) or not name or set(rule) != {"define", "terms"}:
                    raise ValueError("a definition needs exactly 'define' (a name) and 'terms'")
                if not isinstance(terms, list):
                    raise ValueError(f"definition {name}: 'terms' must be a list")
                terms = _resolve(terms, definitions)
                if not terms:
                    raise ValueError(f"definition {name} has no terms")
                for term in terms:
                    _term_tokens(term, attribute)
                definitions[name] = terms
                continue
            patterns.extend(expand_rule(rule, definitions, attribute))
        except (json.JSONDecodeError, ValueError) as exc:
            raise ValueError(f"{path}:{number}: {exc}") from exc
    return patterns


def _clause_before(doc: Doc, span: Span) -> List[Token]:
    """The few tokens before `span`, from the last clause break on."""
    before = list(doc[max(0, span.start - DENIAL_WINDOW) : span.start])
    for index in range(len(before) - 1, -1, -1):
        if before[index].lower_ in CLAUSE_BREAKS or before[index].is_space:
            return before[index + 1 :]
    return before


def is_denied(doc: Doc, span: Span) -> bool:
    """Tells whether the patient denies the red-flag phrase `span`.

    Args:
        doc: The parsed message.
        span: A `RED_FLAG` entity of `doc`.

    Returns:
        True if a denial cue stands shortly before the phrase, in the same clause: "no",
        "without", "never" (but not "no control", "for no reason" or an interjection "no,"),
        "not"/"n't" with a verb of having ("I don't have"), or "not"/"n't" right after "do",
        "be" or "have" ("I didn't wet myself"). "can't"/"won't" are no denial.
    """
    before = _clause_before(doc, span)
    for index, token in enumerate(before):
        word = fold(token.lower_)
        following = before[index + 1 :] + list(span)
        if word in DENIAL_CUES:
            if following[0].is_punct or any(
                fold(t.lower_) in NOT_DENIED_AFTER for t in following[:2]
            ):
                continue
            return True
        if word in NOT_CUES:
            previous = doc[token.i - 1].lower_ if token.i > 0 else ""
            if previous in MODALS:
                continue
            if any(t.lemma_ in HAVING_LEMMAS or t.lower_ in HAVING_LEMMAS for t in following[:3]):
                return True
            between = before[index + 1 :]
            if previous in AUXILIARIES and len(between) <= 2 and not any(t.is_punct for t in between):
                return True
    return False


# "no siento entumecimiento" denies numbness, while "no siento la pierna" reports it.
SPANISH_DENIED_NOUNS = {"entumecimiento", "hormigueo", "adormecimiento", "cosquilleo", "dolor"}


def _denies_inside(span: Span) -> bool:
    """Tells whether the span itself denies a symptom: "no siento|noto|tengo hormigueo"."""
    words = [fold(t.lower_) for t in span]
    return any(
        a == "no" and b in {"siento", "noto", "tengo", "sentia"} and c in SPANISH_DENIED_NOUNS
        for a, b, c in zip(words, words[1:], words[2:], strict=False)
    )


def _asks_about(doc: Doc, span: Span) -> bool:
    """Tells whether `span` is only asked about ("what is saddle numbness?", "what if...")."""
    words = [fold(t.lower_) for t in _clause_before(doc, span)]
    if any(words[i : i + 2] in (["what", "if"], ["y", "si"]) for i in range(len(words) - 1)):
        return True  # "what if I can't walk after the session?", "¿y si no puedo caminar?"
    if len(words) >= 2 and words[-2] == "what" and words[-1] in QUESTION_VERBS:
        return True
    tail = words[-3:]
    if any(w == "que" and n in QUESTION_VERBS_ES for w, n in zip(tail, tail[1:], strict=False)):
        return True  # "¿qué es el entumecimiento en la entrepierna?"
    # "does this mean I have cancer?"
    return any(word in {"mean", "means", "significa"} for word in words[-2:])


def find_red_flags(doc: Doc) -> List[Finding]:
    """Lists the red flags in a parsed message, without the ones the patient denies.

    Args:
        doc: A message parsed by the project's spaCy pipeline.

    Returns:
        Findings in text order.
    """
    return [
        Finding(category=ent.ent_id_, text=ent.text, start=ent.start_char, end=ent.end_char)
        for ent in doc.ents
        if ent.label_ == LABEL
        and not is_denied(doc, ent)
        and not _denies_inside(ent)
        and not _asks_about(doc, ent)
    ]


def categories(findings: Iterable[Finding]) -> List[str]:
    """Distinct categories of `findings`, in order of first appearance."""
    return list(dict.fromkeys(f.category for f in findings))
