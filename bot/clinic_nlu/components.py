"""Rasa 3.6 NLU components of the clinic bot (referenced from bot/config.yml; PYTHONPATH=bot).

- `LinearIntentClassifier`: the intent classifier. TF-IDF of word uni/bigrams and character
  1-5-grams over normalized text (`normalize_for_classifier`: no accents, abbreviations expanded,
  emojis as words) + a linear model with probabilistic output (SGD, logistic loss). It trains in
  seconds on 2 CPU cores, is deterministic (fixed seed) and, on this data, matched or beat
  DIETClassifier in cross-validation and on the held-out set (scripts/eval_nlu.py), at a fraction of
  the training time. Entities are extracted by CRFEntityExtractor (see bot/config.yml).
- `NormalizingTokenizer`: the WhitespaceTokenizer, but every token's text is replaced by its
  normalized form (`normalize.normalize_token`: no accents, lowercase, WhatsApp abbreviations
  expanded: "vc" -> "voce", "qro" -> "quero", "pq" -> "porque"). Offsets stay those of the original
  message, so extracted entities keep the patient's own words (then synonyms map them to slugs).
- `RedFlagOverride`: runs after the classifiers (and after FallbackClassifier). When the
  deterministic rules (`red_flags.detect`) find a red flag it forces the intent `urgent_symptom`
  with confidence 1.0 (ranking updated) and adds one `red_flag` entity per flag. It also refuses
  to let the FallbackClassifier hide a classifier's urgent guess: when the fallback fired but the
  best real intent was `urgent_symptom`, the message is treated as urgent (a false alarm costs a
  nurse a minute; a missed emergency is a bug). Conversely, an urgent guess of the classifier that
  no rule confirms AND that contains no clinical/distress word at all (`red_flags.has_distress_cue`:
  "combinado", "foto", "enviei sem querer") is replaced by the next intent of the ranking, and so is
  one that the rules explain away: they found the clinical words but judged them negated,
  hypothetical or in the past ("não tenho dor no peito, só quero o check-up", "se eu tiver falta de
  ar no exame?", "tive um desmaio há 2 anos"). Any rule flag, even an unsure one, wins.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import joblib
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from clinic_nlu import red_flags
from clinic_nlu.catalogue import Catalogue, load_catalogue
from clinic_nlu.classifier_features import (
    build_intent_model,
    catalogue_words,
    classifier_text,
    entity_words,
    route_exam_intent,
)
from clinic_nlu.normalize import normalize_for_classifier, normalize_token

logger = logging.getLogger(__name__)

URGENT_INTENT = "urgent_symptom"
FALLBACK_INTENT = "nlu_fallback"
RED_FLAG_ENTITY = "red_flag"
EXTRACTOR = "RedFlagOverride"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class NormalizingTokenizer(WhitespaceTokenizer):
    """Whitespace tokens whose text is normalized pt-BR (offsets unchanged)."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> NormalizingTokenizer:
        return cls(config)

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        tokens = super().tokenize(message, attribute)
        if attribute != TEXT:
            return tokens
        for token in tokens:
            norm = normalize_token(token.text)
            if norm:
                token.text = norm
                token.lemma = norm
        return tokens


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class LinearIntentClassifier(GraphComponent):
    """TF-IDF (word + char n-grams) + linear model over normalized pt-BR text."""

    FILE = "linear_intent.joblib"

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "word_ngrams": [1, 2],
            "char_ngrams": [1, 5],
            "alpha": 1e-5,
            "max_iter": 50,
            "class_weight": "balanced",
            "random_state": 42,
            "ranking_length": 10,
            # booking/confirmation intents about an exam (and not a consultation) -> exam_schedule
            "exam_routing": True,
            # a message with no known word at all ("asdfgh", "qwerty") gets at most this confidence,
            # so FallbackClassifier asks the patient to rephrase instead of guessing
            "unknown_words_max_confidence": 0.1,
            # the clinic's vocabulary (exams, specialties, insurers); None = bot/catalogue.yml
            "catalogue": None,
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: Any = None,
    ) -> None:
        self._config = {**self.get_default_config(), **(config or {})}
        self._model_storage = model_storage
        self._resource = resource
        self._model = model
        self._vocabulary: set[str] | None = None
        self._entity_words: frozenset[str] = frozenset()
        self._catalogue: Catalogue | None = None

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LinearIntentClassifier:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(TEXT)]
        labels = [m.get(INTENT) for m in examples]
        if len(set(labels)) < 2:
            logger.warning("LinearIntentClassifier needs at least 2 intents; not trained")
            return self._resource
        self._catalogue = _configured_catalogue(self._config)
        self._entity_words = entity_words(training_data) | catalogue_words(self._catalogue)
        texts = [classifier_text(m.get(TEXT), self._entity_words, self._catalogue) for m in examples]
        self._model = build_intent_model(self._config).fit(texts, labels)
        self._vocabulary = None
        with self._model_storage.write_to(self._resource) as directory:
            joblib.dump({"model": self._model, "entity_words": self._entity_words, "catalogue": self._catalogue},
                        directory / self.FILE)
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LinearIntentClassifier:
        model = None
        words: frozenset[str] = frozenset()
        catalogue: Catalogue | None = None
        try:
            with model_storage.read_from(resource) as directory:
                path = directory / cls.FILE
                if path.exists():
                    stored = joblib.load(path)
                    model, words = stored["model"], stored["entity_words"]
                    catalogue = stored.get("catalogue")
        except ValueError:
            logger.warning("LinearIntentClassifier: no trained model found")
        component = cls(config, model_storage, resource, model)
        component._entity_words = words
        component._catalogue = catalogue
        return component

    def process(self, messages: list[Message]) -> list[Message]:
        if self._model is None:
            return messages
        todo = [m for m in messages if m.get(TEXT)]
        if not todo:
            return messages
        probas = self._model.predict_proba(
            [classifier_text(m.get(TEXT), self._entity_words, self._catalogue) for m in todo]
        )
        classes = list(self._model.classes_)
        vocabulary = self._word_vocabulary()
        cap = float(self._config["unknown_words_max_confidence"])
        top_n = int(self._config["ranking_length"])
        routing = bool(self._config["exam_routing"]) and "exam_schedule" in classes
        for message, row in zip(todo, probas, strict=True):
            if (
                vocabulary is not None
                and not _has_known_word(message.get(TEXT), vocabulary)
                and not red_flags.has_distress_cue(message.get(TEXT))  # never hide a cry for help
            ):
                row = row * (cap / max(float(row.max()), cap))
            order = sorted(range(len(classes)), key=lambda i: -row[i])
            ranking = [
                {INTENT_NAME_KEY: classes[i], PREDICTED_CONFIDENCE_KEY: float(row[i])} for i in order[:top_n]
            ]
            if routing:
                routed = route_exam_intent(message.get(TEXT), ranking[0][INTENT_NAME_KEY], self._catalogue)
                original = ranking[0][INTENT_NAME_KEY]
                if routed != original:
                    # the exam reading of the request takes the probability of both readings
                    conf = float(row[classes.index(original)] + row[classes.index(routed)])
                    ranking = [{INTENT_NAME_KEY: routed, PREDICTED_CONFIDENCE_KEY: conf}] + [
                        r for r in ranking if r[INTENT_NAME_KEY] not in (routed, original)
                    ]
            message.set(INTENT, dict(ranking[0]), add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages

    def _word_vocabulary(self) -> set[str] | None:
        """Training words, plus their 5-letter prefixes ("socorroo" and "marcaa" are not gibberish)."""
        if self._vocabulary is None:
            try:
                union = self._model.steps[0][1]
                words = {w for w in union.transformer_list[0][1].vocabulary_ if " " not in w}
            except (AttributeError, IndexError, KeyError, TypeError):  # pragma: no cover - foreign model
                return None
            words |= set(catalogue_words(self._catalogue))  # "espirometria?" is no gibberish
            self._vocabulary = words | {"#" + w[:5] for w in words if len(w) >= 5}
        return self._vocabulary


def _has_known_word(text: str, vocabulary: set[str]) -> bool:
    """Any word of the (normalized, emoji-aware) text seen in training, or any number (CPF, date)."""
    for word in re.findall(r"\w+", normalize_for_classifier(text or "")):
        if word in vocabulary or any(ch.isdigit() for ch in word):
            return True
        if len(word) >= 5 and "#" + word[:5] in vocabulary:
            return True
    return False


def _configured_catalogue(config: dict[str, Any]) -> Catalogue:
    """The catalogue named in the component config (path relative to the working directory), or
    bot/catalogue.yml. Read at training time only: the model keeps its own copy."""
    from pathlib import Path

    path = config.get("catalogue")
    return load_catalogue(Path(path)) if path else load_catalogue()


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=True)
class CatalogueEntityExtractor(GraphComponent):
    """Exams, specialties and insurers of bot/catalogue.yml as entities (value = slug).

    Runs after CRFEntityExtractor + EntitySynonymMapper and only fills the gaps: a span already
    covered by an entity is left as the CRF found it. So an exam the clinic adds to the catalogue
    is extracted the day it is added, without new annotated examples.
    """

    FILE = "catalogue.joblib"

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"catalogue": None}

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
                 catalogue: Catalogue | None = None) -> None:
        self._config = {**self.get_default_config(), **(config or {})}
        self._model_storage = model_storage
        self._resource = resource
        self._catalogue = catalogue

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> CatalogueEntityExtractor:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        self._catalogue = _configured_catalogue(self._config)
        with self._model_storage.write_to(self._resource) as directory:
            joblib.dump(self._catalogue, directory / self.FILE)
        return self._resource

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> CatalogueEntityExtractor:
        catalogue = None
        try:
            with model_storage.read_from(resource) as directory:
                if (directory / cls.FILE).exists():
                    catalogue = joblib.load(directory / cls.FILE)
        except ValueError:
            logger.warning("CatalogueEntityExtractor: no catalogue in the model")
        return cls(config, model_storage, resource, catalogue)

    def process(self, messages: list[Message]) -> list[Message]:
        if self._catalogue is None:
            return messages
        for message in messages:
            text = message.get(TEXT)
            if not text:
                continue
            entities = list(message.get(ENTITIES) or [])
            added = False
            for mention in self._catalogue.mentions(text):
                if any(e.get("start", -1) < mention.end and mention.start < e.get("end", -1) for e in entities):
                    continue
                entities.append({
                    "entity": mention.kind, "value": mention.slug, "start": mention.start, "end": mention.end,
                    "confidence_entity": 1.0, "extractor": "CatalogueEntityExtractor",
                })
                added = True
            if added:
                message.set(ENTITIES, entities, add_to_output=True)
        return messages


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class RedFlagOverride(GraphComponent):
    """Deterministic red flags override whatever the classifier said."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # when FallbackClassifier replaced the prediction and the best real intent was urgent,
            # keep it urgent if its confidence is at least this (and the text has a distress cue)
            "urgent_over_fallback_min_confidence": 0.2,
            # demote classifier-only urgent guesses without any clinical/distress word
            "require_distress_cue": True,
            # demote classifier-only urgent guesses whose clinical words the rules judged negated,
            # hypothetical or past (Assessment.dismissed)
            "explained_away": True,
            # a demoted guess whose next intent is below this becomes nlu_fallback (keep it equal
            # to FallbackClassifier's threshold)
            "fallback_threshold": 0.3,
        }

    def __init__(self, config: dict[str, Any]) -> None:
        self._config = {**self.get_default_config(), **(config or {})}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> RedFlagOverride:
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._process_one(message)
        return messages

    def _process_one(self, message: Message) -> None:
        text = message.get(TEXT)
        if not text:
            return
        assessment = red_flags.assess(text)
        flags = assessment.flags
        if flags:
            self._force_urgent(message)
            entities = [e for e in (message.get(ENTITIES) or []) if e.get("entity") != RED_FLAG_ENTITY]
            for flag in flags:
                entity: dict[str, Any] = {
                    "entity": RED_FLAG_ENTITY,
                    "value": flag.code,
                    "extractor": EXTRACTOR,
                    "confidence_entity": 1.0,
                }
                if flag.start >= 0:
                    entity["start"] = flag.start
                    entity["end"] = flag.end
                entities.append(entity)
            message.set(ENTITIES, entities, add_to_output=True)
            return
        intent = message.get(INTENT) or {}
        ranking = message.get(INTENT_RANKING_KEY) or []
        distress = red_flags.has_distress_cue(text)
        if intent.get(INTENT_NAME_KEY) == FALLBACK_INTENT:
            best = _best_real_intent(ranking)
            min_conf = float(self._config["urgent_over_fallback_min_confidence"])
            if (
                best
                and best.get(INTENT_NAME_KEY) == URGENT_INTENT
                and best.get(PREDICTED_CONFIDENCE_KEY, 0) >= min_conf
                and distress
                and not assessment.dismissed
            ):
                message.set(
                    INTENT,
                    {INTENT_NAME_KEY: URGENT_INTENT, PREDICTED_CONFIDENCE_KEY: best[PREDICTED_CONFIDENCE_KEY]},
                    add_to_output=True,
                )
        elif intent.get(INTENT_NAME_KEY) == URGENT_INTENT and (
            (self._config["require_distress_cue"] and not distress)
            or (self._config["explained_away"] and assessment.dismissed)
        ):
            rest = [r for r in ranking if r.get(INTENT_NAME_KEY) not in (URGENT_INTENT, FALLBACK_INTENT)]
            threshold = float(self._config["fallback_threshold"])
            if rest and rest[0].get(PREDICTED_CONFIDENCE_KEY, 0) >= threshold:
                new = {
                    INTENT_NAME_KEY: rest[0][INTENT_NAME_KEY],
                    PREDICTED_CONFIDENCE_KEY: rest[0][PREDICTED_CONFIDENCE_KEY],
                }
            else:
                new = {INTENT_NAME_KEY: FALLBACK_INTENT, PREDICTED_CONFIDENCE_KEY: threshold}
            message.set(INTENT, new, add_to_output=True)
            message.set(
                INTENT_RANKING_KEY,
                [new] + [r for r in ranking if r.get(INTENT_NAME_KEY) != new[INTENT_NAME_KEY]],
                add_to_output=True,
            )

    @staticmethod
    def _force_urgent(message: Message) -> None:
        message.set(INTENT, {INTENT_NAME_KEY: URGENT_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0}, add_to_output=True)
        ranking = [r for r in (message.get(INTENT_RANKING_KEY) or []) if r.get(INTENT_NAME_KEY) != URGENT_INTENT]
        ranking.insert(0, {INTENT_NAME_KEY: URGENT_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0})
        message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)


def _best_real_intent(ranking: list[dict[str, Any]]) -> dict[str, Any] | None:
    for item in ranking:
        if item.get(INTENT_NAME_KEY) != FALLBACK_INTENT:
            return item
    return None
