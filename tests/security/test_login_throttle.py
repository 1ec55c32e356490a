"""Login rate limiting and lockout (issue 13) against the real app on SQLite and PostgreSQL.

The app is served in-process over ASGI (tests/clinic/conftest.py), so the client address is
127.0.0.1 unless a trusted proxy count lets X-Forwarded-For speak.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from handoff.adapters.sql.database import utcnow
from handoff.adapters.sql.models import AuditLog, LoginThrottle
from handoff.services import login_throttle as throttle
from handoff.services.login_throttle import ThrottlePolicy
from tests.clinic.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Hub, start_hub
from tests.conftest import Backend

UNKNOWN = "ninguem-aqui@clinica.example"


async def _login(hub: Hub, email: str, password: str, **headers: str) -> Any:
    return await hub.client.post("/api/auth/login", json={"email": email, "password": password}, headers=headers)


async def _audit(hub: Hub, action: str) -> list[AuditLog]:
    async with hub.app.ctx.db.session() as s:
        return list((await s.execute(select(AuditLog).where(AuditLog.action == action))).scalars().all())


async def _throttle_row(hub: Hub, key: str) -> LoginThrottle | None:
    async with hub.app.ctx.db.session() as s:
        row: LoginThrottle | None = (await s.execute(select(LoginThrottle).where(LoginThrottle.key == key))
                                     ).scalar_one_or_none()
        return row


async def test_email_lockout_same_answer_for_unknown_accounts_and_reset_on_success(
        backend: Backend, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    hub, life = await start_hub(backend, login_max_failures_per_email=3, login_max_failures_per_ip=100)
    try:
        # A success clears the e-mail key: two failures, a success, two failures → still open.
        for _ in range(2):
            assert (await _login(hub, ADMIN_EMAIL.upper(), "errada")).status_code == 401
        assert (await _throttle_row(hub, f"email:{ADMIN_EMAIL}")).failures == 2  # type: ignore[union-attr]
        assert (await _login(hub, ADMIN_EMAIL, ADMIN_PASSWORD)).status_code == 200
        assert await _throttle_row(hub, f"email:{ADMIN_EMAIL}") is None
        for _ in range(2):
            assert (await _login(hub, ADMIN_EMAIL, "errada")).status_code == 401
        assert (await _login(hub, ADMIN_EMAIL, ADMIN_PASSWORD)).status_code == 200

        # Three failures lock the account: even the right password is refused, with Retry-After.
        answers = {}
        for email in (ADMIN_EMAIL, UNKNOWN):
            codes = [(await _login(hub, email, "errada")).status_code for _ in range(3)]
            assert codes == [401, 401, 401]
            locked = await _login(hub, email, ADMIN_PASSWORD if email == ADMIN_EMAIL else "qualquer")
            assert locked.status_code == 429, locked.text
            retry = int(locked.headers["retry-after"])
            assert 800 <= retry <= 900
            answers[email] = locked.json()
        # The locked answer does not tell an existing account from an unknown e-mail.
        assert answers[ADMIN_EMAIL] == answers[UNKNOWN]
        assert answers[ADMIN_EMAIL]["error"]["code"] == "too_many_attempts"
        assert "tente novamente" in answers[ADMIN_EMAIL]["error"]["message"]

        # One audit row per lockout, without the e-mail or the password anywhere in it.
        rows = await _audit(hub, "login.locked")
        assert len(rows) == 2
        assert {r.subject for r in rows} == {"email"}
        assert sorted(r.staff_id is None for r in rows) == [False, True]  # the known account is named by id
        for r in rows:
            assert "@" not in repr((r.subject, r.reason, r.data))
        # Nothing logged carries the e-mail or the passwords.
        for record in caplog.records:
            line = record.getMessage()
            for secret in (ADMIN_EMAIL, UNKNOWN, "errada", ADMIN_PASSWORD):
                assert secret not in line, line

        # Another account on the same address is not affected by the e-mail lock.
        created = await hub.client.post("/api/staff", headers=await _admin_headers_after_unlock(hub),
                                        json={"email": "nova@clinica.example", "name": "Nova", "role": "attendant",
                                              "password": "senha-da-nova-123"})
        assert created.status_code in (200, 201), created.text
        assert (await _login(hub, "nova@clinica.example", "senha-da-nova-123")).status_code == 200
    finally:
        await hub.client.aclose()
        await life.stop()


async def _admin_headers_after_unlock(hub: Hub) -> dict[str, str]:
    """Lift the admin's lock (as the window passing would) and sign in."""
    async with hub.app.ctx.db.session() as s:
        await throttle.clear(s, throttle.email_key(ADMIN_EMAIL))
    return await hub.staff()


async def test_ip_rate_limit_429_and_forwarded_for_only_when_trusted(backend: Backend) -> None:
    hub, life = await start_hub(backend, login_max_failures_per_email=100, login_max_failures_per_ip=4)
    try:
        # X-Forwarded-For is ignored without trusted proxies: rotating it does not dodge the limit.
        for i in range(4):
            r = await _login(hub, f"a{i}@clinica.example", "x", **{"X-Forwarded-For": f"203.0.113.{i}"})
            assert r.status_code == 401
        r = await _login(hub, ADMIN_EMAIL, ADMIN_PASSWORD, **{"X-Forwarded-For": "203.0.113.99"})
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
        assert await _throttle_row(hub, "ip:127.0.0.1") is not None
        assert [r.subject for r in await _audit(hub, "login.locked")] == ["ip"]
    finally:
        await hub.client.aclose()
        await life.stop()

    hub, life = await start_hub(backend, login_max_failures_per_email=100, login_max_failures_per_ip=2,
                                trusted_proxy_count=1)
    try:
        # Behind one trusted proxy the client is the last X-Forwarded-For entry.
        for _ in range(2):
            assert (await _login(hub, UNKNOWN, "x", **{"X-Forwarded-For": "198.51.100.7"})).status_code == 401
        assert (await _login(hub, ADMIN_EMAIL, ADMIN_PASSWORD,
                             **{"X-Forwarded-For": "198.51.100.7"})).status_code == 429
        assert (await _login(hub, ADMIN_EMAIL, ADMIN_PASSWORD,
                             **{"X-Forwarded-For": "198.51.100.8"})).status_code == 200
    finally:
        await hub.client.aclose()
        await life.stop()


async def _age(hub: Hub, key: str, seconds: float) -> None:
    """Move a key's window and lock `seconds` into the past (as time passing would)."""
    async with hub.app.ctx.db.session() as s:
        row = (await s.execute(select(LoginThrottle).where(LoginThrottle.key == key))).scalar_one()
        row.window_start = utcnow() - timedelta(seconds=seconds)
        if row.locked_until is not None:
            row.locked_until = utcnow() - timedelta(seconds=1)


async def test_window_expiry_restarts_the_count(backend: Backend) -> None:
    hub, life = await start_hub(backend, login_max_failures_per_email=2, login_max_failures_per_ip=100)
    key = f"email:{UNKNOWN}"
    try:
        for _ in range(2):
            assert (await _login(hub, UNKNOWN, "x")).status_code == 401
        assert (await _login(hub, UNKNOWN, "x")).status_code == 429
        await _age(hub, key, 901)  # lock and window over
        assert (await _login(hub, UNKNOWN, "x")).status_code == 401
        row = await _throttle_row(hub, key)
        assert row is not None and row.failures == 1  # a new window
        # A failure inside the window adds to it; one past the window starts a new one.
        await _age(hub, key, 600)
        assert (await _login(hub, UNKNOWN, "x")).status_code == 401
        assert (await _login(hub, UNKNOWN, "x")).status_code == 429  # 2 in the window: locked
        # Housekeeping deletes keys whose window and lock are both over, and only those.
        await _age(hub, key, 901)
        async with hub.app.ctx.db.session() as s:
            await throttle.record_failure(s, hub.app.ctx.uow.dialect, "email:recente@clinica.example",
                                          ThrottlePolicy())
        async with hub.app.ctx.db.session() as s:
            assert await throttle.purge(s, ThrottlePolicy()) == 1
        async with hub.app.ctx.db.session() as s:
            left = set((await s.execute(select(LoginThrottle.key))).scalars().all())
        assert left == {"ip:127.0.0.1", "email:recente@clinica.example"}
    finally:
        await hub.client.aclose()
        await life.stop()


async def test_concurrent_failures_are_not_undercounted(backend: Backend) -> None:
    """40 failures recorded at once on one key, each in its own transaction: exactly 40 counted
    (a read-then-write count loses updates on PostgreSQL), and the lockout audited once."""
    hub, life = await start_hub(backend)
    try:
        db, dialect = hub.app.ctx.db, hub.app.ctx.uow.dialect
        policy = ThrottlePolicy(email_max_failures=25, window_seconds=900, lock_seconds=900)
        key = throttle.email_key("alvo@clinica.example")

        async def fail() -> None:
            async with db.session() as s:
                await throttle.register_failure(s, dialect, {"email": key}, policy, None)

        await asyncio.gather(*(fail() for _ in range(40)))
        row = await _throttle_row(hub, key)
        assert row is not None and row.failures == 40
        assert row.locked_until is not None
        assert len(await _audit(hub, "login.locked")) == 1
    finally:
        await hub.client.aclose()
        await life.stop()
