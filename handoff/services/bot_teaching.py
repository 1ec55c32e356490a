"""Use cases of the staff teaching layer (issue 11): the review inbox, labels, staff intents,
edited answers and the layer export.

The layer lives in the hub's database (`bot_layer*`, `bot_staff_intents`, `bot_answer_edits`,
`bot_labels`; migration 0008), never in bot/data. Every change runs in one transaction that bumps
`bot_layer.version`, appends a `bot_layer_changes` row and an `audit_log` row (the staff access
log every other staff action writes); the `bot_layer_changed` staff event is published after the
commit. Patient text is masked (`domain.bot_teaching.mask_personal_data`) before it is shown in
the review inbox or stored as a label. A new example is read by the real bot (`RasaGateway.parse`,
Rasa's `POST /model/parse`) before it goes into a non-urgent intent: a red flag is refused unless
an admin overrides it with a reason (stored on the intent and audited).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.adapters.rasa import BotUnavailable, RasaGateway
from handoff.adapters.sql.database import utcnow
from handoff.adapters.sql.models import (
    AuditLog,
    BotAnswerEdit,
    BotLabel,
    BotLayer,
    BotLayerChange,
    BotStaffIntent,
    ConversationEvent,
    Message,
)
from handoff.adapters.sql.privacy_store import revoked_conversations
from handoff.domain import bot_teaching as rules
from handoff.domain import events as ev
from handoff.domain.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable, Unprocessable
from handoff.domain.triage import REASONS
from handoff.services.staff import StaffIdentity
from handoff.services.unit_of_work import STAFF_TOPIC, Events, UnitOfWork

SUPERVISORS = ("manager", "admin")
PROTECTED_ANSWERS = ("utter_urgent",)  # safety messages are not reworded by staff
REVIEW_SCAN_LIMIT = 5000
MAX_PARSE = rules.MAX_EXAMPLES


@dataclass(frozen=True)
class IntentInput:
    """A staff intent as sent by the API (already shaped by pydantic)."""

    name: str
    reason: str
    examples: list[str]
    answer_text: str | None
    buttons: list[dict[str, str]]
    handoff: dict[str, Any] | None
    override_reason: str | None = None  # admin only: accept red-flag examples


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def intent_view(row: BotStaffIntent) -> dict[str, Any]:
    """The API view of a staff intent."""
    answer = {"text": row.answer_text, "buttons": list(row.answer_buttons or [])} \
        if row.answer_text is not None else None
    return {"name": row.name, "reason": row.reason, "examples": list(row.examples), "answer": answer,
            "handoff": row.handoff, "red_flag_override": row.red_flag_override,
            "created_at": _iso(row.created_at), "updated_at": _iso(row.updated_at)}


class BotTeaching:
    """The staff layer's use cases (wired in `handoff/app.py`)."""

    def __init__(self, uow: UnitOfWork, gateway: RasaGateway, reason_map: Mapping[str, str],
                 simple_answers: Mapping[str, str], queues: Iterable[str],
                 threshold: float = rules.REVIEW_CONFIDENCE) -> None:
        self.uow = uow
        self.gateway = gateway
        self.reason_map = dict(reason_map)
        self.simple_answers = {k: v for k, v in simple_answers.items() if not k.startswith(PROTECTED_ANSWERS)}
        self.queues = tuple(queues)
        self.threshold = threshold

    # -- the version and the history ----------------------------------------------------------

    async def _bump(self, session: AsyncSession, events: Events, who: StaffIdentity, action: str,
                    subject: str, data: dict[str, Any] | None = None) -> int:
        """Bump the layer version (row-locked UPDATE), record the change and the audit row."""
        now = utcnow()
        await session.execute(update(BotLayer).where(BotLayer.id == 1)
                              .values(version=BotLayer.version + 1, updated_at=now))
        version = int((await session.execute(select(BotLayer.version).where(BotLayer.id == 1))).scalar_one())
        session.add(BotLayerChange(version=version, staff_id=who.id, action=action, subject=subject,
                                   data=data or {}, created_at=now))
        session.add(AuditLog(staff_id=who.id, action=action, subject=subject, created_at=now))
        events.add(STAFF_TOPIC, {"type": "bot_layer_changed", "audience": "managers", "version": version,
                                 "action": action, "subject": subject, "queue": None, "agent_id": None})
        return version

    async def version(self) -> int:
        """The layer's current version."""
        async with self.uow() as (session, _):
            return int((await session.execute(select(BotLayer.version).where(BotLayer.id == 1))).scalar_one())

    # -- staff intents ------------------------------------------------------------------------

    async def list_intents(self) -> dict[str, Any]:
        """Every staff intent and the layer version."""
        async with self.uow() as (session, _):
            rows = (await session.execute(select(BotStaffIntent).order_by(BotStaffIntent.name))).scalars().all()
            version = int((await session.execute(select(BotLayer.version).where(BotLayer.id == 1))).scalar_one())
            return {"version": version, "intents": [intent_view(r) for r in rows],
                    "bot_intents": dict(sorted(self.reason_map.items()))}  # the bot's own: label targets

    async def get_intent(self, name: str) -> dict[str, Any]:
        """One staff intent (404 when unknown)."""
        async with self.uow() as (session, _):
            row = await self._intent(session, name)
            return intent_view(row)

    async def _intent(self, session: AsyncSession, name: str) -> BotStaffIntent:
        key = rules.staff_intent_name(name)
        row = None if key is None else (await session.execute(
            select(BotStaffIntent).where(BotStaffIntent.name == key))).scalar_one_or_none()
        if row is None:
            raise NotFound("not_found", "intenção não encontrada")
        return row

    async def _other_examples(self, session: AsyncSession, except_name: str | None) -> dict[str, str]:
        rows = (await session.execute(select(BotStaffIntent.name, BotStaffIntent.examples))).all()
        return {rules.normalize_text(e): n for n, examples in rows if n != except_name for e in examples}

    def _verdict(self, data: IntentInput, name: str, others: Mapping[str, str]) -> rules.Verdict:
        return rules.validate_intent(
            name=name, reason=data.reason, examples=data.examples, answer_text=data.answer_text,
            buttons=data.buttons, handoff=data.handoff, reasons=REASONS, bot_intents=self.reason_map,
            queues=self.queues, other_examples=others)

    @staticmethod
    def _refuse(verdict: rules.Verdict) -> None:
        if not verdict.ok:
            raise Invalid(verdict.problems[0].code, "; ".join(p.message for p in verdict.problems),
                          problems=[{"code": p.code, "message": p.message} for p in verdict.problems])

    async def _red_flags(self, who: StaffIdentity, data: IntentInput, new_examples: Sequence[str]) -> \
            dict[str, Any] | None:
        """Ask the real bot about each new example of a non-urgent intent; refuse red flags
        unless an admin gave an override reason. Returns the override record to store."""
        if data.reason == "urgent" or not new_examples:
            return None
        return await self._gate(who, new_examples, data.override_reason)

    async def _gate(self, who: StaffIdentity, texts: Sequence[str], override_reason: str | None) -> \
            dict[str, Any] | None:
        """The red-flag gate: None when the bot reads no red flag in `texts`; the override record
        when an admin released them with a reason; a DomainError otherwise."""
        flagged: list[str] = []
        for text in texts[:MAX_PARSE]:
            try:
                parsed = await self.gateway.parse(text)
            except BotUnavailable as exc:
                raise Unavailable("bot_unavailable",
                                  "o bot não respondeu para conferir os exemplos: tente de novo") from exc
            if rules.parse_has_red_flag(parsed):
                flagged.append(text)
        if not flagged:
            return None
        if override_reason is None:
            raise Unprocessable("red_flag_example",
                                "exemplos com sinal de alerta (urgência) não podem entrar em uma intenção que "
                                "não é urgente; só um administrador pode liberar, com justificativa",
                                examples=flagged)
        if who.role != "admin":
            raise Forbidden("override_forbidden", "só um administrador pode liberar sinais de alerta")
        return {"by": who.email, "by_id": who.id, "reason": override_reason, "examples": flagged,
                "at": utcnow().isoformat()}

    async def create_intent(self, who: StaffIdentity, data: IntentInput) -> dict[str, Any]:
        """Validate, check red flags on the real bot, store, bump the version. Raises a DomainError."""
        name = rules.staff_intent_name(data.name)
        if name is None:
            raise Invalid("invalid_name",
                          "nome inválido: use letras, números e _ (2 a 57 caracteres, começando por letra)")
        async with self.uow() as (session, _):
            others = await self._other_examples(session, None)
            exists = (await session.execute(select(BotStaffIntent.id).where(BotStaffIntent.name == name))).first()
        if exists is not None:
            raise Conflict("name_taken", f"já existe uma intenção da equipe chamada {name}")
        verdict = self._verdict(data, name, others)
        self._refuse(verdict)
        override = await self._red_flags(who, data, data.examples)
        async with self.uow() as (session, events):
            now = utcnow()
            row = BotStaffIntent(name=name, reason=data.reason, examples=list(data.examples),
                                 answer_text=data.answer_text, answer_buttons=list(data.buttons),
                                 handoff=data.handoff, red_flag_override=override, created_by=who.id,
                                 updated_by=who.id, created_at=now, updated_at=now)
            session.add(row)
            try:
                await session.flush()
            except IntegrityError as exc:  # a concurrent create took the name
                raise Conflict("name_taken", f"já existe uma intenção da equipe chamada {name}") from exc
            version = await self._bump(session, events, who, "bot.intent.create", f"intent:{name}",
                                       {"examples": len(data.examples), "reason": data.reason})
            if override is not None:
                await self._bump(session, events, who, "bot.intent.red_flag_override", f"intent:{name}",
                                 {"reason": data.override_reason, "examples": len(override["examples"])})
                version += 1
            view = intent_view(row)
        return {**view, "version": version, "warnings": [w.message for w in verdict.warnings]}

    async def update_intent(self, who: StaffIdentity, name: str, changes: Mapping[str, Any],
                            override_reason: str | None) -> dict[str, Any]:
        """Change any of reason, examples, answer, handoff (the fields sent). Raises a DomainError."""
        async with self.uow() as (session, _):
            row = await self._intent(session, name)
            current = IntentInput(row.name, row.reason, list(row.examples), row.answer_text,
                                  list(row.answer_buttons or []), row.handoff)
            others = await self._other_examples(session, row.name)
        merged = IntentInput(
            name=current.name,
            reason=changes.get("reason", current.reason),
            examples=changes.get("examples", current.examples),
            answer_text=changes["answer_text"] if "answer_text" in changes else current.answer_text,
            buttons=changes["buttons"] if "buttons" in changes else
            ([] if changes.get("answer_text", current.answer_text) is None else current.buttons),
            handoff=changes["handoff"] if "handoff" in changes else current.handoff,
            override_reason=override_reason,
        )
        verdict = self._verdict(merged, current.name, others)
        self._refuse(verdict)
        old_keys = {rules.normalize_text(e) for e in current.examples}
        # A reason moved away from urgent re-reads every example; otherwise only the new ones.
        fresh = merged.examples if current.reason == "urgent" and merged.reason != "urgent" else \
            [e for e in merged.examples if rules.normalize_text(e) not in old_keys]
        override = await self._red_flags(who, merged, fresh)
        async with self.uow() as (session, events):
            row = await self._intent(session, current.name)
            row.reason, row.examples = merged.reason, list(merged.examples)
            row.answer_text, row.answer_buttons, row.handoff = merged.answer_text, list(merged.buttons), merged.handoff
            if override is not None:
                row.red_flag_override = override
            row.updated_by, row.updated_at = who.id, utcnow()
            version = await self._bump(session, events, who, "bot.intent.update", f"intent:{row.name}",
                                       {"fields": sorted(changes)})
            if override is not None:
                version = await self._bump(session, events, who, "bot.intent.red_flag_override",
                                           f"intent:{row.name}",
                                           {"reason": override_reason, "examples": len(override["examples"])})
            view = intent_view(row)
        return {**view, "version": version, "warnings": [w.message for w in verdict.warnings]}

    async def delete_intent(self, who: StaffIdentity, name: str) -> dict[str, Any]:
        """Remove a staff intent (its history stays in `bot_layer_changes`)."""
        async with self.uow() as (session, events):
            row = await self._intent(session, name)
            deleted = row.name
            await session.delete(row)
            version = await self._bump(session, events, who, "bot.intent.delete", f"intent:{deleted}",
                                       {"examples": list(row.examples), "reason": row.reason})
        return {"deleted": deleted, "version": version}

    # -- simple answers -----------------------------------------------------------------------

    async def answers(self) -> dict[str, Any]:
        """Every simple answer staff may reword: the bot's text and the staff's edit, if any."""
        async with self.uow() as (session, _):
            edits = {e.utter: e for e in (await session.execute(select(BotAnswerEdit))).scalars().all()}
        return {"answers": [{"name": k, "default": v, "text": edits[k].text if k in edits else v,
                             "edited": k in edits, "updated_at": _iso(edits[k].updated_at) if k in edits else None}
                            for k, v in sorted(self.simple_answers.items())]}

    async def edit_answer(self, who: StaffIdentity, utter: str, text: str | None) -> dict[str, Any]:
        """Set (or, with None, drop) the staff's text of a simple answer."""
        if utter not in self.simple_answers:
            raise NotFound("answer_not_editable",
                           "resposta desconhecida ou que não pode ser editada (tem botões, variáveis ou é "
                           "uma mensagem de segurança)")
        if text is not None:
            text = text.strip()
            if not text or len(text) > rules.MAX_ANSWER_CHARS:
                raise Invalid("invalid_answer",
                              f"o texto precisa ter de 1 a {rules.MAX_ANSWER_CHARS} caracteres")
        async with self.uow() as (session, events):
            row = await session.get(BotAnswerEdit, utter)
            if text is None:
                if row is None:
                    raise NotFound("not_edited", "esta resposta não foi editada")
                await session.delete(row)
            elif row is None:
                session.add(BotAnswerEdit(utter=utter, text=text, updated_by=who.id, updated_at=utcnow()))
            else:
                row.text, row.updated_by, row.updated_at = text, who.id, utcnow()
            version = await self._bump(session, events, who,
                                       "bot.answer.edit" if text is not None else "bot.answer.reset",
                                       f"answer:{utter}")
        return {"name": utter, "text": text if text is not None else self.simple_answers[utter],
                "edited": text is not None, "version": version}

    # -- the review inbox ---------------------------------------------------------------------

    async def review(self, who: StaffIdentity, days: int = 30, limit: int = 100) -> dict[str, Any]:
        """Patient messages the bot was unsure about, grouped by normalized (masked) text.

        A message is in when the bot read it as fallback/out_of_scope or under the confidence
        threshold, when its conversation's reason was corrected by an attendant, or when the
        patient asked for a person / complained right after a bot answer. Labelled messages are out.
        """
        since = utcnow() - timedelta(days=days)
        async with self.uow() as (session, _):
            labelled = select(BotLabel.message_id)
            rows = (await session.execute(
                select(Message).where(Message.direction == "in", Message.sender == "patient",
                                      Message.created_at >= since, Message.processed_at.is_not(None),
                                      Message.intent.is_not(None), Message.id.not_in(labelled))
                .order_by(Message.id.desc()).limit(REVIEW_SCAN_LIMIT)
            )).scalars().all()
            corrected = {c: d for c, d in (await session.execute(
                select(ConversationEvent.conversation_id, ConversationEvent.data)
                .where(ConversationEvent.type == ev.REASON_CORRECTED, ConversationEvent.created_at >= since)
                .order_by(ConversationEvent.id)
            )).all()}
            # Messages of patients who refused or revoked consent are not offered for training (LGPD).
            revoked = await revoked_conversations(session, {m.conversation_id for m in rows})
            rows = [m for m in rows if m.conversation_id not in revoked and m.redacted_at is None]
            human_after_bot = await self._asked_for_human_after_bot(session, [m for m in rows
                                                                              if m.intent in rules.HUMAN_INTENTS])
            session.add(AuditLog(staff_id=who.id, action="bot.review.read", subject=None, created_at=utcnow()))
        groups: dict[str, dict[str, Any]] = {}
        for m in rows:
            flags = rules.review_flags(m.intent, m.confidence, self.threshold)
            if m.conversation_id in corrected:
                flags.append("reason_corrected")
            if m.id in human_after_bot:
                flags.append("asked_for_human")
            if not flags:
                continue
            masked = rules.mask_personal_data(m.text or "")
            key = rules.normalize_text(masked)
            if not key:
                continue
            g = groups.get(key)
            if g is None:  # rows are newest first: the first one seen represents the group
                g = groups[key] = {"id": m.id, "text": masked, "count": 0, "intent": m.intent,
                                   "confidence": m.confidence, "reason": m.reason, "flags": [],
                                   "conversation_id": m.conversation_id, "conversation_ids": [],
                                   "message_ids": [], "corrected_reason": None, "last_at": _iso(m.created_at)}
            g["count"] += 1
            g["message_ids"].append(m.id)
            if m.conversation_id not in g["conversation_ids"]:
                g["conversation_ids"].append(m.conversation_id)
            g["flags"] = sorted(set(g["flags"]) | set(flags))
            if m.conversation_id in corrected and g["corrected_reason"] is None:
                g["corrected_reason"] = corrected[m.conversation_id].get("to")
        items = sorted(groups.values(), key=lambda g: (-g["count"], -g["id"]))[:limit]
        return {"threshold": self.threshold, "items": items}

    async def _asked_for_human_after_bot(self, session: AsyncSession, candidates: Sequence[Message]) -> set[int]:
        """The candidates whose previous message in their conversation was a bot answer."""
        found: set[int] = set()
        for m in candidates[:500]:
            prev = (await session.execute(
                select(Message.sender).where(Message.conversation_id == m.conversation_id, Message.id < m.id)
                .order_by(Message.id.desc()).limit(1))).scalar_one_or_none()
            if prev == "bot":
                found.add(m.id)
        return found

    def known_intent(self, name: str, staff_names: Iterable[str]) -> bool:
        """An intent a message may be labelled with: the bot's own (bot/reasons.yml) or a staff one."""
        return name in self.reason_map or name in set(staff_names)

    async def label(self, who: StaffIdentity, message_id: int, intent: str | None, ignore: bool,
                    also: Sequence[int], override_reason: str | None = None) -> dict[str, Any]:
        """Label a patient message (and the same group's `also` ids) with an intent, or ignore it.

        A message the bot reads as a red flag may go into a non-urgent intent only with an
        admin's override reason (like a staff intent's examples)."""
        if ignore == (intent is not None):
            raise Invalid("invalid_label", "informe intent ou ignore: true (um dos dois)")
        ids = list(dict.fromkeys([message_id, *also]))
        if len(ids) > 500:
            raise Invalid("too_many_messages", "no máximo 500 mensagens por vez")
        async with self.uow() as (session, _):
            reason = "other"
            if intent is not None:
                staff = dict((await session.execute(select(BotStaffIntent.name, BotStaffIntent.reason))).tuples().all())
                key = intent if intent in self.reason_map else (rules.staff_intent_name(intent) or intent)
                if not self.known_intent(key, staff):
                    raise Invalid("unknown_intent", f"intenção desconhecida: {intent!r}")
                intent, reason = key, self.reason_map.get(key) or staff[key]
            msgs = (await session.execute(select(Message).where(Message.id.in_(ids)))).scalars().all()
            if len(msgs) != len(ids) or any(m.direction != "in" or m.sender != "patient" for m in msgs):
                raise NotFound("not_found", "mensagem de paciente não encontrada")
            texts = {m.id: rules.mask_personal_data(m.text or "") for m in msgs}
        override = None
        if intent is not None and reason != "urgent":
            override = await self._gate(who, list(texts.values()), override_reason)
        async with self.uow() as (session, events):
            msgs = (await session.execute(select(Message).where(Message.id.in_(ids)))).scalars().all()
            existing = {lb.message_id: lb for lb in (await session.execute(
                select(BotLabel).where(BotLabel.message_id.in_(ids)))).scalars().all()}
            now = utcnow()
            for m in msgs:
                text = texts[m.id]
                row = existing.get(m.id)
                if row is None:
                    row = BotLabel(message_id=m.id, text=text, intent=intent, ignored=ignore,
                                   staff_id=who.id, created_at=now)
                    session.add(row)
                else:
                    row.text, row.intent, row.ignored, row.staff_id, row.created_at = text, intent, ignore, who.id, now
                row.red_flag_override = override if override and text in override["examples"] else None
            version = await self._bump(session, events, who, "bot.review.ignore" if ignore else "bot.review.label",
                                       f"message:{message_id}", {"intent": intent, "messages": len(ids)})
            if override is not None:
                version = await self._bump(session, events, who, "bot.review.red_flag_override",
                                           f"message:{message_id}",
                                           {"reason": override_reason, "messages": len(override["examples"])})
        return {"message_ids": ids, "intent": intent, "ignored": ignore, "version": version}

    # -- export -------------------------------------------------------------------------------

    async def export(self, who: StaffIdentity | None = None) -> dict[str, Any]:
        """The layer as JSON for a training run (personal data masked once more on the way out)."""
        async with self.uow() as (session, _):
            version = int((await session.execute(select(BotLayer.version).where(BotLayer.id == 1))).scalar_one())
            intents = (await session.execute(select(BotStaffIntent).order_by(BotStaffIntent.name))).scalars().all()
            edits = (await session.execute(select(BotAnswerEdit).order_by(BotAnswerEdit.utter))).scalars().all()
            labels = (await session.execute(select(BotLabel).where(BotLabel.ignored.is_(False))
                                            .order_by(BotLabel.id))).scalars().all()
            if who is not None:
                session.add(AuditLog(staff_id=who.id, action="bot.layer.export", subject=f"version:{version}",
                                     created_at=utcnow()))
        return export_layer(version, intents, edits, labels)


def export_layer(version: int, intents: Sequence[BotStaffIntent], edits: Sequence[BotAnswerEdit],
                 labels: Sequence[BotLabel]) -> dict[str, Any]:
    """The layer format: `{"version", "intents": [{"name", "reason", "examples", "answer": {"text",
    "buttons"}|null, "handoff": {"queue", "skill"}|null, "override"?: {"by", "reason"}}], "answers":
    {"utter_x": "text"}, "labelled": [{"text", "intent", "override"?}]}` (an `override` is an admin's
    red-flag release)."""
    mask = rules.mask_personal_data
    return {
        "version": version,
        "intents": [{"name": i.name, "reason": i.reason, "examples": [mask(e) for e in i.examples],
                     "answer": {"text": i.answer_text, "buttons": list(i.answer_buttons or [])}
                     if i.answer_text is not None else None,
                     "handoff": i.handoff,
                     **({"override": _override(i.red_flag_override)} if i.red_flag_override else {})}
                    for i in intents],
        "answers": {e.utter: e.text for e in edits},
        "labelled": [{"text": mask(lb.text), "intent": lb.intent,
                      **({"override": _override(lb.red_flag_override)} if lb.red_flag_override else {})}
                     for lb in labels if lb.intent],
    }


def _override(record: Mapping[str, Any]) -> dict[str, Any]:
    """An admin's red-flag release as the layer carries it: `{"by", "reason"}`."""
    return {"by": str(record.get("by") or record.get("by_id") or ""), "reason": str(record.get("reason") or "")}

