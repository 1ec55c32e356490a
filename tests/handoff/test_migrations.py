"""The migrations and the ORM models describe the same schema, on SQLite and PostgreSQL, and
every migration can be undone and replayed (a bad deploy can be rolled back)."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from handoff.adapters.sql.migrate import alembic_config, upgrade
from handoff.adapters.sql.models import Base
from tests.conftest import Backend


async def _schema_diff(url: str) -> list[Any]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}),
                                              Base.metadata))
    finally:
        await engine.dispose()


async def test_migrated_schema_matches_the_models_and_downgrades_cleanly(backend: Backend) -> None:
    assert await _schema_diff(backend.database_url) == []
    cfg = alembic_config(backend.database_url)
    await asyncio.to_thread(command.downgrade, cfg, "base")
    diff_at_base = await _schema_diff(backend.database_url)
    assert any(d[0] == "add_table" for d in diff_at_base)  # everything is gone again
    await asyncio.to_thread(upgrade, backend.database_url)
    assert await _schema_diff(backend.database_url) == []
