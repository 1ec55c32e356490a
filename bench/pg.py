"""A throwaway PostgreSQL database per benchmark part (created fresh, dropped afterwards)."""

from __future__ import annotations

import uuid

import asyncpg

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


async def create_database(prefix: str) -> str:
    """CREATE DATABASE `<prefix>_<random>` on the local server; returns its name."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


async def drop_database(name: str) -> None:
    """DROP DATABASE ... WITH (FORCE): the bench's own connections may still be open."""
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
