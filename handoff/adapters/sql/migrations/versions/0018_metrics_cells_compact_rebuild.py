"""metrics cells: contact cells that do not grow with the traffic; a packed rebuild (issue 16)

Measured on 1M and 10M messages (same month, same clinic): 0017's contact cells were keyed by
day x hour x reason set x handoff x booked x converted, and the rarer combinations only show up
with more traffic (18,219 rows at 1M, 34,689 at 10M), so the dashboard's contact statement took
2x as long at 10M. They are replaced by three tables whose keys are bounded:

- `metrics_contact_hour_cells` (clinic day, hour): contacts, contained (no handoff), with a booking
  message, converted after it, and `plain`: contacts with none of the built-in specific reasons;
- `metrics_contact_reason_cells` (clinic day, hour, reason): contacts with that reason tag;
- `metrics_contact_taught_cells` (clinic day, hour, sorted taught tags): the `plain` contacts that
  carry a reason the clinic created (a taught intent's tag), by their set of such tags.

"other" (a contact with none of the dashboard's specific reasons) is then exact for any reason
list the dashboard is given: the built-in reasons are always in it, so "other" = `plain` minus the
taught cells whose tags meet the list's taught reasons. Taught-only contacts are rare, so that
table stays small.

Also measured at 10M: `metrics_cells_rebuild()` added one row per rollup row and then folded them,
so it left one dead row per summed row behind (1.57M dead rows and 219 MB for 35k contact cells;
the CSAT statement took 16 ms on the bloated table, 2 ms packed). The rebuild now rewrites each
cell table with its live rows at the end (TRUNCATE gives a new, packed file; VACUUM cannot run
inside a function). The compaction also leaves dead rows (each fold deletes the rows of the
cells it touched), and the dashboard reads the cell tables whole: autovacuum cleans them after 2%
of their rows (plus 500) changed instead of the default 20% (plus 50).

The functions of 0017 that this changes are restored from that (frozen) file on downgrade; its
`fold` template is reused for the compaction.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08 00:30:00.000000
"""
import importlib.util
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
ReasonTags = sa.JSON().with_variant(postgresql.ARRAY(sa.Text()), 'postgresql')
# handoff.domain.triage.REASONS without "other" (tests/metrics/test_rollups.py checks they agree).
BUILT_IN = ("booking", "confirmation", "exams", "billing", "urgent", "human")
BUILT_IN_ARRAY = "ARRAY[" + ", ".join(f"'{r}'" for r in BUILT_IN) + "]::text[]"
HOUR_SUMS = ("n", "contained", "booked", "converted", "plain")
CONTACT_TABLES = ('metrics_contact_hour_cells', 'metrics_contact_reason_cells', 'metrics_contact_taught_cells')
CELL_TABLES = ('metrics_episode_cells', 'metrics_tmr_cells', 'metrics_fcr_cells', *CONTACT_TABLES,
               'metrics_csat_cells')


def _m0017() -> ModuleType:
    """Migration 0017's module (frozen), for its fold template and, on downgrade, its functions."""
    spec = importlib.util.spec_from_file_location("atende_m0017", Path(__file__).with_name("0017_metrics_cells.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CONTACT_CELL_ADD = f"""CREATE OR REPLACE FUNCTION metrics_contact_cell_add(r metrics_contact_days, s integer)
    RETURNS void LANGUAGE plpgsql AS $$
    DECLARE
      v_plain boolean := NOT (r.reasons && {BUILT_IN_ARRAY});
      v_taught text[] := array(SELECT DISTINCT x FROM unnest(r.reasons) x
                                WHERE x IS NOT NULL AND x <> 'other' AND NOT x = ANY ({BUILT_IN_ARRAY}) ORDER BY 1);
    BEGIN
      INSERT INTO metrics_contact_hour_cells (day, hour, {", ".join(HOUR_SUMS)})
      VALUES (r.day, r.hour, s, s * (1 - r.handoff), CASE WHEN r.booking_at IS NOT NULL THEN s ELSE 0 END,
              CASE WHEN r.conversion_at >= r.booking_at THEN s ELSE 0 END, CASE WHEN v_plain THEN s ELSE 0 END);
      INSERT INTO metrics_contact_reason_cells (day, hour, reason, n)
      SELECT DISTINCT r.day, r.hour, x, s FROM unnest(r.reasons) x WHERE x IS NOT NULL;
      IF v_plain AND cardinality(v_taught) > 0 THEN
        INSERT INTO metrics_contact_taught_cells (day, hour, reasons, n) VALUES (r.day, r.hour, v_taught, s);
      END IF;
    END $$"""

CONTACTS_TRUNCATE = f"""CREATE OR REPLACE FUNCTION metrics_on_contacts_truncate() RETURNS trigger
    LANGUAGE plpgsql AS $$ BEGIN TRUNCATE {", ".join(CONTACT_TABLES)}; RETURN NULL; END $$"""


def compact_function(m0017: ModuleType) -> str:
    """`metrics_cells_compact()` over this revision's cell tables (0017's fold step per table)."""
    fold = m0017.fold
    return f"""CREATE OR REPLACE FUNCTION metrics_cells_compact() RETURNS bigint LANGUAGE plpgsql AS $$
        DECLARE v_total bigint := 0; v bigint;
        BEGIN
          PERFORM pg_advisory_xact_lock(1603, 0);
          {fold("metrics_episode_cells", ("day", "hour", "reason"), m0017.EPISODE_SUMS, "episodes")}
          {fold("metrics_tmr_cells", ("day", "bucket"), ("n",), "n")}
          {fold("metrics_fcr_cells", ("day", "resolved_hour"), ("n",), "n")}
          {fold("metrics_contact_hour_cells", ("day", "hour"), HOUR_SUMS, "n")}
          {fold("metrics_contact_reason_cells", ("day", "hour", "reason"), ("n",), "n")}
          {fold("metrics_contact_taught_cells", ("day", "hour", "reasons"), ("n",), "n")}
          {fold("metrics_csat_cells", ("day",), m0017.CSAT_SUMS, "answers")}
          RETURN v_total;
        END $$"""


REBUILD = f"""CREATE OR REPLACE FUNCTION metrics_cells_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
    DECLARE v_folded bigint; t text;
    BEGIN
      TRUNCATE {", ".join(CELL_TABLES)};
      PERFORM metrics_episode_cell_add(e, 1) FROM metrics_episodes e;
      PERFORM metrics_contact_cell_add(k, 1) FROM metrics_contact_days k;
      PERFORM metrics_csat_cell_add(r, 1) FROM csat_responses r;
      v_folded := metrics_cells_compact();
      -- The fold left a dead row per summed row: rewrite each table with its live rows only.
      FOREACH t IN ARRAY ARRAY[{", ".join(f"'{t}'" for t in CELL_TABLES)}] LOOP
        EXECUTE format('CREATE TEMP TABLE metrics_cells_live AS SELECT * FROM %I', t);
        EXECUTE format('TRUNCATE %I', t);
        EXECUTE format('INSERT INTO %I SELECT * FROM metrics_cells_live', t);
        DROP TABLE metrics_cells_live;
      END LOOP;
      RETURN v_folded;
    END $$"""


def _cell_table(name: str, *columns: sa.Column) -> None:
    op.create_table(name,
                    sa.Column('id', BigId, autoincrement=True, nullable=False),
                    sa.Column('compact', sa.Boolean(), server_default=sa.false(), nullable=False),
                    sa.Column('day', sa.Date(), nullable=False),
                    *columns,
                    sa.PrimaryKeyConstraint('id'))
    fresh = sa.text("NOT compact")
    op.create_index(f'ix_{name}_day', name, ['day'], unique=False)
    op.create_index(f'ix_{name}_fresh', name, ['day'], unique=False, postgresql_where=fresh, sqlite_where=fresh)


def _counts(*names: str) -> list[sa.Column]:
    return [sa.Column(c, sa.BigInteger(), nullable=False) for c in names]


def _drop_cell_table(name: str) -> None:
    op.drop_index(f'ix_{name}_fresh', table_name=name)
    op.drop_index(f'ix_{name}_day', table_name=name)
    op.drop_table(name)


def upgrade() -> None:
    _cell_table('metrics_contact_hour_cells', sa.Column('hour', sa.Integer(), nullable=False), *_counts(*HOUR_SUMS))
    _cell_table('metrics_contact_reason_cells', sa.Column('hour', sa.Integer(), nullable=False),
                sa.Column('reason', sa.Text(), nullable=False), *_counts('n'))
    _cell_table('metrics_contact_taught_cells', sa.Column('hour', sa.Integer(), nullable=False),
                sa.Column('reasons', ReasonTags, nullable=False), *_counts('n'))
    _drop_cell_table('metrics_contact_cells')
    if op.get_bind().dialect.name != 'postgresql':
        return
    for sql in (CONTACT_CELL_ADD, CONTACTS_TRUNCATE, compact_function(_m0017()), REBUILD):
        op.execute(sql)
    for table in CELL_TABLES:
        op.execute(f"ALTER TABLE {table} SET (autovacuum_vacuum_scale_factor = 0.02, "
                   "autovacuum_vacuum_threshold = 500)")
    op.execute("SELECT metrics_cells_rebuild()")  # the new contact cells, and every table packed


def downgrade() -> None:
    m0017 = _m0017()
    _cell_table('metrics_contact_cells', sa.Column('hour', sa.Integer(), nullable=False),
                sa.Column('reasons', ReasonTags, nullable=False), sa.Column('handoff', sa.Integer(), nullable=False),
                sa.Column('booked', sa.Boolean(), nullable=False),
                sa.Column('converted', sa.Boolean(), nullable=False), *_counts('n'))
    postgres = op.get_bind().dialect.name == 'postgresql'
    if postgres:
        for table in CELL_TABLES:
            if table not in CONTACT_TABLES:
                op.execute(f"ALTER TABLE {table} RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold)")
        # 0017's own definitions of what this revision replaced.
        replaced = ("metrics_contact_cell_add", "metrics_on_contacts_truncate", "metrics_cells_compact",
                    "metrics_cells_rebuild")
        for sql in m0017.FUNCTIONS:
            if any(f"FUNCTION {name}(" in sql for name in replaced):
                op.execute(sql.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    for table in reversed(CONTACT_TABLES):
        _drop_cell_table(table)
    if postgres:
        op.execute("SELECT metrics_cells_rebuild()")
