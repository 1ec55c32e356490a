"""The handoff configuration: queues and strategies, SLA policies, the clinic's business calendar.

Built once at start from settings and the clinic profile's opening hours (the demo clinic's
hours when no profile exists yet). Everything in it is pure domain configuration.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from handoff.adapters.sql.database import Database
from handoff.adapters.sql.models import ClinicProfile
from handoff.domain.business_time import BusinessCalendar
from handoff.domain.clinic.calendar import hours_from_json
from handoff.domain.routing import RequeuePolicy, RoutingConfig, Strategy, default_routing
from handoff.domain.sla import DEFAULT_LADDER, DEFAULT_POLICIES, EscalationLevel, SlaPolicy, SlaPolicyBook
from handoff.settings import Settings

# Opening hours used when the database has no clinic profile (same as the demo clinic).
DEFAULT_HOURS: list[dict[str, object]] = [
    *({"weekday": wd, "intervals": [["08:00", "12:00"], ["13:00", "18:00"]]} for wd in range(5)),
    {"weekday": 5, "intervals": [["08:00", "12:00"]]},
    {"weekday": 6, "intervals": []},
]
SKILL_KINDS = ("specialty", "insurer", "unit")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class HandoffConfig:
    """Routing, SLA and requeue rules in force in this hub process."""

    routing: RoutingConfig
    policies: SlaPolicyBook
    calendar: BusinessCalendar
    requeue: RequeuePolicy
    ladder: tuple[EscalationLevel, ...] = DEFAULT_LADDER
    sticky_seconds: float = 24 * 3600.0

    @property
    def queue_names(self) -> tuple[str, ...]:
        """Every queue, in configuration order."""
        return tuple(q.name for q in self.routing.queues)

    def policy(self, queue: str | None, priority: str) -> SlaPolicy:
        """The SLA policy of a conversation (unknown priorities fall back to normal)."""
        try:
            return self.policies.policy_for(queue, priority)
        except KeyError:
            return self.policies.policy_for(queue, "normal")

    @classmethod
    def build(cls, settings: Settings, hours_json: Sequence[Mapping[str, object]] | None = None) -> HandoffConfig:
        """From settings and the clinic's opening hours (`ClinicProfile.hours` shape)."""
        calendar = BusinessCalendar.weekly(hours_from_json(hours_json or DEFAULT_HOURS))
        routing = _with_strategies(default_routing(calendar), settings.queue_strategies)
        return cls(
            routing=routing,
            policies=_policies(settings.sla_policies),
            calendar=calendar,
            requeue=RequeuePolicy(
                no_answer_seconds=settings.requeue_no_answer_seconds,
                offline_grace_seconds=settings.requeue_offline_grace_seconds,
            ),
            sticky_seconds=settings.sticky_agent_hours * 3600.0,
        )


async def load_handoff_config(db: Database, settings: Settings) -> HandoffConfig:
    """The configuration with the clinic's own opening hours."""
    async with db.session() as s:
        hours = (await s.execute(select(ClinicProfile.hours).order_by(ClinicProfile.id).limit(1))).scalar_one_or_none()
    return HandoffConfig.build(settings, hours or None)


def _with_strategies(config: RoutingConfig, spec: str | None) -> RoutingConfig:
    """Apply ``"reception=round_robin,exams=manual"`` (ValueError on an unknown queue/strategy)."""
    if not spec or not spec.strip():
        return config
    wanted: dict[str, Strategy] = {}
    for part in spec.split(","):
        if not part.strip():
            continue
        name, _, value = part.partition("=")
        config.queue(name.strip())  # KeyError -> unknown queue
        wanted[name.strip()] = Strategy(value.strip())
    queues = tuple(dataclasses.replace(q, strategy=wanted.get(q.name, q.strategy)) for q in config.queues)
    return dataclasses.replace(config, queues=queues)


_POLICY_FIELDS = {
    "first_response": "first_response_seconds",
    "next_response": "next_response_seconds",
    "resolution": "resolution_seconds",
    "business_hours": "business_hours",
    "warning_ratio": "warning_ratio",
}


def _policy(base: SlaPolicy, raw: Mapping[str, Any]) -> SlaPolicy:
    changes = {_POLICY_FIELDS[k]: v for k, v in raw.items() if k in _POLICY_FIELDS}
    unknown = set(raw) - set(_POLICY_FIELDS)
    if unknown:
        raise ValueError(f"unknown SLA policy fields: {', '.join(sorted(unknown))}")
    return dataclasses.replace(base, **changes)


def _policies(spec: str | None) -> SlaPolicyBook:
    """Defaults overridden by ``{"normal": {...}, "billing/high": {...}}`` (queue/priority)."""
    if not spec:
        return SlaPolicyBook()
    data = json.loads(spec)
    if not isinstance(data, dict):
        raise ValueError("SLA_POLICIES must be a JSON object")
    by_priority = dict(DEFAULT_POLICIES)
    by_queue: dict[tuple[str, str], SlaPolicy] = {}
    for key, raw in data.items():
        if not isinstance(raw, dict):
            raise ValueError(f"SLA_POLICIES[{key}] must be an object")
        queue, _, priority = key.rpartition("/")
        if priority not in DEFAULT_POLICIES:
            raise ValueError(f"unknown priority in SLA_POLICIES: {priority}")
        policy = _policy(by_priority[priority], raw)
        if queue:
            by_queue[(queue, priority)] = policy
        else:
            by_priority[priority] = policy
    return SlaPolicyBook(by_priority=by_priority, by_queue=by_queue)


def clean_attributes(values: Any) -> list[str]:
    """Routing attributes from untrusted input: ``kind:value`` with a known kind, lowercase."""
    out: set[str] = set()
    if not isinstance(values, list | tuple):
        return []
    for value in values:
        if not isinstance(value, str):
            continue
        kind, sep, slug = value.strip().lower().partition(":")
        if sep and kind in SKILL_KINDS and _SLUG.match(slug):
            out.add(f"{kind}:{slug}")
    return sorted(out)


_PRIVATE = ("cpf", "birth", "nascimento", "senha", "password", "token")
_INTERNAL_SLOTS = frozenset({"requested_slot", "session_started_metadata", "pending_intent"})
_MAX_SLOT_JSON = 2000


def _private(name: str) -> bool:
    lowered = name.lower()
    return any(p in lowered for p in _PRIVATE)


def _scrub(value: Any, depth: int = 0) -> Any:
    if isinstance(value, dict):
        if depth >= 2:
            return None
        return {str(k): _scrub(v, depth + 1) for k, v in value.items() if not _private(str(k)) and v is not None}
    if isinstance(value, list | tuple):
        return [_scrub(v, depth + 1) for v in list(value)[:20]]
    if isinstance(value, str):
        return value[:200]
    if value is None or isinstance(value, bool | int | float):
        return value
    return str(value)[:200]


def bot_context_slots(slots: Mapping[str, Any]) -> dict[str, Any]:
    """What the bot collected, for the attendant: set slots only, no CPF/birth date, bounded size."""
    out: dict[str, Any] = {}
    for name, value in slots.items():
        if value is None or name in _INTERNAL_SLOTS or _private(name):
            continue
        clean = _scrub(value)
        if len(json.dumps(clean, default=str)) > _MAX_SLOT_JSON:
            continue
        out[name] = clean
    return out


def slot_attributes(slots: Mapping[str, Any]) -> list[str]:
    """Routing attributes (``specialty:cardiologia``…) found in slots or one level inside them."""
    found: list[str] = []
    for scope in [slots, *(v for v in slots.values() if isinstance(v, dict))]:
        for kind in SKILL_KINDS:
            value = scope.get(kind)
            if isinstance(value, str) and value:
                found.append(f"{kind}:{value}")
    return clean_attributes(found)
