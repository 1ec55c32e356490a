"""Access profiles: who may see, export or change which data, written down as data.

The one place the hub decides "may this staff member do X with data of kind Y". The API guards
(`handoff/api/auth.require_access`), the staff pages and the services ask `can(staff, action,
category)`; nothing else compares role names. `docs/access-matrix.md` is rendered from this
module (`render_markdown`) and a test fails when the two differ.

- Roles (`StaffUser.role`): attendant, manager, admin.
- Grants (`StaffUser.grants`, added to the role, never taken away): `privacy_officer` (the
  clinic's encarregado/DPO: audit log, data-subject requests, retention, incidents) and
  `all_queues` (an attendant who may open conversations outside their queues, with a reason).
- Scope: what `can` answers is per category; *which* conversations an attendant sees is the
  inbox's rule (`handoff/services/inbox.py`: their queues, what they hold or held or acted on,
  and the history of those patients). Managers and admins see every queue.
- Reasons (`needs_reason`, `clean_reason`): sensitive views outside the caller's own work
  scope, and every export, carry a reason of 3–300 characters, stored in `audit_log.reason`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

from handoff.domain.errors import Invalid

ROLES: tuple[str, ...] = ("attendant", "manager", "admin")
GRANTS: tuple[str, ...] = ("privacy_officer", "all_queues")
ACTIONS: tuple[str, ...] = ("view", "export", "change")

# category -> what it covers (rendered in the docs)
CATEGORIES: Mapping[str, str] = {
    "transcripts": "conversation messages, notes, events and the inbox lists (scoped to the attendant's queues)",
    "attachments": "files patients sent (images, PDFs, documents)",
    "patient_record": "patient card fields: name, phone, e-mail, CPF, consent, appointments, exams, bills; "
                      "patient merge",
    "metrics": "dashboard figures, agent presence and occupancy, metrics CSV",
    "audit": "the audit log of staff accesses (append-only: nobody changes it)",
    "privacy_requests": "data-subject requests (LGPD Art. 18/19): access, export, correction, erasure",
    "retention": "retention periods, legal holds and disposal runs",
    "incidents": "the security incident register (LGPD Art. 48)",
    "bot_review": "the bot review inbox (patient messages the bot misread) and their labels",
    "bot_training_data": "staff intents, training examples, simple answers and the exported layer",
    "bot_models": "training runs, the model registry, deploy and rollback",
    "staff_admin": "staff accounts: create, change role/queues/grants, deactivate",
    "integrations": "the delivery log of interaction records sent to the clinic's CRM/FHIR server "
                    "(status, attempts, ids; never message text) and its replay",
    "reminder_settings": "appointment reminder schedules per specialty and the reminder texts "
                         "(preview per channel, a test e-mail to oneself)",
}

_V, _E, _C = "view", "export", "change"

# role -> category -> allowed actions. A category absent from a role's row means no access.
ROLE_MATRIX: Mapping[str, Mapping[str, frozenset[str]]] = {
    "attendant": {
        "transcripts": frozenset({_V, _C}),
        "attachments": frozenset({_V}),
        "patient_record": frozenset({_V, _C}),
        "bot_review": frozenset({_V, _C}),
        "bot_training_data": frozenset({_V}),
    },
    "manager": {
        "transcripts": frozenset({_V, _C}),
        "attachments": frozenset({_V}),
        "patient_record": frozenset({_V, _C}),
        "metrics": frozenset({_V, _E}),
        "bot_review": frozenset({_V, _C}),
        "bot_training_data": frozenset({_V, _E, _C}),
        "bot_models": frozenset({_V, _C}),
        "integrations": frozenset({_V, _C}),
        "reminder_settings": frozenset({_V, _C}),
    },
    "admin": {
        "transcripts": frozenset({_V, _C}),
        "attachments": frozenset({_V}),
        "patient_record": frozenset({_V, _C}),
        "metrics": frozenset({_V, _E}),
        "audit": frozenset({_V, _E}),
        "privacy_requests": frozenset({_V, _E, _C}),
        "retention": frozenset({_V, _C}),
        "incidents": frozenset({_V, _E, _C}),
        "bot_review": frozenset({_V, _C}),
        "bot_training_data": frozenset({_V, _E, _C}),
        "bot_models": frozenset({_V, _C}),
        "staff_admin": frozenset({_V, _C}),
        "integrations": frozenset({_V, _C}),
        "reminder_settings": frozenset({_V, _C}),
    },
}

# grant -> category -> actions added to the role's.
GRANT_MATRIX: Mapping[str, Mapping[str, frozenset[str]]] = {
    "privacy_officer": {
        "audit": frozenset({_V, _E}),
        "privacy_requests": frozenset({_V, _E, _C}),
        "retention": frozenset({_V, _C}),
        "incidents": frozenset({_V, _E, _C}),
    },
    "all_queues": {},  # widens the scope of transcripts/attachments (see `sees_all_queues`)
}

SUPERVISOR_ROLES: frozenset[str] = frozenset({"manager", "admin"})
REASON_MIN, REASON_MAX = 3, 300
REASON_REQUIRED = "informe o motivo do acesso (de 3 a 300 caracteres)"


class Staff(Protocol):
    """Anything with a role and (optionally) grants: `StaffIdentity`, a `StaffUser` row."""

    @property
    def role(self) -> str: ...


def grants_of(staff: object) -> frozenset[str]:
    """The known grants of a staff member (unknown names are ignored)."""
    raw = getattr(staff, "grants", None) or ()
    return frozenset(g for g in raw if g in GRANT_MATRIX)


def allowed(role: str, grants: Iterable[str], category: str) -> frozenset[str]:
    """Every action a role plus grants may take on a category."""
    if category not in CATEGORIES:
        raise KeyError(f"unknown data category {category!r}")
    actions = set(ROLE_MATRIX.get(role, {}).get(category, frozenset()))
    for grant in grants:
        actions |= GRANT_MATRIX.get(grant, {}).get(category, frozenset())
    return frozenset(actions)


def can(staff: Staff | None, action: str, category: str) -> bool:
    """Whether `staff` may take `action` (view, export, change) on `category`. None (anonymous
    or the clinic service token) may do nothing here."""
    if action not in ACTIONS:
        raise KeyError(f"unknown action {action!r}")
    if staff is None:
        return False
    return action in allowed(staff.role, grants_of(staff), category)


def roles_allowed(action: str, category: str) -> tuple[str, ...]:
    """The roles that may take `action` on `category` without any grant."""
    return tuple(r for r in ROLES if action in allowed(r, (), category))


def is_supervisor(staff: Staff) -> bool:
    """Managers and admins: every queue, and acting on anyone's conversations."""
    return staff.role in SUPERVISOR_ROLES


def sees_all_queues(staff: Staff) -> bool:
    """Whether the conversation lists and views of every queue are open to `staff` (supervisors
    by role; attendants through the `all_queues` grant, each view outside their queues with a reason)."""
    return is_supervisor(staff) or "all_queues" in grants_of(staff)


def needs_reason(staff: Staff, *, in_own_scope: bool, export: bool = False) -> bool:
    """The smallest defensible rule (docs/access-matrix.md, "Reasons"): every export needs a
    reason; a view needs one when an attendant reaches outside their own work scope (their
    queues, what they hold, held or acted on, and those patients' history) through a grant.
    Supervisors' views are in their role's scope (audited, no reason)."""
    if export:
        return True
    return not in_own_scope and not is_supervisor(staff)


class ReasonError(Invalid, ValueError):
    """A missing or malformed reason (the message is pt-BR, shown to staff): 400 `invalid_reason`."""

    def __init__(self, message: str) -> None:
        super().__init__("invalid_reason", message)


def clean_reason(raw: object) -> str:
    """The reason, stripped and with control characters removed; ReasonError when it is not
    a string of 3–300 characters."""
    if not isinstance(raw, str):
        raise ReasonError(REASON_REQUIRED)
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in raw).split())
    if not REASON_MIN <= len(text) <= REASON_MAX:
        raise ReasonError(REASON_REQUIRED)
    return text


def render_markdown() -> str:
    """The matrix as the Markdown table in docs/access-matrix.md (between the markers)."""
    short = {"view": "V", "export": "E", "change": "C"}

    def cell(actions: frozenset[str]) -> str:
        return "".join(short[a] for a in ACTIONS if a in actions) or "—"

    columns = [*ROLES, *(f"+{g}" for g in GRANTS)]
    lines = ["| category | " + " | ".join(columns) + " | what it covers |",
             "|---|" + "---|" * len(columns) + "---|"]
    for category, covers in CATEGORIES.items():
        cells = [cell(allowed(r, (), category)) for r in ROLES]
        cells += [cell(GRANT_MATRIX[g].get(category, frozenset())) for g in GRANTS]
        lines.append(f"| {category} | " + " | ".join(cells) + f" | {covers} |")
    return "\n".join(lines) + "\n"
