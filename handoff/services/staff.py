"""Staff accounts, login tokens and the audit log."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from handoff.adapters.sql.database import as_utc, utcnow
from handoff.adapters.sql.models import AuditLog, StaffToken, StaffUser
from handoff.services import login_throttle as throttle
from handoff.services.login_throttle import ThrottlePolicy
from handoff.services.unit_of_work import UnitOfWork

ROLES = ("attendant", "manager", "admin")
_hasher = PasswordHasher()  # Argon2id with the library's current recommended parameters
# Verified against when the e-mail is unknown, so timing does not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


@dataclass(frozen=True)
class StaffIdentity:
    """Who is asking (resolved from a bearer token)."""

    id: int
    email: str
    name: str
    role: str
    grants: tuple[str, ...] = ()  # StaffUser.grants (handoff.domain.access)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def ensure_admin(uow: UnitOfWork, email: str, password: str | None) -> str | None:
    """Create the first admin if absent. Returns the generated password when one was made."""
    async with uow() as (session, _):
        existing = (await session.execute(select(StaffUser).where(StaffUser.email == email))).scalar_one_or_none()
        if existing is not None:
            return None
        generated = None
        if not password:
            generated = password = secrets.token_urlsafe(12)
        session.add(
            StaffUser(
                email=email,
                name="Administrador",
                role="admin",
                password_hash=_hasher.hash(password),
                active=True,
                created_at=utcnow(),
            )
        )
        return generated


class StaffExists(ValueError):
    """An account with that e-mail already exists."""


async def create_staff(
    uow: UnitOfWork,
    email: str,
    name: str,
    role: str,
    password: str,
    *,
    skills: Sequence[str] = (),
    queues: Sequence[str] = (),
    max_concurrent: int = 4,
    max_per_channel: Mapping[str, int] | None = None,
    grants: Sequence[str] = (),
) -> int:
    """Create a staff account (admin use). Raises StaffExists on a taken e-mail."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role}")
    try:
        async with uow() as (session, _):
            user = StaffUser(
                email=email.lower(), name=name, role=role, password_hash=_hasher.hash(password), active=True,
                created_at=utcnow(), skills=sorted(set(skills)), queues=list(dict.fromkeys(queues)),
                max_concurrent=max_concurrent, max_per_channel=dict(max_per_channel or {}), presence="offline",
                grants=sorted(set(grants)),
            )
            session.add(user)
            await session.flush()
            return user.id
    except IntegrityError as exc:
        raise StaffExists(email) from exc


# Demo team of the demo clinic: reception/billing, reception/exams/billing, nursing (clinical + on-call).
_INSURERS = ("amil", "bradesco_saude", "hapvida", "porto_seguro", "sulamerica", "unimed")
_SPECIALTIES = ("cardiologia", "clinica_geral", "dermatologia", "endocrinologia", "ginecologia", "oftalmologia",
                "ortopedia", "pediatria")
DEMO_STAFF: tuple[dict[str, Any], ...] = (
    {"email": "ana@clinica.example", "name": "Ana Souza", "role": "attendant",
     "queues": ("reception", "billing"), "skills": tuple(f"insurer:{i}" for i in _INSURERS)},
    {"email": "bruno@clinica.example", "name": "Bruno Lima", "role": "attendant",
     "queues": ("reception", "exams", "billing"), "skills": tuple(f"insurer:{i}" for i in _INSURERS)},
    {"email": "carla@clinica.example", "name": "Carla Mendes (enfermagem)", "role": "attendant",
     "queues": ("clinical", "on_call", "reception"), "skills": tuple(f"specialty:{s}" for s in _SPECIALTIES)},
    {"email": "gerente@clinica.example", "name": "Marina Alves (gerente)", "role": "manager",
     "queues": (), "skills": ()},
)


async def ensure_demo_staff(uow: UnitOfWork, password: str | None) -> tuple[list[str], str | None]:
    """Create the demo team's missing accounts. Returns (created e-mails, generated password or None)."""
    async with uow() as (session, _):
        existing = set((await session.execute(select(StaffUser.email))).scalars().all())
    missing = [d for d in DEMO_STAFF if d["email"] not in existing]
    if not missing:
        return [], None
    generated = None
    if not password:
        generated = password = secrets.token_urlsafe(12)
    created: list[str] = []
    for d in missing:
        try:
            await create_staff(uow, d["email"], d["name"], d["role"], password, skills=d["skills"],
                               queues=d["queues"])
            created.append(d["email"])
        except StaffExists:
            continue  # another replica seeded it first
    return created, generated if created else None


@dataclass(frozen=True)
class StaffChanges:
    """What an admin changes on an account (None: unchanged)."""

    name: str | None = None
    role: str | None = None
    active: bool | None = None
    password: str | None = None
    skills: Sequence[str] | None = None
    queues: Sequence[str] | None = None
    max_concurrent: int | None = None
    max_per_channel: Mapping[str, int] | None = None
    grants: Sequence[str] | None = None  # handoff.domain.access.GRANTS


def hash_password(password: str) -> str:
    """Argon2id hash of a new password."""
    return _hasher.hash(password)


async def revoke_all(session: Any, staff_id: int) -> None:
    """End every session of one account (deactivation, password reset)."""
    await session.execute(delete(StaffToken).where(StaffToken.staff_id == staff_id))


async def revoke(uow: UnitOfWork, token: str) -> None:
    """Invalidate a login token (logout)."""
    async with uow() as (session, _):
        await session.execute(delete(StaffToken).where(StaffToken.token_hash == _digest(token)))


async def login(uow: UnitOfWork, email: str, password: str, ttl_hours: int, *, client_ip: str | None = None,
                policy: ThrottlePolicy | None = None) -> str | None:
    """Check the password and issue a token (None on bad credentials).

    Rate limited (`services/login_throttle.py`): raises `LoginLocked` while the e-mail or the
    client address is locked, whether or not the account exists; the password is then not checked.
    """
    policy = policy or ThrottlePolicy()
    keys = {"email": throttle.email_key(email)}
    if client_ip:
        keys["ip"] = throttle.ip_key(client_ip)
    async with uow() as (session, _):
        locked = await throttle.locked_for(session, list(keys.values()))
        if locked is not None:
            raise locked
        user = (
            await session.execute(select(StaffUser).where(StaffUser.email == email.lower(), StaffUser.active))
        ).scalar_one_or_none()
        try:
            _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        except VerificationError:
            await throttle.register_failure(session, uow.dialect, keys, policy, user.id if user else None)
            return None
        if user is None:  # someone typed the dummy password for an unknown e-mail: still a failure
            await throttle.register_failure(session, uow.dialect, keys, policy, None)
            return None
        await throttle.clear(session, keys["email"])
        token = secrets.token_urlsafe(32)
        now = utcnow()
        session.add(
            StaffToken(token_hash=_digest(token), staff_id=user.id, expires_at=now + timedelta(hours=ttl_hours),
                       created_at=now)
        )
        session.add(AuditLog(staff_id=user.id, action="login", subject=None, created_at=now))
        return token


async def identify(uow: UnitOfWork, token: str) -> StaffIdentity | None:
    """Resolve a bearer token to a staff member (None when unknown or expired)."""
    async with uow() as (session, _):
        row = (
            await session.execute(
                select(StaffToken, StaffUser)
                .join(StaffUser, StaffUser.id == StaffToken.staff_id)
                .where(StaffToken.token_hash == _digest(token), StaffUser.active)
            )
        ).first()
        if row is None:
            return None
        tok, user = row
        if (as_utc(tok.expires_at) or utcnow()) < utcnow():
            return None
        return StaffIdentity(user.id, user.email, user.name, user.role, tuple(user.grants or ()))


async def audit(uow: UnitOfWork, staff_id: int | None, action: str, subject: str | None, *,
                patient_id: int | None = None, reason: str | None = None) -> None:
    """Record one access by staff (never the data itself, only what was accessed): whose data
    (`patient_id`) and the reason given for a sensitive view."""
    async with uow() as (session, _):
        session.add(AuditLog(staff_id=staff_id, action=action, subject=subject, created_at=utcnow(),
                             patient_id=patient_id, reason=reason))
