"""Login rate limiting and lockout (issue 13), kept in the `login_throttle` table.

Two keys are counted for every failed login: `email:<lowercased address>` (whether or not an
account has it, so a locked answer never reveals which accounts exist) and `ip:<client address>`.
A key that reaches its limit within the window is locked for `lock_seconds`; while either key of
a login is locked the password is not even checked. A successful login clears the e-mail key.

Counting is one atomic upsert (`INSERT … ON CONFLICT DO UPDATE SET failures = failures + 1`), so
concurrent failures on PostgreSQL are never undercounted, and every hub replica shares the count.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, and_, case, delete, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from handoff.adapters.sql.database import as_utc, utcnow
from handoff.adapters.sql.models import AuditLog, LoginThrottle

_KEY_MAX = 400  # login_throttle.key


@dataclass(frozen=True)
class ThrottlePolicy:
    """Limits (settings LOGIN_* in `.env.example`)."""

    email_max_failures: int = 5
    ip_max_failures: int = 20
    window_seconds: float = 900.0
    lock_seconds: float = 900.0


class LoginLocked(Exception):
    """Too many failed logins for this e-mail or this client address; retry after `retry_after` s."""

    def __init__(self, scope: str, retry_after: int) -> None:
        super().__init__(f"login locked ({scope})")
        self.scope = scope
        self.retry_after = retry_after


def _bounded(prefix: str, value: str) -> str:
    key = f"{prefix}:{value}"
    if len(key) <= _KEY_MAX:
        return key
    return f"{prefix}:sha256:{hashlib.sha256(value.encode()).hexdigest()}"


def email_key(email: str) -> str:
    """Throttle key of an e-mail address (lowercased; hashed when absurdly long)."""
    return _bounded("email", email.strip().lower())


def ip_key(address: str) -> str:
    """Throttle key of a client address."""
    return _bounded("ip", address.strip())


def _stamp(value: datetime) -> Any:
    return literal(value, DateTime(timezone=True))


async def locked_for(session: Any, keys: list[str]) -> LoginLocked | None:
    """The lock in force on any of `keys` (the longest), or None."""
    now = utcnow()
    rows = (await session.execute(select(LoginThrottle.key, LoginThrottle.locked_until)
                                  .where(LoginThrottle.key.in_(keys),
                                         LoginThrottle.locked_until.is_not(None)))).all()
    worst: LoginLocked | None = None
    for key, until in rows:
        until = as_utc(until)
        if until is None or until <= now:
            continue
        remaining = max(1, int((until - now).total_seconds() + 0.999))
        if worst is None or remaining > worst.retry_after:
            worst = LoginLocked(key.split(":", 1)[0], remaining)
    return worst


async def record_failure(session: Any, dialect: str, key: str, policy: ThrottlePolicy) -> int:
    """Count one failed login on `key` (atomically); returns the failures in the current window."""
    now = utcnow()
    cutoff = now - timedelta(seconds=policy.window_seconds)
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = LoginThrottle.__table__
    expired = table.c.window_start < _stamp(cutoff)
    stmt = insert(LoginThrottle).values(key=key, failures=1, window_start=now, locked_until=None)
    upsert = stmt.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "failures": case((expired, 1), else_=table.c.failures + 1),
            "window_start": case((expired, _stamp(now)), else_=table.c.window_start),
        },
    ).returning(table.c.failures)
    return int((await session.execute(upsert)).scalar_one())


async def lock(session: Any, key: str, seconds: float) -> bool:
    """Lock `key` for `seconds` unless a lock is already in force. True when this call locked it
    (so concurrent failures past the limit audit the lockout once)."""
    now = utcnow()
    result = await session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.key == key,
               or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= _stamp(now)))
        .values(locked_until=_stamp(now + timedelta(seconds=seconds)))
    )
    return bool(result.rowcount)


async def register_failure(session: Any, dialect: str, keys: dict[str, str], policy: ThrottlePolicy,
                           staff_id: int | None) -> None:
    """Count a failed login on its e-mail and address keys; lock a key that reached its limit and
    audit the lockout (`login.locked`: the scope and the staff id when the account exists; never
    the e-mail, the address or the password)."""
    limits = {"email": policy.email_max_failures, "ip": policy.ip_max_failures}
    for scope, key in keys.items():
        failures = await record_failure(session, dialect, key, policy)
        if failures >= limits[scope] and await lock(session, key, policy.lock_seconds):
            session.add(AuditLog(staff_id=staff_id if scope == "email" else None, action="login.locked",
                                 subject=scope, created_at=utcnow(),
                                 data={"scope": scope, "failures": failures,
                                       "lock_seconds": int(policy.lock_seconds)}))


async def clear(session: Any, key: str) -> None:
    """Forget the failures of `key` (a successful login clears its e-mail key)."""
    await session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))


async def purge(session: Any, policy: ThrottlePolicy) -> int:
    """Delete rows whose window and lock are both over (housekeeping; safe at any time)."""
    now = utcnow()
    cutoff = now - timedelta(seconds=policy.window_seconds)
    result = await session.execute(
        delete(LoginThrottle).where(and_(LoginThrottle.window_start < _stamp(cutoff),
                                         or_(LoginThrottle.locked_until.is_(None),
                                             LoginThrottle.locked_until <= _stamp(now))))
    )
    return int(result.rowcount or 0)
