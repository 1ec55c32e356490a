"""What LinearIntentClassifier sees of a message, and the model it fits.

`classifier_text`: normalized text plus lexicon cue tokens (money words, exam words, complaint
words...; the clinic's catalogue of exams, specialties and insurers); `route_exam_intent`: booking
and confirmation intents whose object is an exam become `exam_schedule`; `build_intent_model`: the
TF-IDF (word 1-2-grams + char 1-5-grams) + SGD logistic pipeline. Moved out of components.py so
the Rasa glue stays apart from the features; tested through tests/bot (classifier behaviour).
"""

from __future__ import annotations

import re
from typing import Any

from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.training_data import TrainingData

from clinic_nlu.catalogue import Catalogue
from clinic_nlu.figurative import mask_figurative
from clinic_nlu.normalize import normalize_for_classifier

__all__ = ["build_intent_model", "catalogue_words", "classifier_text", "entity_words", "route_exam_intent"]


# Lexicon cues added to the classifier text as extra tokens (like Rasa lookup tables feeding
# RegexFeaturizer): words that, whatever the rest of the sentence, point to one kind of request.
# They let the linear model generalize from a few examples to unseen combinations.
_LEXICON: dict[str, Any] = {
    "lexcomplaint": re.compile(
        r"\b(?:absurd\w*|pessim\w*|horrivel|horriveis|descaso|desrespeit\w*|revoltad\w*|indignad\w*|"
        r"lamentavel|decepciona\w*|vergonha|palhacada|ridicul\w*|lixo|porcaria|insatisfeit\w*|"
        r"reclama\w*|queixa|procon|reclame\s+aqui|processar|justica|denunci\w*|grosseir\w*|grosso|grossa|"
        r"mal\s+educad\w*|mal\s+atendid\w*|destratad\w*|desorganizad\w*|incompetent\w*|inutil|burro|"
        r"nao\s+(?:entende|responde|atende|resolve)\w*|ninguem\s+(?:responde|atende|resolve|explica)\w*|"
        r"nao\s+serve\s+(?:para|pra)\s+nada|nao\s+funciona\w*|travand\w*|sem\s+resposta|nunca\s+mais\s+volto|"
        r"nao\s+recomendo|pior\s+(?:clinica|atendimento|lugar|experiencia)|cansad[oa]\s+disso|"
        r"(?:veio|vieram|cobranca|cobrado|marcaram|marcado)\s+(?:\w+\s+)?errad\w*|trocaram\s+(?:o|a|os|as|meu|minha)|"
        r"perderam\s+(?:o|a|os|as|meu|minha)|esperando\s+ate\s+agora|"
        r"sem\s+avisar|nem\s+avisaram|demora\w*|atras\w*|esperando\s+ha|esperei)\b"
    ),
    "lexhuman": re.compile(
        r"\b(?:atend[ea]nte\w*|humano|pessoa\s+(?:real|de\s+verdade)|gente\s+de\s+verdade|operador\w*|"
        r"transfer\w*|me\s+lig\w*|ligue|ligar\s+(?:para|pra)\s+mim|robo|recepcionista|secretaria)\b"
    ),
    "lexmedadvice": re.compile(
        r"\b(?:posso\s+(?:tomar|misturar|usar|passar|dar)|qual\s+(?:remedio|antibiotico|pomada|dose)|"
        r"que\s+remedio|quantas\s+gotas|me\s+receita|receitar|dosagem|e\s+grave|e\s+normal|o\s+que\s+significa|"
        r"o\s+que\s+pode\s+ser|o\s+que\s+e\s+(?:melhor|bom)\s+(?:para|pra)|qual\s+(?:e\s+)?o\s+melhor\s+remedio)\b"
    ),
    "lexjobs": re.compile(
        r"\b(?:emprego|curriculo|contratando|contratam|estagio|trabalhar\s+(?:ai|na\s+clinica|com\s+voces)|"
        r"vaga\s+(?:de\s+emprego|pra\s+(?:recepcionista|enfermeir\w+|trabalhar))|fornecedor|"
        r"representante|parceria|vender\s+(?:um|meu|nosso)|vendas\s+de|anunciar)\b"
    ),
    "lexexam": re.compile(
        r"\b(?:exames?|coleta|laboratorio|ultrassom\w*|ultrasom|ultrason|usg|mamografia|raio[\s-]?x|rx|"
        r"radiografia|eletro\w*|ecg|eco|ecocardio\w*|hemograma|glicemia|colesterol|tsh|urina|tomografia|"
        r"ressonancia|endoscopia|holter|laudo|resultado)\b"
    ),
    # money words: prices, payments, refunds, receipts, debts, coverage ("cobrado em dobro", "estorno")
    "lexbilling": re.compile(
        r"\b(?:quanto\s+(?:custa|sai|fica|e|cobra\w*)|valor\w*|preco\w*|taxa\w*|cobra\w*|custo\w*|pag[aouei]\w*|"
        r"estorn\w*|reembols\w*|devolu\w*|recibo\w*|nota\s+fiscal|orcamento\w*|parcel\w*|credenciad\w*|"
        r"boleto\w*|pix|cartao|fatura\w*|duplicidade|em\s+dobro|debito\w*|divida\w*|desconto\w*|a\s+vista|"
        r"convenio\w*|plano\s+de\s+saude|mensalidade\w*|imposto\s+de\s+renda)\b"
    ),
    # the patient's own data as such (LGPD requests, the privacy notice): "meus dados", "lgpd"
    "lexprivacy": re.compile(
        r"\b(?:lgpd|privacidade|dados\s+pessoais|(?:meus|seus|nossos|dos\s+meus)\s+dados|"
        r"consentimento|anonimiz\w*|cadastro|titular)\b"
    ),
    # giving an appointment up: "desistir", "desmarcar", "abrir mão do horário" (confirmation's cancel,
    # even when the message also names the doctor and says "consulta", which lean to booking)
    "lexcancel": re.compile(
        r"\b(?:desist\w*|desisto|cancel\w*|desmarc\w*|abrir\s+mao|abro\s+mao|liber\w+\s+(?:a|o|minha|meu)\s+"
        r"(?:vaga|horario)|nao\s+vou\s+(?:mais\s+)?(?:poder\s+)?(?:ir|comparecer))\b"
    ),
    "lexconsult": re.compile(
        r"\b(?:consulta\w*|retorno|medic[oa]s?|doutora?|dra?|clinico|cardio\w*|dermato\w*|pediatra|"
        r"pediatria|gineco\w*|obstetra|orto\w*|oftalmo\w*|oculista|endocrino\w*|especialista)\b"
    ),
}

# Intents that, when the message is about an exam and not about a consultation, belong to the
# `exams` reason ("cancelar o exame", "remarcar a mamografia", "tem vaga pro ultrassom?").
_EXAM_ROUTED_INTENTS = {
    "book_appointment",
    "reschedule_appointment",
    "cancel_appointment",
    "ask_availability",
    "confirm_appointment",
    "check_appointment",
}


# words that may surround a bare entity answer ("a mamografia", "com o dr andre", "pela unimed")
_ANSWER_FILLERS = frozenset("o a os as e com pela pelo pro pra para de do da no na um uma".split())


def entity_words(training_data: TrainingData) -> frozenset[str]:
    """Normalized words of every annotated entity and synonym of the training data."""
    words: set[str] = set()
    for message in training_data.training_examples:
        text = message.get(TEXT) or ""
        for entity in message.get(ENTITIES) or []:
            if "start" in entity and "end" in entity:
                words.update(re.findall(r"\w+", normalize_for_classifier(text[entity["start"] : entity["end"]])))
    for key in training_data.entity_synonyms:
        words.update(re.findall(r"\w+", normalize_for_classifier(str(key))))
    return frozenset(words)


# catalogue kind -> the lexicon cue a message naming one of its terms gets
_CATALOGUE_CUES = {"exam": "lexexam", "specialty": "lexconsult", "insurer": "lexinsurer"}


def catalogue_words(catalogue: Catalogue | None) -> frozenset[str]:
    """Every word of every catalogue term ("holter", "espirometria", "otorrino")."""
    if catalogue is None:
        return frozenset()
    return frozenset(w for terms in catalogue.terms.values() for term in terms for w in re.findall(r"\w+", term))


def classifier_text(text: str, known_entity_words: frozenset[str] | None = None,
                    catalogue: Catalogue | None = None) -> str:
    """Normalized text + lexicon cue tokens (what LinearIntentClassifier sees).

    With a `catalogue` (bot/catalogue.yml), naming any of its exams, specialties or insurers adds
    that kind's cue, so an exam never seen in training ("vcs fazem holter?") still reads as one.

    `lexonlyentity` marks a message made only of entity words (a bare answer to a question of a
    flow: "dermatologia", "a mamografia", "unimed", "com o dr andre", a CPF): those are `inform`,
    whatever the entity's usual intent.
    """
    norm = normalize_for_classifier(text)
    # idioms with emergency words ("morri de rir", "quase infartei com o preço") become one cue token
    masked = mask_figurative(norm)
    figurative = masked != norm
    norm = " ".join(masked.split())
    cues = [name for name, rx in _LEXICON.items() if rx.search(norm)]
    if catalogue is not None:
        cues += [cue for kind in sorted(catalogue.kinds_in(norm)) if (cue := _CATALOGUE_CUES[kind]) not in cues]
    if figurative:
        cues.append("lexfigurative")
    if known_entity_words:
        words = [w for w in re.findall(r"\w+", norm) if w not in _ANSWER_FILLERS]
        if words and all(w in known_entity_words or w.isdigit() for w in words):
            cues.append("lexonlyentity")
    return norm + (" " + " ".join(cues) if cues else "")


def route_exam_intent(text: str, intent: str, catalogue: Catalogue | None = None) -> str:
    """`exam_schedule` for booking/confirmation intents whose object is an exam, else `intent`."""
    if intent not in _EXAM_ROUTED_INTENTS:
        return intent
    norm = normalize_for_classifier(text)
    kinds = catalogue.kinds_in(norm) if catalogue is not None else set()
    exam = bool(_LEXICON["lexexam"].search(norm)) or "exam" in kinds
    consult = bool(_LEXICON["lexconsult"].search(norm)) or "specialty" in kinds
    if exam and not consult:
        return "exam_schedule"
    return intent


def build_intent_model(config: dict[str, Any]) -> Any:
    """The sklearn pipeline behind LinearIntentClassifier (also used by experiments)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import SGDClassifier
    from sklearn.pipeline import make_pipeline, make_union

    words = TfidfVectorizer(
        analyzer="word",
        ngram_range=tuple(config["word_ngrams"]),
        token_pattern=r"(?u)\b\w+\b",  # noqa: S106 - a regular expression, not a password
        sublinear_tf=True,
        lowercase=False,
    )
    chars = TfidfVectorizer(
        analyzer="char_wb", ngram_range=tuple(config["char_ngrams"]), sublinear_tf=True, lowercase=False
    )
    clf = SGDClassifier(
        loss="log_loss",
        alpha=float(config["alpha"]),
        max_iter=int(config["max_iter"]),
        tol=None,
        class_weight=config.get("class_weight"),
        random_state=int(config["random_state"]),
    )
    return make_pipeline(make_union(words, chars), clf)
