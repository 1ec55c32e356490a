"""metrics cells: the 30-day dashboard reads per clinic day x hour aggregates (issue 16)

Migration 0016's rollups hold one row per episode and per contact, so a month's view still reads
rows in proportion to the traffic (p95 191 ms on 1M messages, 916 ms on 10M). This adds a second
level that does not grow with the traffic:

- `metrics_episode_cells` (clinic day, hour, reason): every count and sum the dashboard takes
  over episodes (durations as whole microseconds, so sums are exact in any order);
- `metrics_tmr_cells` (clinic day, TMR bucket): how many answered episodes fall in each bucket of
  first-response time; the exact percentile is then read from the few episodes of one bucket;
- `metrics_fcr_cells` (clinic day, UTC hour of the last resolve): FCR passes, so "still inside the
  7-day window at now" is a sum of whole hours plus one hour's episodes;
- `metrics_contact_cells` (clinic day, hour, reason set, handoff, booked, converted): contacts;
- `metrics_csat_cells` (clinic day of the answer): CSAT and NPS answers, sums and bands.

The cells are append-only: a row trigger on each rollup table (and on csat_responses) writes its row's contribution,
minus the old version's (`-1`) and plus the new one's (`+1`), as new rows, so concurrent writers
never update (nor wait on) a shared counter row; a cell is the sum of its rows, always equal to an
aggregate of the rollup rows. `metrics_cells_compact()` (the hub runs it every
METRICS_COMPACT_INTERVAL_SECONDS) folds each touched cell's rows into one. A TRUNCATE of a
rollup (the rebuild) empties its cells, so the rebuild's inserts write them anew;
`metrics_cells_rebuild()` recomputes every cell (after bulk loads that bypass the triggers).
PostgreSQL only, like 0016 (SQLite: the tables exist and stay empty).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 20:30:00.000000
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
ReasonTags = sa.JSON().with_variant(postgresql.ARRAY(sa.Text()), 'postgresql')
TZ = "America/Sao_Paulo"

# Per-episode counts and sums, in metrics_queries.episode_totals_statement's terms.
EPISODE_SUMS = ("episodes", "assigned", "asa_us", "answered", "tmr_us", "handled", "aht_us", "closed",
                "resolved_ok", "o_resolved", "o_booked", "o_not", "fcr_ok", "fr_met", "fr_breached", "res_met",
                "res_breached", "nr_breaches")

CSAT_SUMS = ("answers", "score_sum", "satisfied", "nps_answers", "promoters", "detractors")

def on_row(kind: str) -> str:
    """The row trigger of a summed table: the old version out of its cells, the new one in."""
    return f"""CREATE FUNCTION metrics_on_{kind}_row() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP <> 'INSERT' THEN PERFORM metrics_{kind}_cell_add(OLD, -1); END IF;
          IF TG_OP <> 'DELETE' THEN PERFORM metrics_{kind}_cell_add(NEW, 1); END IF;
          RETURN NULL;
        END $$"""


def fold(table: str, keys: tuple[str, ...], sums: tuple[str, ...], count: str) -> str:
    """metrics_cells_compact's step for one cell table: the rows of every cell that has unfolded
    ones become one folded row with their sums (none when `count` sums to zero)."""
    k = ", ".join(keys)
    return f"""
          WITH k AS (SELECT DISTINCT {k} FROM {table} WHERE NOT compact),
               gone AS (DELETE FROM {table} c USING k WHERE {" AND ".join(f"c.{x} = k.{x}" for x in keys)}
                        RETURNING c.*),
               kept AS (INSERT INTO {table} (compact, {k}, {", ".join(sums)})
                        SELECT true, {k}, {", ".join(f"sum({c})" for c in sums)} FROM gone
                         GROUP BY {k} HAVING sum({count}) <> 0)
          SELECT count(*) INTO v FROM gone;
          v_total := v_total + v;"""


FUNCTIONS = [
    # The TMR bucket: 5 s wide below 1 h, 5 min below 24 h, 1 h beyond. Non-decreasing in t (also
    # in floating point), so ordering by (bucket, tmr) is ordering by tmr, and a percentile's rank
    # is found by counting cells, then read among one bucket's episodes (index below).
    """CREATE FUNCTION metrics_tmr_bucket(t double precision) RETURNS integer
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN t < 3600 THEN CAST(floor(t / 5) AS integer)
                    WHEN t < 86400 THEN 720 + CAST(floor((t - 3600) / 300) AS integer)
                    ELSE 996 + CAST(least(floor((t - 86400) / 3600), 1000000) AS integer) END $$""",
    # One episode row's contribution (s = +1 or -1) to its cells.
    f"""CREATE FUNCTION metrics_episode_cell_add(r metrics_episodes, s integer) RETURNS void
        LANGUAGE plpgsql AS $$
        DECLARE
          v_day date := metrics_local_day(r.handoff_at);
          v_closed boolean := r.last_resolved_at IS NOT NULL
                              AND (r.last_reopened_at IS NULL OR r.last_reopened_at < r.last_resolved_at);
          v_code integer := CASE WHEN v_closed THEN coalesce(CAST(r.outcome_key % 4 AS integer), 0) ELSE 0 END;
          v_ok boolean := v_code IN (1, 2);
        BEGIN
          INSERT INTO metrics_episode_cells (day, hour, reason, {", ".join(EPISODE_SUMS)})
          VALUES (v_day, CAST(EXTRACT(hour FROM timezone('{TZ}', r.handoff_at)) AS integer), r.reason,
                  s,
                  CASE WHEN r.asa IS NOT NULL THEN s ELSE 0 END, s * coalesce(round(r.asa * 1e6), 0),
                  CASE WHEN r.tmr IS NOT NULL THEN s ELSE 0 END, s * coalesce(round(r.tmr * 1e6), 0),
                  CASE WHEN r.aht IS NOT NULL THEN s ELSE 0 END, s * coalesce(round(r.aht * 1e6), 0),
                  CASE WHEN v_closed THEN s ELSE 0 END,
                  CASE WHEN v_ok THEN s ELSE 0 END,
                  CASE WHEN v_code = 1 THEN s ELSE 0 END,
                  CASE WHEN v_code = 2 THEN s ELSE 0 END,
                  CASE WHEN v_code = 3 THEN s ELSE 0 END,
                  CASE WHEN v_ok AND r.recontacted IS NOT TRUE THEN s ELSE 0 END,
                  CASE WHEN r.fr_breach = 0 AND (r.first_reply_at IS NOT NULL OR r.first_resolved_at IS NOT NULL)
                       THEN s ELSE 0 END,
                  s * r.fr_breach,
                  CASE WHEN r.res_breach = 0 AND v_closed THEN s ELSE 0 END,
                  s * r.res_breach,
                  s * r.nr_breaches);
          IF r.tmr IS NOT NULL THEN
            INSERT INTO metrics_tmr_cells (day, bucket, n) VALUES (v_day, metrics_tmr_bucket(r.tmr), s);
          END IF;
          IF v_ok AND r.recontacted IS NOT TRUE THEN  -- an FCR pass, by the UTC hour of its last resolve
            INSERT INTO metrics_fcr_cells (day, resolved_hour, n)
            VALUES (v_day, date_trunc('hour', r.last_resolved_at, 'UTC'), s);
          END IF;
        END $$""",
    """CREATE FUNCTION metrics_contact_cell_add(r metrics_contact_days, s integer) RETURNS void
        LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO metrics_contact_cells (day, hour, reasons, handoff, booked, converted, n)
          VALUES (r.day, r.hour, array(SELECT DISTINCT x FROM unnest(r.reasons) x ORDER BY 1), r.handoff,
                  r.booking_at IS NOT NULL, coalesce(r.conversion_at >= r.booking_at, false), s);
        END $$""",
    """CREATE FUNCTION metrics_csat_cell_add(r csat_responses, s integer) RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO metrics_csat_cells (day, answers, score_sum, satisfied, nps_answers, promoters, detractors)
          VALUES (metrics_local_day(r.created_at), s, s * r.score, CASE WHEN r.score >= 4 THEN s ELSE 0 END,
                  CASE WHEN r.nps IS NOT NULL THEN s ELSE 0 END, CASE WHEN r.nps >= 9 THEN s ELSE 0 END,
                  CASE WHEN r.nps <= 6 THEN s ELSE 0 END);
        END $$""",
    on_row("csat"),
    """CREATE FUNCTION metrics_on_csat_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN TRUNCATE metrics_csat_cells; RETURN NULL; END $$""",
    on_row("episode"),
    on_row("contact"),
    # A TRUNCATE of a rollup (metrics_rollup_rebuild) fires no row trigger: empty its cells too.
    """CREATE FUNCTION metrics_on_episodes_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN TRUNCATE metrics_episode_cells, metrics_tmr_cells, metrics_fcr_cells; RETURN NULL; END $$""",
    """CREATE FUNCTION metrics_on_contacts_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN TRUNCATE metrics_contact_cells; RETURN NULL; END $$""",
    # Every cell from the rows it sums (the backfill; after bulk loads that bypass the triggers,
    # after metrics_rollup_rebuild()), through the same functions as the triggers, then folded.
    """CREATE FUNCTION metrics_cells_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
        BEGIN
          TRUNCATE metrics_episode_cells, metrics_tmr_cells, metrics_fcr_cells, metrics_contact_cells,
                   metrics_csat_cells;
          PERFORM metrics_episode_cell_add(e, 1) FROM metrics_episodes e;
          PERFORM metrics_contact_cell_add(k, 1) FROM metrics_contact_days k;
          PERFORM metrics_csat_cell_add(r, 1) FROM csat_responses r;
          RETURN metrics_cells_compact();
        END $$""",
    # Fold the rows of every cell that has new ones into one row per cell (zero cells vanish).
    # Writers only insert, so nothing here waits on them nor they on it; rows committed after this
    # statement's snapshot stay as they are for the next pass. One pass at a time (advisory lock),
    # so two passes never fold the same rows. Returns the rows folded.
    f"""CREATE FUNCTION metrics_cells_compact() RETURNS bigint LANGUAGE plpgsql AS $$
        DECLARE v_total bigint := 0; v bigint;
        BEGIN
          PERFORM pg_advisory_xact_lock(1603, 0);
          {fold("metrics_episode_cells", ("day", "hour", "reason"), EPISODE_SUMS, "episodes")}
          {fold("metrics_tmr_cells", ("day", "bucket"), ("n",), "n")}
          {fold("metrics_fcr_cells", ("day", "resolved_hour"), ("n",), "n")}
          {fold("metrics_contact_cells", ("day", "hour", "reasons", "handoff", "booked", "converted"), ("n",), "n")}
          {fold("metrics_csat_cells", ("day",), CSAT_SUMS, "answers")}
          RETURN v_total;
        END $$""",
]

CELL_TABLES = ('metrics_episode_cells', 'metrics_tmr_cells', 'metrics_fcr_cells', 'metrics_contact_cells',
               'metrics_csat_cells')

TRIGGERS = [
    ("metrics_episode_cells_rows", "metrics_episodes", "AFTER INSERT OR UPDATE OR DELETE", "ROW",
     "metrics_on_episode_row"),
    ("metrics_contact_cells_rows", "metrics_contact_days", "AFTER INSERT OR UPDATE OR DELETE", "ROW",
     "metrics_on_contact_row"),
    ("metrics_csat_cells_rows", "csat_responses", "AFTER INSERT OR UPDATE OR DELETE", "ROW", "metrics_on_csat_row"),
    ("metrics_csat_cells_truncate", "csat_responses", "AFTER TRUNCATE", "STATEMENT", "metrics_on_csat_truncate"),
    ("metrics_episode_cells_truncate", "metrics_episodes", "AFTER TRUNCATE", "STATEMENT",
     "metrics_on_episodes_truncate"),
    ("metrics_contact_cells_truncate", "metrics_contact_days", "AFTER TRUNCATE", "STATEMENT",
     "metrics_on_contacts_truncate"),
]

FUNCTION_SIGNATURES = [
    "metrics_cells_rebuild()", "metrics_cells_compact()", "metrics_on_csat_truncate()", "metrics_on_csat_row()",
    "metrics_csat_cell_add(csat_responses, integer)", "metrics_on_contacts_truncate()", "metrics_on_episodes_truncate()",
    "metrics_on_contact_row()", "metrics_on_episode_row()", "metrics_contact_cell_add(metrics_contact_days, integer)",
    "metrics_episode_cell_add(metrics_episodes, integer)", "metrics_tmr_bucket(double precision)",
]


def upgrade() -> None:
    def cell_table(name: str, *columns: sa.Column) -> None:
        op.create_table(name,
                        sa.Column('id', BigId, autoincrement=True, nullable=False),
                        sa.Column('compact', sa.Boolean(), server_default=sa.false(), nullable=False),
                        sa.Column('day', sa.Date(), nullable=False),
                        *columns,
                        sa.PrimaryKeyConstraint('id'))

    def counts(*names: str) -> list[sa.Column]:
        return [sa.Column(c, sa.BigInteger(), nullable=False) for c in names]

    cell_table('metrics_episode_cells', sa.Column('hour', sa.Integer(), nullable=False),
               sa.Column('reason', sa.Text(), nullable=False), *counts(*EPISODE_SUMS))
    cell_table('metrics_tmr_cells', sa.Column('bucket', sa.Integer(), nullable=False), *counts('n'))
    cell_table('metrics_fcr_cells', sa.Column('resolved_hour', sa.DateTime(timezone=True), nullable=False),
               *counts('n'))
    cell_table('metrics_contact_cells', sa.Column('hour', sa.Integer(), nullable=False),
               sa.Column('reasons', ReasonTags, nullable=False), sa.Column('handoff', sa.Integer(), nullable=False),
               sa.Column('booked', sa.Boolean(), nullable=False), sa.Column('converted', sa.Boolean(), nullable=False),
               *counts('n'))
    cell_table('metrics_csat_cells', *counts(*CSAT_SUMS))
    fresh = sa.text("NOT compact")  # what the compaction looks for: cells with rows not folded yet
    for table in CELL_TABLES:
        op.create_index(f'ix_{table}_day', table, ['day'], unique=False)
        op.create_index(f'ix_{table}_fresh', table, ['day'], unique=False, postgresql_where=fresh,
                        sqlite_where=fresh)
    op.create_index('ix_metrics_episodes_last_resolved', 'metrics_episodes', ['last_resolved_at', 'handoff_at'],
                    unique=False)
    # A percentile's rank falls in one TMR bucket: its episodes, in TMR order, straight from here.
    answered = sa.text("tmr IS NOT NULL")
    op.create_index('ix_metrics_episodes_tmr', 'metrics_episodes', ['tmr', 'handoff_at'], unique=False,
                    postgresql_where=answered, sqlite_where=answered)
    if op.get_bind().dialect.name != 'postgresql':
        return
    for sql in FUNCTIONS:
        op.execute(sql)
    for name, table, events, level, function in TRIGGERS:
        op.execute(f"CREATE TRIGGER {name} {events} ON {table} FOR EACH {level} EXECUTE FUNCTION {function}()")
    op.execute("SELECT metrics_cells_rebuild()")  # the backfill


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for name, table, *_ in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        for signature in FUNCTION_SIGNATURES:
            op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    op.drop_index('ix_metrics_episodes_tmr', table_name='metrics_episodes')
    op.drop_index('ix_metrics_episodes_last_resolved', table_name='metrics_episodes')
    for table in reversed(CELL_TABLES):
        op.drop_index(f'ix_{table}_fresh', table_name=table)
        op.drop_index(f'ix_{table}_day', table_name=table)
        op.drop_table(table)
