"""Red flags as clinical concepts: findings combined by discriminators of a triage protocol.

The phrase rules of `red_flags.py` catch how an emergency is usually NAMED ("dor no peito",
"falta de ar"). Patients often describe one instead, in lay words and in pieces: "suando frio,
enjoado e com o braço pesado, ele é diabético". Phrase lists do not generalise to that, so this
module works one level up:

1. FINDINGS: small detectors of single clinical findings in normalized text (a site of pain, cold
   sweat, nausea, a sudden onset, a baby, a pregnancy...). Each is a regex over the output of
   `normalize.normalize_with_offsets` (lowercase, no accents, abbreviations expanded).
2. CONTEXT: who the patient is (baby, child, pregnant or postpartum, older or at cardiovascular
   risk), found in the whole message.
3. DISCRIMINATORS (`CONCEPT_RULES`): plain predicates over the set of findings that are present
   (the caller, `red_flags.detect`, drops negated, hypothetical and clearly remote findings with
   the same clause logic as the phrase rules). Each cites the protocol item it models: the
   Manchester Triage System (MTS, Grupo Brasileiro de Classificação de Risco edition) flowcharts
   and discriminators, and the Ministério da Saúde / SAMU 192 protocols (Protocolos de Suporte
   Básico de Vida). A concept only needs to be plausible to fire: the clinical team sees the
   `why` in the handoff note and decides in a minute; a missed emergency is the error we avoid.

Pure functions, no Rasa imports; tested in tests/bot/test_red_flag_concepts.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from clinic_nlu.concept_vocab import NUM as _NUM
from clinic_nlu.concept_vocab import rx as _rx
from clinic_nlu.findings_circulation import FINDINGS_CIRCULATION
from clinic_nlu.findings_neuro import FINDINGS_NEURO
from clinic_nlu.findings_situations import FINDINGS_SITUATIONS

__all__ = ["CONCEPT_RULES", "CONTEXTS", "FINDINGS", "ConceptRule", "Finding"]


# --- single findings ------------------------------------------------------------------------------

# name -> pattern over normalized text. Names are stable codes (they appear in the handoff note).
FINDINGS: dict[str, re.Pattern[str]] = {**FINDINGS_CIRCULATION, **FINDINGS_NEURO, **FINDINGS_SITUATIONS}

# --- who the patient is (searched in the whole message) ---------------------------------------------


CONTEXTS: dict[str, re.Pattern[str]] = {
    # infants: MTS Unwell baby (under 1 year); fever under 3 months is always an emergency
    "baby": _rx(
        r"bebe(?:s|zinh[oa]s?)?", r"nene(?:s|zinh[oa]s?)?", r"recem\s+nascid\w+", r"lactente", r"neonat\w*",
        _NUM + r"\s+(?:mes|meses|dias|semanas)(?:inho|inhos)?\s+de\s+(?:vida|idade|nascid\w+)",
        r"(?:filh\w+|crianca|menin[oa]|net[oa]|netinh[oa]|sobrinh\w+)\s+(?:\w+\s+)?(?:de|com|tem)\s+" + _NUM
        + r"\s+(?:mes|meses|dias|semanas)",
        r"nasceu\s+(?:ha|faz)\s+" + _NUM + r"\s+(?:mes|meses|dias|semanas)",
        r"mama(?:ndo|r)?\s+no\s+peito",
    ),
    "child": _rx(
        r"filh\w+", r"crianc\w+", r"menin[oa]\w*", r"garot[oa]\w*", r"sobrinh\w+", r"net[oa]s?", r"enteado\w*",
        r"pequen[oa]", r"(?:[1-9]|1[0-2])\s+anos(?:\s+de\s+idade)?", r"pediatr\w+",
    ),
    "pregnant": _rx(
        r"gravid\w*", r"gestante", r"gestacao", r"gravidez", r"gestando", r"prenhe",
        r"\d+\s+(?:semanas|meses)\s+(?:de\s+)?(?:gestacao|gravidez|gravida|barriga)",
        r"(?:barriga|barrigao)\s+de\s+" + _NUM + r"\s+(?:semanas|meses)",
        r"(?:gestacao|gravidez)\s+(?:\w+\s+){0,2}?" + _NUM + r"\s+(?:semanas|meses)",
        r"esperando\s+(?:um\s+|uma\s+|o\s+|meu\s+)?(?:bebe|nene|filho|filha|menino|menina)",
        r"pre\s*-?\s*natal", r"obstetra",
        r"(?:estou|esta|ela\s+esta|eu\s+estou)\s+de\s+(?:\d{1,2}|um|dois|tres|quatro|cinco|seis|sete|oito|nove)\s+(?:semanas|meses)",
        # "to com 34 semanas" (first person: "ele ta com 3 semanas" is a baby's age)
        r"(?:to|estou|eu\s+to|eu\s+estou)\s+com\s+(?:[4-9]|[1-3]\d|4[0-2])\s+semanas",
        # 20 to 42 weeks is a gestational age (a baby's age is said in months by then)
        r"(?:[2-3]\d|4[0-2])\s+semanas(?!\s+de\s+(?:vida|nascid\w+|idade))",
    ),
    # puerperium: the MS alarm signs of pregnancy apply up to 42 days after birth, plus fever
    "postpartum": _rx(
        r"puerper\w*", r"resguardo", r"pos\s*-?\s*parto", r"dei\s+a\s+luz", r"pari\b",
        r"ganhei\s+(?:o\s+|meu\s+|minha\s+)?(?:bebe|nene|filho|filha|nenem)",
        r"(?:cesarea|cesariana|parto\s+normal)\s+(?:\w+\s+){0,2}?(?:ha|faz)\s+\w+\s+(?:dias|semanas)",
        r"(?:tive|teve)\s+(?:o\s+|meu\s+)?(?:bebe|nene|filho|parto)\s+(?:ha|faz)\s+\w+\s+(?:dias|semanas)",
        r"(?:tive|teve|ganhei|ganhou)\s+(?:o\s+|meu\s+|a\s+|minha\s+)?(?:bebe|nene|nenem|filho|filha|parto)\s+(?:\w+\s+)?"
        r"(?:semana\s+passada|ontem|anteontem|essa\s+semana|nessa\s+semana|esse\s+mes)",
        r"(?:tive|teve|ganhei|ganhou)\s+(?:o\s+|meu\s+|a\s+|minha\s+|um\s+|uma\s+)?(?:bebe|nene|nenem|filho|filha|"
        r"parto|menino|menina)\s+(?:\w+\s+)?(?:ha|faz)\s+(?:\d+|um|uma|dois|duas|tres|quatro|cinco|seis)\s+(?:dias|semanas)",
    ),
    # cardiovascular risk (ESC/AHA: atypical ACS presentations are commoner in older, diabetic people
    # and women)
    "cardiovascular_risk": _rx(
        r"diabet\w*", r"hipertens\w*", r"pressao\s+alta", r"cardiac\w*", r"cardiopat\w*", r"infart\w*",
        r"ponte\s+de\s+safena", r"stent", r"marca\s*-?\s*passo", r"colesterol\s+alto", r"fumante", r"fuma\b",
        r"idos[oa]\w*", r"avo\b", r"avos\b", r"vovo\w*", r"bisavo\w*",
        r"(?:[5-9]\d|1[01]\d)\s+anos", r"(?:meu|minha)\s+(?:pai|mae|sogr[oa]|marido|esposo|esposa|tio|tia)",
    ),
    "dengue": _rx(
        r"(?:to|estou|esta|ta|com|pegou|peguei|deu|suspeita\s+de|resultado\s+d[ao])\s+(?:\w+\s+)?dengue",
        r"dengue\s+(?:\w+\s+)?(?:positiv\w+|confirmad\w+)", r"positiv\w+\s+(?:\w+\s+)?(?:pra|para|de)\s+dengue",
        r"(?:a\s+)?febre\s+(?:\w+\s+)?(?:passou|baixou|sumiu|foi\s+embora)\s+(?:\w+\s+){0,4}?(?:e\s+)?(?:hoje|agora|mas|e)",
    ),
    "diabetic": _rx(r"diabet\w*", r"insulina", r"glicemia", r"glicose", r"dextro"),
    # older adults (Estatuto da Pessoa Idosa: 60+; delirium and atypical sepsis are commoner)
    "elderly": _rx(
        r"idos[oa]s?", r"avo\b", r"avos\b", r"vovo\w*", r"bisavo\w*", r"(?:6\d|[7-9]\d|1[01]\d)\s+anos",
        r"(?:minha|a|da|pra|para|na)\s+vo\b", r"vozinha",
        r"senhora\s+de", r"senhor\s+de", r"(?:lar|casa)\s+de\s+(?:idosos|repouso)", r"do\s+lar\b", r"cuidadora?",
    ),
}


@dataclass(frozen=True)
class Finding:
    """A finding present in the message (not negated, hypothetical or remote), with its span."""

    name: str
    start: int
    end: int


@dataclass(frozen=True)
class ConceptRule:
    """A discriminator: `applies(findings, contexts)` -> fires; `anchor` = the finding whose span
    is reported; `why` (pt-BR, for the team's handoff note) cites the protocol item."""

    code: str
    category: str
    why: str
    applies: Callable[[Mapping[str, Finding], frozenset[str]], bool]
    anchors: tuple[str, ...]


def _any(found: Mapping[str, Finding], *names: str) -> bool:
    return any(n in found for n in names)


def _count(found: Mapping[str, Finding], *names: str) -> int:
    return sum(1 for n in names if n in found)


_AUTONOMIC = ("cold_sweat", "nausea_vomiting", "dyspnoea", "presyncope", "sudden_fatigue", "pallor")
_ATYPICAL_SITE = ("pain_jaw_neck", "arm_symptom", "pain_upper_back", "pain_epigastric", "chest_discomfort")
_CARDIAC_PAIN = ("radiating_pain",)


def _acs(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Chest pain, discriminator "cardiac pain" (very urgent); ESC 2023 ACS guideline on
    # atypical presentations: an ischaemic site + autonomic features, two ischaemic sites at once
    # (jaw and arm), or (in a person at risk) a cluster of autonomic features with no pain at all.
    if _any(found, *_ATYPICAL_SITE) and _any(found, *_AUTONOMIC, "palpitation"):
        return True
    if _count(found, *_ATYPICAL_SITE) >= 2 or _any(found, *_CARDIAC_PAIN):
        return True
    autonomic = _count(found, *_AUTONOMIC)
    return autonomic >= 3 or (autonomic >= 2 and "cold_sweat" in found and "cardiovascular_risk" in ctx)


def _obstetric(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Pregnancy flowchart (any gestational age) + MS "sinais de alerta na gestação e no
    # puerpério": vaginal bleeding, loss of fluid, reduced fetal movements, severe headache or visual
    # disturbance (pre-eclampsia), sudden swelling with headache or high pressure, seizure, severe
    # abdominal pain or contractions; in the puerperium also fever (puerperal infection).
    pregnant, postpartum = "pregnant" in ctx, "postpartum" in ctx
    if not (pregnant or postpartum):
        return False
    if postpartum and _any(found, "fever_or_hot", "vaginal_bleeding", "severe_headache", "visual_disturbance",
                           "dyspnoea", "self_harm_warning"):
        return True
    if not pregnant:
        return False
    if _any(found, "vaginal_bleeding", "fluid_loss", "reduced_fetal_movement", "visual_disturbance",
            "severe_headache", "seizure_like", "severe_abdominal_pain", "high_blood_pressure"):
        return True
    if "abdominal_pain" in found and "disabling_pain" in found:  # severe abdominal pain, told in lay words
        return True
    if "presyncope" in found and _any(found, "abdominal_pain", "disabling_pain", "sudden_severe_pain"):
        return True  # pain with faintness: ectopic pregnancy early, abruption later (MS, Gestação de Alto Risco)
    if "sudden_swelling" in found and _any(found, "headache", "high_blood_pressure", "visual_disturbance"):
        return True
    return "headache" in found and _any(found, "presyncope", "nausea_vomiting", "sudden_swelling")


def _anaphylaxis(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Allergy flowchart: airway compromise, stridor, facial/tongue oedema, shock; WAO 2020
    # anaphylaxis criteria: skin/mucosa involvement + respiratory or circulatory compromise, or
    # two systems (skin, breathing, circulation, gut) after a likely allergen.
    if "face_tongue_swelling" in found and _any(found, "allergen_exposure", "hives", "dyspnoea"):
        return True
    if "hives" in found and _any(found, "dyspnoea", "presyncope", "face_tongue_swelling"):
        return True
    if "allergen_exposure" in found and "hives" in found and _any(found, "nausea_vomiting", "lethargy", "pallor"):
        return True
    return (
        "allergen_exposure" in found
        and _any(found, "dyspnoea")
        and _any(found, "hives", "face_tongue_swelling", "presyncope")
    )


def _child_breathing(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Shortness of breath in children: increased work of breathing (recession, grunting, nasal
    # flaring, fast breathing) is very urgent.
    return "child_respiratory_distress" in found and _any_ctx(ctx, "baby", "child")


def _unwell_baby(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Unwell baby: "floppy", not feeding, signs of dehydration (sunken fontanelle, no urine),
    # "hot baby" (any fever under 3 months: MS AIDPI Neonatal).
    if "baby" not in ctx:
        return False
    return _any(found, "lethargy", "fever_or_hot", "dehydration")


def _meningitis(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS discriminators "non-blanching rash" and "meningism"; MS Guia de Vigilância: fever +
    # petechiae or neck stiffness = suspected meningococcal disease.
    return ("purpuric_rash" in found and _any(found, "fever_or_hot", "lethargy", "stiff_neck")) or (
        "stiff_neck" in found and _any(found, "fever_or_hot", "severe_headache", "nausea_vomiting", "lethargy")
    )


def _glycaemic(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Diabetes flowchart: hypoglycaemia or hyperglycaemia with altered conscious level,
    # sweating or vomiting.
    if "extreme_glucose" in found:
        return True
    if "hyperglycaemia_signs" in found and _any(found, "nausea_vomiting", "tachy", "dyspnoea", "confusion",
                                                "disoriented", "lethargy"):
        return True
    return (
        "diabetic" in ctx
        and _any(found, "confusion", "disoriented")
        and _any(found, "cold_sweat", "trembling", "presyncope", "lethargy")
    )


def _acute_abdomen(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Abdominal pain in adults: severe pain is very urgent, more so with vomiting, collapse,
    # sweating or fever (peritonitis, obstruction, ruptured viscus, pancreatitis, appendicitis,
    # obstructed infected kidney).
    if "severe_abdominal_pain" in found and _any(
        found, "nausea_vomiting", "presyncope", "cold_sweat", "fever_or_hot", "pallor", "sudden_fatigue"
    ):
        return True
    # "a dor na barriga não deixa eu ficar em pé, já vomitei três vezes": severe pain told by what it
    # stops the patient doing, with vomiting, collapse, sweating, fever or a sudden onset
    if "abdominal_pain" in found and "disabling_pain" in found and _any(
        found, "nausea_vomiting", "presyncope", "cold_sweat", "fever_or_hot", "pallor", "sudden_fatigue", "acute_onset"
    ):
        return True
    if "abdominal_pain" in found and (
        "abdominal_alarm" in found or _count(found, "fever_or_hot", "nausea_vomiting") == 2
    ):
        return True
    return "abdominal_alarm" in found and "nausea_vomiting" in found


def _stroke(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # SAMU / Ministério da Saúde "SAMU (FAST)": face, arm, speech, time; BE-FAST adds balance and
    # eyes. Face droop, speech disturbance or sudden visual loss alone; limb weakness or ataxia with
    # a sudden onset, another deficit, confusion or a person at risk.
    # A one-sided numb face counts too (AHA/ASA BE-FAST "sudden numbness of the face, one side"),
    # unless a local anaesthetic explains it.
    if _any(found, "face_droop", "speech_disturbance", "sudden_vision_loss"):
        return True
    if "face_numbness" in found and "local_anaesthesia" not in found:
        return True
    if _any(found, "limb_weakness", "ataxia"):
        return (_any(found, "sudden_fatigue", "confusion", "presyncope", "severe_headache", "sudden_severe_pain")
                or _count(found, "limb_weakness", "ataxia") == 2 or "cardiovascular_risk" in ctx)
    return False


def _haemorrhage(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Haemorrhage / GI bleeding: "uncontrollable major haemorrhage" and bleeding with signs of
    # shock (dizziness, pallor, weakness); any bleeding on anticoagulants (warfarin, DOACs).
    # Vomiting blood or "coffee grounds" is very urgent on its own (MTS GI bleeding).
    return ("bleeding_any" in found and _any(
        found, "bleeding_uncontrolled", "presyncope", "pallor", "sudden_fatigue", "anticoagulated", "cold_sweat",
        "recent_surgery", "weakness"
    )) or "deep_wound" in found or "haematemesis" in found


def _seizure(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Fits: currently fitting, repeated or prolonged (> 5 min: status epilepticus), first fit.
    return _any(found, "seizure_signs", "seizure_like")


def _altered_consciousness(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Collapsed adult / Unwell adult: "altered conscious level", "unresponsive".
    return "unresponsive" in found


def _poisoning(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Overdose and poisoning (CIATox): an ingestion by mistake or in quantity; a toxic substance
    # with any symptom, or in a child (toxic exposure in children is always seen at once).
    if "toxic_ingestion" in found:
        return True
    return "toxic_exposure" in found and (
        _any_ctx(ctx, "baby", "child")
        or _any(found, "nausea_vomiting", "cold_sweat", "trembling", "cholinergic", "presyncope", "confusion",
                "lethargy", "dyspnoea", "unresponsive", "face_tongue_swelling", "palpitation")
    )


def _swallowed_object(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Foreign body / Shortness of breath: an object swallowed that stuck (drooling, unable to
    # swallow, choking, breathless, vomiting); SBP: button batteries and magnets are removed at once
    # (toxic_exposure holds them).
    return "swallowed_object" in found and _any(found, "cannot_swallow", "dyspnoea", "nausea_vomiting")


def _dengue_alarm(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # Ministério da Saúde, "Dengue: diagnóstico e manejo clínico" (2024), sinais de alarme: intense
    # abdominal pain, persistent vomiting, mucosal bleeding, lethargy or irritability, postural
    # dizziness/hypotension; they come as the fever falls.
    return "dengue" in ctx and _any(found, "bleeding_any", "abdominal_pain", "abdominal_alarm", "lethargy",
                                    "presyncope", "drowsy")


def _sudden_severe_pain(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS general discriminators "severe pain" + "abrupt onset"; tearing pain (aortic dissection);
    # a cold, pale, painful limb (acute limb ischaemia).
    return _any(found, "sudden_severe_pain", "tearing_pain", "cold_pale_limb")


def _hypoxia(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Shortness of breath: SpO2 < 92-95% on air is very urgent; stridor (noisy breath in).
    return "hypoxia" in found


def _torsion(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Testicular pain: any testicular pain of sudden onset in a child or young man is very urgent
    # (torsion: the testis is lost after ~6 h).
    return "testicular_pain" in found


def _new_neuro(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Behaving strangely / Headache: acute confusion; SAMU: confusion + headache or weakness.
    return "confusion" in found and _any(found, "severe_headache", "sudden_fatigue", "visual_disturbance", "presyncope")


def _febrile_immunosuppressed(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Unwell adult / "hot adult": fever in an immunosuppressed patient is very urgent (febrile
    # neutropenia after chemotherapy: MASCC / INCA guidance, antibiotics within 1 hour).
    return "immunosuppressed" in found and "fever_or_hot" in found


def _any_ctx(ctx: frozenset[str], *names: str) -> bool:
    return any(n in ctx for n in names)


def _arrhythmia(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Palpitations: palpitations with presyncope, breathlessness, chest discomfort or sweating
    # (haemodynamic compromise) are very urgent.
    return "palpitation" in found and _any(found, "presyncope", "dyspnoea", "chest_discomfort", "cold_sweat", "pallor")


def _thrombosis(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Limb problems ("swollen painful calf") and Shortness of breath (pleuritic pain, PE):
    # a swollen painful leg after immobility, or with breathlessness or chest pain.
    return "swollen_painful_leg" in found and (
        "immobility" in found or _any(found, "dyspnoea", "chest_discomfort", "presyncope", "palpitation")
    )


def _heart_failure(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Shortness of breath: breathless at rest / unable to lie flat is very urgent.
    return "orthopnoea" in found


def _suicide_lay(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Mental illness / Self-harm: "high risk of self-harm"; Ministério da Saúde / CVV: passive
    # death wishes, farewells, gathered means, giving belongings away, repeated self-injury and
    # thoughts of harming the baby (postpartum) are warning signs to act on at once.
    return _any(found, "passive_death_wish", "self_harm_warning")


def _delirium(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Behaving strangely / Unwell adult: new confusion of acute onset; MS Caderno de Atenção
    # Básica 19 (Envelhecimento): delirium in an older person is a medical emergency (infection,
    # hypoxia, drugs, stroke). Chronic dementia alone ("às vezes não me reconhece") does not fire:
    # an acute onset, a fever or an infection must be said.
    if not _any(found, "disoriented", "confusion"):
        return False
    if "elderly" in ctx and "drowsy" in found:  # confused AND drowsy: altered conscious level
        return True
    if "elderly" in ctx and _any(found, "dehydration", "nausea_vomiting"):  # dehydration delirium
        return True
    return _any(found, "acute_onset", "fever_or_hot", "infection_source", "poor_perfusion")


def _sepsis(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Unwell adult / Unwell child ("hot" with signs of shock or altered conscious level);
    # Sepsis-3 qSOFA and ILAS (Instituto Latino-Americano de Sepse): infection + altered mentation,
    # hypotension or poor perfusion (mottled skin, little urine). After surgery, fever with pus or
    # dizziness is a wound/abdominal sepsis until proven otherwise.
    infected = _any(found, "fever_or_hot", "infection_source")
    if infected and _any(found, "poor_perfusion", "disoriented", "confusion", "unresponsive"):
        return True
    # little or no urine is organ dysfunction (ILAS); drowsiness with a known focus of infection (an
    # infected wound, pneumonia) is altered mentation at any age (qSOFA)
    if infected and "dehydration" in found:
        return True
    if "infection_source" in found and "drowsy" in found:
        return True
    if infected and "lethargy" in found and _any_ctx(ctx, "elderly", "baby", "child"):
        return True
    if infected and "tachy" in found and _any(found, "presyncope", "dyspnoea", "lethargy"):
        return True
    return "recent_surgery" in found and _count(found, "fever_or_hot", "infection_source", "presyncope") >= 2


def _head_injury(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Head injury: altered conscious level, vomiting, CSF leak from nose/ear, a fit, amnesia or
    # anticoagulation after a blow to the head (NICE CG176 CT criteria use the same signs).
    return "head_trauma" in found and _any(
        found, "lethargy", "confusion", "disoriented", "nausea_vomiting", "csf_leak", "unresponsive",
        "anticoagulated", "seizure_like", "seizure_signs", "presyncope", "severe_headache",
    )


def _burns(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Burns and scalds: extensive or full-thickness burns, burns of the face, hands or
    # genitals, inhalation injury (smoke + hoarse voice, soot, breathlessness) and electrical injury.
    if "burn" in found and "burn_alarm" in found:
        return True
    if "smoke_inhalation" in found and _any(
        found, "face_tongue_swelling", "dyspnoea", "headache", "nausea_vomiting", "confusion", "presyncope",
    ):
        return True
    return "electric_shock" in found and (
        _any(found, "burn", "palpitation", "presyncope", "unresponsive", "arm_symptom", "chest_discomfort",
             "confusion", "dyspnoea")
        or _any_ctx(ctx, "baby", "child")
    )


def _eye_emergency(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Eye problems: chemical injury (irrigate, then very urgent), penetrating injury, a blow to
    # the eye with loss of vision, and a red painful eye with reduced vision (acute glaucoma, keratitis).
    if ("eye_chemical" in found and "chemical" in found) or "eye_penetrating" in found:
        return True
    if "red_painful_eye" in found and _any(found, "blurred_or_lost_vision", "visual_disturbance", "nausea_vomiting"):
        return True
    return "eye_trauma" in found and _any(found, "blurred_or_lost_vision", "sudden_vision_loss", "visual_disturbance")


def _unwell_child(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Unwell child: floppy, unresponsive or no eye contact, signs of dehydration (no urine for
    # hours); MS AIDPI Criança "sinais gerais de perigo" (letárgica, não consegue beber).
    if "child" not in ctx:
        return False
    if _any(found, "dehydration", "no_eye_contact"):
        return True
    return "lethargy" in found and _any(found, "fever_or_hot", "nausea_vomiting", "dyspnoea")


def _severe_dehydration(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Diarrhoea and vomiting: signs of severe dehydration, unable to keep fluids down; MS Manejo
    # da diarreia, "Plano C": cannot drink, little or no urine, faint or drowsy. Losses that do not stop
    # with one of these signs; or vomiting, unable to keep water down, with little urine or faintness.
    if "profuse_losses" in found:
        return _any(found, "cannot_keep_fluids", "dehydration", "poor_perfusion", "presyncope", "drowsy")
    return "cannot_keep_fluids" in found and "nausea_vomiting" in found and _any(
        found, "dehydration", "poor_perfusion", "presyncope", "drowsy")


def _major_trauma(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Major trauma: a significant mechanism (fall from height, run over, crash, stab or gunshot)
    # with any sign of injury to breathing, circulation or consciousness.
    return "major_mechanism" in found and _any(
        found, "dyspnoea", "hypoxia", "presyncope", "unresponsive", "bleeding_any", "lethargy", "confusion",
        "disoriented", "nausea_vomiting", "tachy", "poor_perfusion", "abdominal_pain", "pallor", "cold_sweat",
    )


def _cyanosis(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Shortness of breath / Unwell child: central cyanosis with breathing effort, drowsiness or
    # a fit.
    return "cyanosis" in found and _any(
        found, "dyspnoea", "child_respiratory_distress", "lethargy", "unresponsive", "seizure_like", "seizure_signs",
        "tachy", "hypoxia",
    )


def _thunderclap(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Headache: "sudden onset" and "severe pain" (very urgent); SAMU / AHA: the worst headache
    # of one's life, sudden, is a subarachnoid haemorrhage until proven otherwise.
    if "thunderclap" in found:
        return True
    return "severe_headache" in found and _any(found, "acute_onset", "nausea_vomiting", "stiff_neck")


CONCEPT_RULES: tuple[ConceptRule, ...] = (
    ConceptRule("acs_cluster", "chest_pain",
                "sintomas compatíveis com síndrome coronariana (MTS Dor torácica: dor cardíaca)",
                _acs, _ATYPICAL_SITE + _AUTONOMIC),
    ConceptRule("obstetric_alarm", "pregnancy", "sinal de alerta na gestação/puerpério (MTS Gravidez)",
                _obstetric, ("vaginal_bleeding", "fluid_loss", "reduced_fetal_movement", "visual_disturbance",
                             "severe_headache", "seizure_like", "severe_abdominal_pain", "high_blood_pressure",
                             "sudden_swelling", "headache")),
    ConceptRule("anaphylaxis_signs", "allergy", "sinais de anafilaxia (MTS Alergia: comprometimento de via aérea)",
                _anaphylaxis, ("face_tongue_swelling", "hives", "dyspnoea", "allergen_exposure")),
    ConceptRule("child_respiratory_distress", "breathing", "esforço respiratório em criança (MTS Dispneia em criança)",
                _child_breathing, ("child_respiratory_distress",)),
    ConceptRule("unwell_baby", "fever", "bebê prostrado/desidratado/febril (MTS Bebê doente)",
                _unwell_baby, ("lethargy", "fever_or_hot", "dehydration")),
    ConceptRule("meningitis_signs", "neuro", "febre com manchas/rigidez de nuca (MTS: petéquias, meningismo)",
                _meningitis, ("purpuric_rash", "stiff_neck")),
    ConceptRule("glycaemic_emergency", "vitals", "glicemia extrema ou diabético confuso (MTS Diabetes)",
                _glycaemic, ("extreme_glucose", "confusion")),
    ConceptRule("swallowed_object", "general", "corpo estranho engolido com sinal de obstrução (MTS Corpo estranho)",
                _swallowed_object, ("swallowed_object", "cannot_swallow")),
    ConceptRule("dengue_alarm", "general", "dengue com sinal de alarme (MS, Dengue: manejo clínico 2024)",
                _dengue_alarm,
                ("bleeding_any", "abdominal_pain", "abdominal_alarm", "lethargy", "presyncope", "drowsy")),
    ConceptRule("acute_abdomen", "general", "dor abdominal intensa com sinais sistêmicos (MTS Dor abdominal)",
                _acute_abdomen, ("severe_abdominal_pain", "abdominal_pain", "abdominal_alarm", "disabling_pain")),
    ConceptRule("testicular_torsion", "general", "dor testicular (MTS Dor testicular: possível torção)",
                _torsion, ("testicular_pain",)),
    ConceptRule("acute_confusion", "neuro", "confusão aguda com sinais neurológicos (MTS Comportamento estranho)",
                _new_neuro, ("confusion",)),
    ConceptRule("suicide_warning_signs", "suicide", "sinais de alerta de suicídio (MTS Autoagressão; CVV)",
                _suicide_lay, ("passive_death_wish", "self_harm_warning")),
    ConceptRule("stroke_fast", "stroke", "déficit neurológico súbito (SAMU: escala FAST/BE-FAST)",
                _stroke, ("face_droop", "speech_disturbance", "sudden_vision_loss", "limb_weakness", "ataxia",
                          "face_numbness")),
    ConceptRule("haemorrhage_signs", "bleeding", "sangramento descontrolado ou com sinais de choque (MTS Hemorragia)",
                _haemorrhage, ("bleeding_any", "deep_wound")),
    ConceptRule("seizure_signs", "seizure", "crise convulsiva atual, repetida ou prolongada (MTS Convulsão)",
                _seizure, ("seizure_signs", "seizure_like")),
    ConceptRule("altered_consciousness", "unconscious", "nível de consciência alterado (MTS Adulto em colapso)",
                _altered_consciousness, ("unresponsive",)),
    ConceptRule("poisoning_signs", "poisoning", "ingestão/exposição tóxica (MTS Intoxicação; CIATox)",
                _poisoning, ("toxic_ingestion", "toxic_exposure")),
    ConceptRule("sudden_severe_pain", "general", "dor intensa de início súbito (MTS: dor intensa, início abrupto)",
                _sudden_severe_pain, ("sudden_severe_pain", "tearing_pain", "cold_pale_limb")),
    ConceptRule("arrhythmia_signs", "chest_pain", "palpitação com pré-síncope/dispneia (MTS Palpitações)",
                _arrhythmia, ("palpitation",)),
    ConceptRule("thrombosis_signs", "breathing",
                "perna inchada e dolorida após imobilidade ou com falta de ar (MTS Problemas em membros)",
                _thrombosis, ("swollen_painful_leg",)),
    ConceptRule("orthopnoea", "breathing", "falta de ar em repouso/deitado (MTS Dispneia)",
                _heart_failure, ("orthopnoea",)),
    ConceptRule("febrile_immunosuppressed", "fever",
                "febre em paciente imunossuprimido/quimioterapia (MTS Adulto doente: neutropenia febril)",
                _febrile_immunosuppressed, ("fever_or_hot",)),
    ConceptRule("hypoxia_signs", "breathing", "saturação baixa ou estridor (MTS Dispneia)",
                _hypoxia, ("hypoxia",)),
    ConceptRule("acute_delirium", "neuro", "confusão de início agudo/delírio (MTS Comportamento estranho)",
                _delirium, ("disoriented", "confusion")),
    ConceptRule("sepsis_signs", "fever", "infecção com sinais de choque ou confusão (MTS Adulto doente; ILAS sepse)",
                _sepsis, ("poor_perfusion", "fever_or_hot", "infection_source")),
    ConceptRule("head_injury_signs", "injury", "trauma de crânio com sinal de alerta (MTS Trauma craniano)",
                _head_injury, ("head_trauma",)),
    ConceptRule("burn_signs", "injury", "queimadura extensa, inalação de fumaça ou choque elétrico (MTS Queimaduras)",
                _burns, ("burn", "smoke_inhalation", "electric_shock")),
    ConceptRule("eye_emergency", "injury", "lesão química ou trauma ocular com perda de visão (MTS Problemas oculares)",
                _eye_emergency, ("eye_chemical", "eye_trauma")),
    ConceptRule("unwell_child", "fever", "criança prostrada/desidratada/sem contato visual (MTS Criança doente)",
                _unwell_child, ("lethargy", "dehydration", "no_eye_contact")),
    ConceptRule("severe_dehydration", "general",
                "perdas sem parar com sinal de desidratação grave (MTS Diarreia e vômitos)",
                _severe_dehydration, ("profuse_losses", "cannot_keep_fluids")),
    ConceptRule("major_trauma", "injury", "mecanismo de trauma importante com sinal de alerta (MTS Trauma maior)",
                _major_trauma, ("major_mechanism",)),
    ConceptRule("cyanosis_signs", "breathing", "cianose com esforço respiratório ou sonolência (MTS Dispneia)",
                _cyanosis, ("cyanosis",)),
    ConceptRule("thunderclap_headache", "neuro", "cefaleia súbita e intensa, a pior da vida (MTS Cefaleia)",
                _thunderclap, ("thunderclap", "severe_headache")),
)
