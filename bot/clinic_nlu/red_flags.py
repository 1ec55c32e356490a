"""Deterministic red-flag rules for pt-BR patient messages.

A red flag is a potentially serious clinical situation happening now. When `detect(text)` returns
anything, the NLU component `RedFlagOverride` forces the intent `urgent_symptom` (reason `urgent`):
the patient immediately gets the safety message (SAMU 192, nearest emergency room; CVV 188 when the
category is `suicide`) and the clinical team gets an urgent-priority handoff.

Design (clinical choices are deliberate; a missed emergency is a bug, a false alarm costs a nurse a
minute):
- Rules run on normalized text (`normalize.normalize_with_offsets`: lowercase, no accents,
  abbreviations expanded, "bb" -> "bebe", "n" -> "nao"...) after a conservative typo fix of a small
  vocabulary of long, distinctive clinical words ("desmaiu" -> "desmaiou", "convulsao" variants).
- When in doubt the rules FIRE. Suppression only happens for clear, explicit language:
  1. Negation right before the finding, in the same clause: "sem falta de ar", "nao tenho dor no
     peito", "nem desmaiou", "nunca tive convulsao". "Nao sei se e falta de ar" is NOT a negation;
     "nao consigo respirar" / "nao para de sangrar" are findings themselves.
  2. Hypothetical / preventive / fear language in the same clause: "e se eu tiver falta de ar no
     exame?", "em caso de dor no peito", "medo de desmaiar na coleta", "historico familiar de
     infarto", "prevenir avc".
  3. Clearly remote events: the sentence places the finding in the distant past ("ano passado",
     "mes passado", "semana passada", "ha 3 meses", "anos atras", "quando era crianca") or says it
     was already handled ("fui na upa", "tive alta") AND nothing says it is happening again ("de
     novo", "voltou", "ainda", "agora", "continua", "piorou"). "Tive dor no peito ontem" still
     fires: a day-old chest pain is still an emergency. "Ha 2 dias" still fires; "ha 2 meses" of
     chest pain is a chronic complaint for a cardiology booking, not an ambulance.
     Suicidal language is NEVER suppressed as past: any mention gets the CVV message.
  4. Rule-specific administrative or routine context: "acidente de trabalho, preciso de atestado"
     (paperwork about a past accident), "exame de sangue", "tirar sangue", "ar condicionado",
     "peito do pe", "dor tipo facada" (a pain description, not a stabbing), "azia/refluxo" with
     "queimacao no peito".
- Routine messages that share words do NOT fire: "exame de sangue", "consulta pro bebe com
  pediatra", "gravida, quero pre-natal", "bolsa" without rupture, "tiro a segunda via" (verb tirar).
- "quero marcar cardiologista pq tive dor no peito ano passado" does NOT fire (remote, explicit
  past). Without "ano passado" ("quero marcar cardiologista pq tive dor no peito") it FIRES: we
  cannot tell it is over, so the patient gets the safety message and a nurse looks at it.
- Baby fever: ANY fever in a baby ("bebe", "nene", "recem nascido", "N meses/dias de vida", "filho
  de N meses") fires: fever in infants under 3 months is an emergency and patients rarely state
  the age precisely. Fever >= 40 degrees in anyone also fires (category `fever`). Fever in an older
  child or adult alone does not fire (it is a symptom consultation).
- Poisoning: ingestion of poison/cleaning products/many pills, "remedio errado", "overdose",
  "intoxicacao" (food poisoning included: it can dehydrate fast and patients use the word loosely;
  we accept the false alarms), venomous bites (snake, scorpion, spider). "Tomei 2 dipironas" does not
  fire (a normal dose), "tomei 20 comprimidos" does.
- Serious injury: "acidente" fires unless it is paperwork about it (atestado, laudo, INSS, CAT,
  pericia, seguro) or clearly remote; any head blow fires ("bateu a cabeca"), stabbing/shooting,
  run over, open fracture, severe burn, electric shock, drowning, falls from height.
- Pregnancy: pregnancy + bleeding (miscarriage included), waters breaking ("bolsa estourou/rompeu",
  "perdendo liquido"), labor, baby not moving, pre-eclampsia signs (strong headache, seeing spots,
  high blood pressure), strong abdominal pain. "Gravida + exame de sangue" does not fire.
- Beyond the issue's list (same safety logic, each with its own category so the team sees why):
  falls of babies (from bed/changing table) and of elderly people ("minha avo caiu"), thunderclap
  headache / stiff neck / sudden confusion (`neuro`), critical numbers (blood pressure >= 18x11,
  glucose < 50 or >= 400: `vitals`), explicit calls for an ambulance/SAMU (`general`).
- NOT rules (left to the classifier, which is trained on them): vague distress such as "socorro",
  "emergencia", "meu pai ta muito mal": they are often hyperbolic ("socorro, perdi o boleto").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from clinic_nlu import concepts
from clinic_nlu.figurative import mask_figurative
from clinic_nlu.normalize import normalize_with_offsets
from clinic_nlu.red_flag_phrases import RULES as _RULES
from clinic_nlu.time_context import (
    AGAIN,
    CHRONIC,
    CLAUSE_BREAK,
    CONTRAST,
    DOCUMENT_OF_PAST,
    HYPOTHESIS_BREAK,
    HYPOTHETICAL,
    NAO_VERB,
    NEG_WORDS,
    NOW,
    ONGOING_SINCE,
    PRESENT,
    PRESENT_TENSE,
    RECURRENT,
    REMOTE,
    RESOLVED,
    SENTENCE_BREAK,
    SINCE_BEFORE,
    TRAILING_NOW,
)

__all__ = ["CATEGORIES", "Assessment", "RedFlag", "assess", "describe", "detect", "has_distress_cue", "is_urgent"]

# category -> short pt-BR label (for the handoff note the clinical team reads)
CATEGORIES: dict[str, str] = {
    "chest_pain": "dor/aperto no peito",
    "breathing": "falta de ar",
    "stroke": "sinais de AVC",
    "bleeding": "sangramento intenso",
    "unconscious": "desmaio/perda de consciência",
    "seizure": "convulsão",
    "allergy": "reação alérgica grave",
    "fever": "febre em bebê/febre muito alta",
    "poisoning": "intoxicação/envenenamento",
    "injury": "acidente/lesão grave",
    "pregnancy": "gestação: sangramento/bolsa rompida/trabalho de parto",
    "suicide": "risco de suicídio/autolesão",
    "neuro": "sinais neurológicos graves (cefaleia súbita, confusão)",
    "vitals": "pressão ou glicemia em nível crítico",
    "general": "pedido de socorro/ambulância",
}


@dataclass(frozen=True)
class RedFlag:
    """One red flag found in a message. `start`/`end` point into the ORIGINAL text."""

    code: str
    category: str
    start: int = field(default=-1, compare=False)
    end: int = field(default=-1, compare=False)
    evidence: str = field(default="", compare=False)
    # pt-BR, for the team (never the patient's words): the protocol item of a concept rule, and
    # what to confirm when the rule fired although it was not sure (it prefers urgent then)
    why: str = field(default="", compare=False)
    unsure: str = field(default="", compare=False)

    @property
    def label(self) -> str:
        return CATEGORIES.get(self.category, self.category)



# --- typo tolerance ------------------------------------------------------------------------------

# Long, distinctive words that must survive one typo. Only tokens of 7+ letters are corrected (so
# "fatura" never becomes "fratura") and only to words of this list.
_VOCAB = (
    "desmaiou desmaiei desmaiada desmaiado desmaiando desmaios convulsao convulsoes convulsionando "
    "convulsionou hemorragia sangramento sangrando respirar respirando sufocando sufocado sufocada "
    "consciencia desacordado desacordada inconsciente envenenamento envenenado envenenada intoxicacao "
    "intoxicado intoxicada anafilaxia anafilatico atropelado atropelada atropelamento suicidio "
    "suicidar gestante formigamento dormencia infarto infartando enfarto garganta inchado inchada "
    "epileptico epileptica esfaqueado esfaqueada baleado baleada overdose engasgado engasgada engasgou "
    "paralisado paralisada enrolada enrolado estourou rompeu queimadura traumatismo"
).split()
_VOCAB_SET = frozenset(_VOCAB)


def _within_one_edit(a: str, b: str) -> bool:
    """True when a and b differ by at most one insertion, deletion, substitution or swap."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    if la > lb:
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :]


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _fix_typos(text: str, offsets: list[int]) -> tuple[str, list[int]]:
    out: list[str] = []
    offs: list[int] = []
    pos = 0
    for m in re.finditer(r"[a-z]{7,}", text):
        word = m.group(0)
        out.append(text[pos : m.start()])
        offs.extend(offsets[pos : m.start()])
        fixed = word
        if word not in _VOCAB_SET:
            for cand in _VOCAB:
                if (abs(len(cand) - len(word)) <= 1 and cand[0] == word[0] and _within_one_edit(word, cand)
                        and _common_prefix(word, cand) < min(len(word), len(cand)) - 2):
                    # only typos inside the word: a different ENDING is an inflection
                    # ("respira" is not "respirar"), which the stem patterns already cover
                    fixed = cand
                    break
        out.append(fixed)
        src = offsets[m.start() : m.end()]
        offs.extend(src[min(i, len(src) - 1)] for i in range(len(fixed)))
        pos = m.end()
    out.append(text[pos:])
    offs.extend(offsets[pos:])
    return "".join(out), offs


# --- detection -----------------------------------------------------------------------------------


def _span(breaks: re.Pattern[str], text: str, start: int, end: int) -> tuple[int, int]:
    """The [begin, finish) of the segment of `text` (cut by `breaks`) that contains start..end."""
    begin, finish = 0, len(text)
    for b in breaks.finditer(text):
        if b.end() <= start:
            begin = b.end()
        elif b.start() >= end:
            finish = b.start()
            break
    return begin, finish


def _negated(before: str) -> bool:
    """Negation cue among the last words before the finding (same clause)."""
    window = " ".join(before.split()[-3:])
    if NEG_WORDS.search(window):
        return True
    return bool(NAO_VERB.search(window))


# blood as the SAMPLE of a test ("teste de gravidez de sangue", "exame de HIV no sangue", "doar
# sangue"): not a bleeding. Only the word "sangue" is blanked, so "sangrando" still fires.
_BLOOD_SAMPLE = re.compile(
    r"\b(?:testes?|exames?|coleta|coletar|colher|dosagem|hcg|beta|analises?|doar|doacao|hemograma)\s+"
    r"(?:\w+\s+){0,3}?(?:de|do|no|pelo|por|via)\s+(sangue)\b"
)


def _mask_blood_sample(norm: str) -> str:
    return _BLOOD_SAMPLE.sub(lambda m: m.group(0)[: m.start(1) - m.start()] + " " * len(m.group(1)), norm)


# A question asked to be prepared, not a report of something happening: explains away a
# CLASSIFIER's urgent guess when no rule found a present red flag ("o que devo fazer se minha bebê
# engolir algo?", "se um dia meu pai tiver um piripaque, pra quem ligo?", "só me informando").
_PREPAREDNESS = re.compile(
    r"\b(?:o\s+que\s+(?:eu\s+)?(?:devo|deve|posso|tenho\s+que|faco|fazer)\s+(?:\w+\s+)?(?:se|caso|quando)|"
    r"se\s+um\s+dia|caso\s+(?:um\s+dia|aconteca|ele|ela|eu)|(?:pra|para)\s+(?:ficar|estar)\s+preparad\w+|"
    r"(?:so|apenas)\s+(?:me\s+)?informando|por\s+enquanto\s+(?:\w+\s+)?(?:ta|esta)\s+(?:tudo\s+)?(?:bem|normal)|"
    r"deixar\s+anotado|se\s+acontecer|e\s+se\s+(?:meu|minha|o|a|eu|ele|ela)|caso\s+(?:meu|minha|o|a))\b"
)
# An animal as the patient (the classifier reads "picada", "sangue", "inchou" alike for a dog)
_ANIMAL = re.compile(
    r"\b(?:cachorr\w+|cadel\w+|gat[oa]s?|gatinh\w+|papagai\w+|passarinh\w+|calopsita\w*|periquit\w+|coelh\w+|"
    r"hamster\w*|cavalo\w*|pet|pets|veterinari\w+|vet)\b"
)


def _prepare(text: str) -> tuple[str, list[int]]:
    norm, offsets = normalize_with_offsets(text)
    norm, offsets = _fix_typos(norm, offsets)
    # idioms ("morri de rir", "matar a saudade") are blanked: same length, offsets still valid
    return _mask_blood_sample(mask_figurative(norm)), offsets


_UNSURE_PAST = "menciona evento passado; confirmar se é atual"


def _context_verdict(
    norm: str, start: int, end: int, negatable: bool = True, past: str = "default", chronic_ok: bool = True
) -> tuple[bool, str]:
    """(is the finding at norm[start:end] present?, why absent / what to confirm when unsure).

    Absent when negated in its clause or hypothetical. Then, unless the sentence says it is back
    or happening now (`PRESENT`), the `past` policy decides:
    - "default": absent when placed in remote time, resolved, or the subject of a document request;
    - "transient" (fits, faints: over in minutes, "já passou" is normal and they still need care):
      absent only in remote time or a document request;
    - "never" (suicide): absent only for a document about a remote event;
    - "event" (a blow to the head, an operation: the past part of a present emergency): remote time
      never dismisses it, a hypothesis does.
    A finding after "hoje"/"agora" that follows the remote time in the sentence is present.
    Present but unsure when the sentence also speaks of the past.
    """
    s_begin, s_end = _span(SENTENCE_BREAK, norm, start, end)
    sentence = norm[s_begin:s_end]
    c_begin, c_end = _span(CLAUSE_BREAK, sentence, start - s_begin, end - s_begin)
    before = sentence[c_begin : start - s_begin]
    if negatable and _negated(before):
        return False, "negated"
    # the verb of a hypothesis may be inside the finding itself ("se a glicose baixar"), or govern
    # it across an "e" ("se eu cair de bicicleta e bater a cabeça"); a suicidal thought is never
    # dismissed as hypothetical ("e se eu me matar?" gets the CVV)
    h_begin, _ = _span(HYPOTHESIS_BREAK, sentence, start - s_begin, end - s_begin)
    hypothesis_scope = sentence[h_begin : start - s_begin] + norm[start:end]
    if past != "never" and HYPOTHETICAL.search(" ".join(hypothesis_scope.split()[-10:])):
        return False, "hypothetical"
    # a known, recurring complaint, not happening now ("toda vez que fico nervosa sinto uma pontada
    # no peito, o cardio disse que é ansiedade"): a booking, unless the sentence says now or worse.
    # Never for stroke signs (a recurring one-sided weakness is a TIA) or suicide.
    if (past == "default" and chronic_ok and CHRONIC.search(sentence, c_begin, c_end)
            and not (NOW.search(sentence) or RECURRENT.search(sentence))):
        return False, "past"
    # "acho que já passou, mas ele engoliu uma moeda e está babando": what follows a contrast word
    # is the situation now; the remote and resolved markers said before it do not date the finding
    contrasts = [m.end() for m in CONTRAST.finditer(sentence, 0, start - s_begin)]
    if contrasts:
        sentence, s_begin = sentence[contrasts[-1]:], s_begin + contrasts[-1]
    s_finish = s_begin + len(sentence)
    remotes = _remote_times(sentence)
    remote, resolved = bool(remotes), RESOLVED.search(sentence)
    document = DOCUMENT_OF_PAST.search(sentence)
    if not (remote or resolved or document):
        # never for stroke signs: one that has passed is a transient ischaemic attack, seen at once
        if past in ("default", "transient") and chronic_ok and _dated_by_next_sentence(norm, sentence, s_finish):
            return False, "past"
        return True, ""
    # the nearest time said BEFORE the finding decides: "operei semana passada, hoje to com febre e a
    # cicatriz solta pus" -> the fever and the pus are now (the remote time was the operation's)
    markers = [(m.start(), "remote") for m in remotes if m.start() < start - s_begin]
    markers += [(m.start(), "now") for m in NOW.finditer(sentence, 0, start - s_begin)]
    if markers and max(markers)[1] == "now" and not RESOLVED.search(sentence, max(markers)[0]):
        return True, _UNSURE_PAST
    if past == "event":
        return True, _UNSURE_PAST
    c_begin, c_end = _span(CLAUSE_BREAK, sentence, start - s_begin, end - s_begin)
    clause = sentence[c_begin:c_end]
    back = bool(RECURRENT.search(sentence))
    now_here = bool(NOW.search(clause) or TRAILING_NOW.match(sentence[c_end:]))
    # the finding's own clause dates it far back ("teve derrame faz 5 anos"): a "now" in another
    # clause belongs to the request ("agora o neuro pediu tomografia"), only a return revives it
    if past in ("default", "transient") and not back and not now_here and any(
        c_begin <= m.start() < c_end for m in remotes
    ):
        return False, "past"
    # a finding told in the present tense in a clause of its own is present, whatever the sentence
    # said about an earlier visit ("fui na UPA ontem, mas tô com falta de ar")
    clause_dated = any(c_begin <= m.start() < c_end for m in remotes) or RESOLVED.search(clause)
    if PRESENT_TENSE.search(clause) and not clause_dated:
        return True, _UNSURE_PAST
    if not (back or now_here):
        if past == "default" and (remote or resolved or document):
            return False, "past"
        if past == "transient" and (remote or document):
            return False, "past"
        if past == "never" and remote and document:
            return False, "past"
    return True, _UNSURE_PAST


# The writer says nobody is unwell or that it is not urgent: explains away a classifier-only urgent
# guess (never a rule's flag: "não é nada urgente, mas ele está com a boca torta" still fires).
_NOT_UNWELL = re.compile(
    r"\b(?:nao\s+(?:\w+\s+)?(?:ta|esta|to|estou|tao|estao)\s+passando\s+mal|"
    r"nao\s+(?:e|eh)\s+(?:nada\s+)?(?:urgente|urgencia|emergencia|grave)|nada\s+(?:de\s+)?(?:urgente|grave)|"
    r"sem\s+urgencia|(?:ta|esta)\s+tudo\s+bem|(?:ta|esta|estao|tao)\s+(?:tudo\s+)?(?:bem|otim\w+)\s+(?:de\s+saude|graca\s+a\s+deus))\b"
)


def _dated_by_next_sentence(norm: str, sentence: str, s_finish: int) -> bool:
    """A finding told in the past tense with no time of its own, dated by the next sentence: an
    e-mail's subject "DESMAIEI no casamento!!!" and its body "foi no sábado passado, já estou ótima".
    Never when the finding's sentence is in the present ("está com dor no peito! teve infarto ano
    passado" is an emergency now) or the next one says it happened again."""
    if PRESENT_TENSE.search(sentence) or NOW.search(sentence) or RECURRENT.search(sentence):
        return False
    # the text after the sentence starts with its break ("!!! foi no sábado passado..."): the first
    # non-empty piece between breaks is the next sentence
    following = next((part for part in SENTENCE_BREAK.split(norm[s_finish:]) if part.strip()), "")
    following = " ".join(following.split()[:16])
    if not following or NOW.search(following) or RECURRENT.search(following) or AGAIN.search(following):
        return False
    return bool(_remote_times(following) or RESOLVED.search(following))


def _remote_times(sentence: str) -> list[re.Match[str]]:
    """The remote times of `sentence` that place something in the past: "faz 2 semanas QUE sangra"
    and "desde o mês passado" date an ongoing finding instead, so they are left out."""
    return [m for m in REMOTE.finditer(sentence)
            if not ONGOING_SINCE.match(sentence[m.end():]) and not SINCE_BEFORE.search(sentence[: m.start()])]


def _flag(code: str, category: str, text: str, offsets: list[int], start: int, end: int,
          why: str = "", unsure: str = "") -> RedFlag:
    o_start = offsets[start] if start < len(offsets) else -1
    o_end = offsets[end - 1] + 1 if 0 < end <= len(offsets) else -1
    return RedFlag(code, category, o_start, o_end, text[o_start:o_end] if o_start >= 0 else "", why, unsure)


# past policies of findings (see _context_verdict): suicidal warning signs are never dismissed as
# past (as the phrase rules of category `suicide`); fits and faints are transient by nature
_FINDING_PAST = {"passive_death_wish": "never", "self_harm_warning": "never", "seizure_signs": "transient",
                 "seizure_like": "transient", "unresponsive": "transient",
                 # the blow or the operation is the past PART of a present emergency ("caiu semana
                 # passada e hoje está sonolento": a subdural bleed; "operei semana passada, hoje febre
                 # e pus"): the rules still need a present alarm finding to fire
                 "head_trauma": "event", "recent_surgery": "event"}


# recurring stroke signs are transient ischaemic attacks (AHA/ASA: seen at once); suicidal thoughts
# are never "just how I am"
_FINDING_NEVER_CHRONIC = frozenset({"face_droop", "speech_disturbance", "sudden_vision_loss", "face_numbness",
                                    "limb_weakness", "ataxia", "passive_death_wish", "self_harm_warning"})
_CATEGORY_NEVER_CHRONIC = frozenset({"stroke", "suicide"})

# time markers, not symptoms: "sem parar desde a tarde" is not a negation of the onset
_FINDING_NOT_NEGATABLE = frozenset({"acute_onset"})


def _present_findings(norm: str, dismissed: set[str]) -> dict[str, tuple[concepts.Finding, str]]:
    """Every concept finding present in `norm` (first present occurrence) + its unsure note; the
    reasons of the occurrences judged absent are added to `dismissed`."""
    found: dict[str, tuple[concepts.Finding, str]] = {}
    for name, pattern in concepts.FINDINGS.items():
        for m in pattern.finditer(norm):
            present, note = _context_verdict(norm, m.start(), m.end(), negatable=name not in _FINDING_NOT_NEGATABLE,
                                             past=_FINDING_PAST.get(name, "default"),
                                             chronic_ok=name not in _FINDING_NEVER_CHRONIC)
            if present:
                found[name] = (concepts.Finding(name, m.start(), m.end()), note)
                break
            dismissed.add(note)
    return found


@dataclass(frozen=True)
class Assessment:
    """What the rules make of a message: its red flags, and why clinical findings that were
    mentioned were judged absent ("negated", "hypothetical", "past"): those explain away a
    classifier's urgent guess ("não tenho dor no peito", "se eu tiver falta de ar...")."""

    flags: list[RedFlag]
    dismissed: frozenset[str]


def detect(text: str) -> list[RedFlag]:
    """All red flags in `text` (one per code, in order of appearance). Empty list = no red flag."""
    return assess(text).flags


def assess(text: str) -> Assessment:
    """Red flags of `text` + the reasons mentioned findings were dismissed.

    Two layers: the phrase rules of `_RULES` (how an emergency is usually named), then the concept
    discriminators of `concepts.CONCEPT_RULES` (findings combined with who the patient is).
    """
    if not text or not text.strip():
        return Assessment([], frozenset())
    norm, offsets = _prepare(text)
    found: dict[str, RedFlag] = {}
    dismissed: set[str] = set()
    for rule in _RULES:
        if rule.code in found:
            continue
        if rule.requires is not None and not rule.requires.search(norm):
            continue
        for m in rule.pattern.finditer(norm):
            present, unsure = _context_verdict(norm, m.start(), m.end(), rule.negatable, rule.past,
                                               chronic_ok=rule.category not in _CATEGORY_NEVER_CHRONIC)
            if not present:
                dismissed.add(unsure)
                continue
            if rule.exclude is not None:
                s_begin, s_end = _span(SENTENCE_BREAK, norm, m.start(), m.end())
                if rule.exclude.search(norm[s_begin:s_end]):
                    continue
            found[rule.code] = _flag(rule.code, rule.category, text, offsets, m.start(), m.end(), unsure=unsure)
            break
    findings = _present_findings(norm, dismissed)
    if findings:
        contexts = frozenset(name for name, rx in concepts.CONTEXTS.items() if rx.search(norm))
        present_findings = {name: finding for name, (finding, _) in findings.items()}
        for concept in concepts.CONCEPT_RULES:
            if concept.code in found or not concept.applies(present_findings, contexts):
                continue
            # the span reported is the rule's main finding, else the first finding of the message
            finding, unsure = next((findings[a] for a in concept.anchors if a in findings),
                                   min(findings.values(), key=lambda item: item[0].start))
            found[concept.code] = _flag(concept.code, concept.category, text, offsets, finding.start, finding.end,
                                        why=concept.why, unsure=unsure)
    if not found and REMOTE.search(norm) and not PRESENT.search(norm):
        dismissed.add("past")  # a message about a remote time ("há 6 meses", "em 2019")
    if not found and _NOT_UNWELL.search(norm):
        dismissed.add("negated")  # "ele não tá passando mal", "não é urgente": the writer says so
    if not found and _PREPAREDNESS.search(norm):
        dismissed.add("hypothetical")  # "o que fazer se...", "quero saber pra ficar preparada"
    if not found and _ANIMAL.search(norm):
        dismissed.add("animal")  # a pet's problem: the clinic treats people
    return Assessment(sorted(found.values(), key=lambda f: f.start), frozenset(dismissed))


# Clinical or distress vocabulary. Used to sanity-check the CLASSIFIER's urgent guesses that no
# rule confirms: an urgent message always says something clinical ("socorro", "passando mal",
# "dor", "febre", "caiu"...), while "combinado", "foto" or "enviei sem querer" never do. Deliberately
# broad: it only removes urgent guesses with no clinical word at all.
_DISTRESS = re.compile(
    r"\b(?:socorr\w*|emergenc\w*|urgen\w*|ajud\w*|sos|samu|ambulancia|resgate|bombeiro\w*|hospital|"
    r"pronto\s+socorro|upa|grave|gravissim\w*|mal|piorou|piorando|pior|passando|desespero|desesperad\w*|"
    r"nao\s+(?:esta|estou|ta|to)\s+bem|estranh\w*|dor\w*|doi|doe|doendo|peito|coracao|infart\w*|"
    r"respir\w*|ar|sufoc\w*|engasg\w*|roxo|roxa|palid\w*|suando|suor|febre\w*|febril|quente|"
    r"temperatura|convuls\w*|tremendo|debatendo|desmai\w*|desacordad\w*|inconscien\w*|acorda\w*|"
    r"reage|responde|confus\w*|desorientad\w*|tont\w*|mole|molinho|caiu|caido|queda|tombo|bateu|"
    r"sangu\w*|sangr\w*|hemorrag\w*|vomit\w*|gravid\w*|gestante|bolsa|contrac\w*|parto|bebe|nene|"
    r"alergi\w*|inch\w*|garganta|veneno|envenen\w*|intoxic\w*|remedio\w*|comprimido\w*|engol\w*|"
    r"tomou|bebeu|acidente|atropel\w*|queim\w*|cort\w*|fratur\w*|osso|tiro|facada|morr\w*|"
    r"matar|suicid\w*|vida|viver|crise|ataque|avc|derrame|piripaque|passou|fraqueza|formig\w*|"
    r"dormen\w*|visao|enxerg\w*|fala|falar|falando|mexe|mexer|boca|rosto|machuc\w*|ferid\w*|pressao|"
    r"glicose|glicemia|consciencia|sentidos|anafila\w*|overdose|chumbinho|picad\w*|picou|escorpi\w*|"
    r"cobra|aranha|esfaque\w*|balead\w*|afog\w*|choque|sanitaria|produto|aguento|sentido|sumir|"
    r"acabar|morto|morta|chorando|assustad\w*|medo|preocupad\w*|nervos\w*|panico|ansiedade)\b"
)


def has_distress_cue(text: str) -> bool:
    """True when the message contains any clinical/distress word (see `_DISTRESS`)."""
    if not text:
        return False
    return bool(_DISTRESS.search(_prepare(text)[0])) or bool(detect(text))


def is_urgent(text: str) -> bool:
    return bool(detect(text))


def describe(flags: list[RedFlag]) -> str:
    """pt-BR summary for the handoff note: 'Sinais de alerta: dor/aperto no peito; falta de ar'.

    Concept flags add their protocol item, unsure ones what to confirm (never the patient's words).
    """
    if not flags:
        return ""
    labels: list[str] = []
    for f in flags:
        for label in (f.label, f.why, f"confirmar: {f.unsure}" if f.unsure else ""):
            if label and label not in labels:
                labels.append(label)
    return "Sinais de alerta: " + "; ".join(labels)
