"""Rasa 3.6 NLU components of the clinic bot (referenced from bot/config.yml; PYTHONPATH=bot).

- `NormalizingTokenizer`: the WhitespaceTokenizer, but every token's text is replaced by its
  normalized form (`normalize.normalize_token`: no accents, lowercase, WhatsApp abbreviations
  expanded: "vc" -> "voce", "qro" -> "quero", "pq" -> "porque"). Offsets stay those of the original
  message, so extracted entities keep the patient's own words (then synonyms map them to slugs).
- `RedFlagOverride`: runs after the classifiers (and after FallbackClassifier). When the
  deterministic rules (`red_flags.detect`) find a red flag it forces the intent `urgent_symptom`
  with confidence 1.0 (ranking updated) and adds one `red_flag` entity per flag. It also refuses
  to let the FallbackClassifier hide a classifier's urgent guess: when the fallback fired but the
  best real intent was `urgent_symptom`, the message is treated as urgent (a false alarm costs a
  nurse a minute; a missed emergency is a bug).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

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
from clinic_nlu.normalize import normalize_token

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
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "NormalizingTokenizer":
        return cls(config)

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        tokens = super().tokenize(message, attribute)
        if attribute != TEXT:
            return tokens
        for token in tokens:
            norm = normalize_token(token.text)
            if norm:
                token.text = norm
                token.lemma = norm
        return tokens


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class RedFlagOverride(GraphComponent):
    """Deterministic red flags override whatever the classifier said."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            # when FallbackClassifier replaced the prediction and the best real intent was urgent,
            # keep it urgent if its confidence is at least this
            "urgent_over_fallback_min_confidence": 0.2,
        }

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._config = {**self.get_default_config(), **(config or {})}

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "RedFlagOverride":
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._process_one(message)
        return messages

    def _process_one(self, message: Message) -> None:
        text = message.get(TEXT)
        if not text:
            return
        flags = red_flags.detect(text)
        if flags:
            self._force_urgent(message)
            entities = [e for e in (message.get(ENTITIES) or []) if e.get("entity") != RED_FLAG_ENTITY]
            for flag in flags:
                entity: Dict[Text, Any] = {
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
        if intent.get(INTENT_NAME_KEY) == FALLBACK_INTENT:
            best = _best_real_intent(message.get(INTENT_RANKING_KEY) or [])
            min_conf = float(self._config["urgent_over_fallback_min_confidence"])
            if best and best.get(INTENT_NAME_KEY) == URGENT_INTENT and best.get(PREDICTED_CONFIDENCE_KEY, 0) >= min_conf:
                message.set(
                    INTENT,
                    {INTENT_NAME_KEY: URGENT_INTENT, PREDICTED_CONFIDENCE_KEY: best[PREDICTED_CONFIDENCE_KEY]},
                    add_to_output=True,
                )

    @staticmethod
    def _force_urgent(message: Message) -> None:
        message.set(INTENT, {INTENT_NAME_KEY: URGENT_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0}, add_to_output=True)
        ranking = [r for r in (message.get(INTENT_RANKING_KEY) or []) if r.get(INTENT_NAME_KEY) != URGENT_INTENT]
        ranking.insert(0, {INTENT_NAME_KEY: URGENT_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0})
        message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)


def _best_real_intent(ranking: List[Dict[Text, Any]]) -> Optional[Dict[Text, Any]]:
    for item in ranking:
        if item.get(INTENT_NAME_KEY) != FALLBACK_INTENT:
            return item
    return None
