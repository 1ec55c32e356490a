"""Staff administration in the inbox: the signed-in member's profile, agents with presence and
occupancy (managers) and account changes (admins: deactivating one ends its sessions and takes
its conversations back to their queues)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from handoff.adapters.sql import handoff_store as hs
from handoff.adapters.sql.database import utcnow
from handoff.adapters.sql.models import AuditLog, Conversation, StaffUser
from handoff.domain.errors import Conflict, NotFound
from handoff.domain.routing import Presence
from handoff.services.assignment import requeue_conversation
from handoff.services.inbox_queries import InboxQueries
from handoff.services.inbox_views import actor_of, iso
from handoff.services.notify import kick_assignment
from handoff.services.staff import StaffChanges, StaffIdentity, hash_password, revoke_all
from handoff.services.unit_of_work import STAFF_TOPIC


class StaffAdmin(InboxQueries):
    """Profiles, agents and account changes."""

    async def me(self, who: StaffIdentity) -> dict[str, Any]:
        """The signed-in staff member's profile."""
        async with self.uow() as (session, _):
            row = await self._me(session, who)
            loads = await hs.open_loads(session)
            return self._agent_view(row, loads)

    def _agent_view(self, row: StaffUser, loads: dict[int, dict[str, int]]) -> dict[str, Any]:
        open_by_channel = loads.get(row.id, {})
        total = sum(open_by_channel.values())
        return {
            "id": row.id, "email": row.email, "name": row.name, "role": row.role,
            "skills": list(row.skills or []), "queues": sorted(self.queues_of(row)),
            "queues_configured": list(row.queues or []),
            "max_concurrent": row.max_concurrent, "max_per_channel": dict(row.max_per_channel or {}),
            "presence": row.presence, "presence_at": iso(row.presence_at),
            "open": total, "open_by_channel": open_by_channel,
            "occupancy": round(total / row.max_concurrent, 3) if row.max_concurrent else None,
            "last_assigned_at": iso(row.last_assigned_at), "active": row.active,
            "grants": list(row.grants or []),
        }

    async def agents(self) -> list[dict[str, Any]]:
        """Every active staff member with presence and occupancy (managers)."""
        async with self.uow() as (session, _):
            rows = await hs.active_staff(session, self.uow.dialect)
            loads = await hs.open_loads(session)
            return [self._agent_view(r, loads) for r in rows]

    async def staff_accounts(self) -> list[dict[str, Any]]:
        """Every account, deactivated ones included (admins manage them)."""
        async with self.uow() as (session, _):
            rows = (await session.execute(select(StaffUser).order_by(StaffUser.id))).scalars().all()
            loads = await hs.open_loads(session)
            return [self._agent_view(r, loads) for r in rows]

    async def update_staff(self, who: StaffIdentity, staff_id: int, changes: StaffChanges) -> dict[str, Any]:
        """Change an account (admins). Deactivating one ends its sessions and takes its
        conversations back to their queues at once (including those waiting on the patient),
        so nothing stays with someone who can no longer log in. The clinic always keeps one
        active admin, and an admin cannot lock themself out."""
        async with self.uow() as (session, events):
            me = await self._me(session, who)
            row = await session.get(StaffUser, staff_id, populate_existing=True)
            if row is None:
                raise NotFound("not_found", "conta não encontrada")
            loses_admin = row.role == "admin" and row.active and (
                changes.active is False or changes.role not in (None, "admin"))
            if loses_admin and row.id == me.id:
                raise Conflict("self_lockout", "você não pode remover o seu próprio acesso de administrador")
            if loses_admin:
                admins = (await session.execute(select(StaffUser.id).where(
                    StaffUser.role == "admin", StaffUser.active, StaffUser.id != row.id))).scalars().all()
                if not admins:
                    raise Conflict("last_admin", "a clínica precisa de pelo menos um administrador ativo")
            now = utcnow()
            for name in ("name", "role", "max_concurrent"):
                value = getattr(changes, name)
                if value is not None:
                    setattr(row, name, value)
            if changes.skills is not None:
                row.skills = sorted(set(changes.skills))
            if changes.queues is not None:
                row.queues = list(dict.fromkeys(changes.queues))
            if changes.grants is not None:
                row.grants = sorted(set(changes.grants))
            if changes.max_per_channel is not None:
                row.max_per_channel = dict(changes.max_per_channel)
            if changes.password is not None:
                row.password_hash = hash_password(changes.password)
                await revoke_all(session, row.id)
            if changes.active is not None:
                row.active = changes.active
            if changes.active is False:
                await revoke_all(session, row.id)
                row.presence, row.presence_at = Presence.OFFLINE.value, now
                held = (await session.execute(select(Conversation.id).where(
                    Conversation.assigned_agent_id == row.id, Conversation.state.in_(hs.HELD_STATES)))).scalars().all()
                for conv_id in held:
                    conv = await hs.conversation_for_update(session, self.uow.dialect, conv_id)
                    if conv is not None and conv.assigned_agent_id == row.id and conv.state in hs.HELD_STATES:
                        await requeue_conversation(session, events, conv, "agent_deactivated", exclude=False,
                                                   actor=actor_of(me))
                # An assignment run that read the account as active just before this commit may
                # still give it a conversation: its next run requeues it (the account is no longer
                # an active agent), so nothing is lost.
            kick_assignment(events)  # queues, skills or capacity may have changed
            # Open staff sockets of this account re-read its queues, or close when deactivated.
            events.add(STAFF_TOPIC, {"type": "account_changed", "agent_id": row.id, "active": row.active})
            session.add(AuditLog(staff_id=me.id, action="update_staff", subject=f"staff:{row.id}", created_at=now))
            loads = await hs.open_loads(session)
            return self._agent_view(row, loads)
