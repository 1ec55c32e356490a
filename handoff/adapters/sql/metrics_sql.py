"""SQL helpers of the dashboard's statements (handoff/adapters/sql/metrics_queries.py): the dialect
differences and clinic wall time.

The same SQLAlchemy Core expressions run on PostgreSQL and SQLite; the only dialect differences
are isolated here: `LocalClock` (clinic wall time), `seconds_between`, `epoch_millis` and
`within_after` (the percentile is the statements' own: PostgreSQL `percentile_cont`; on SQLite a
ranked window query picks the two rows to interpolate between).

Clinic wall time: PostgreSQL converts with ``timezone('America/Sao_Paulo', t)`` (its tz
database). SQLite has no time zones, so the UTC offsets in force during the queried range
(plus margins) are read from Python's zoneinfo and written into the SQL as a ``CASE`` over
the transition instants: exact, also across historical daylight-saving changes.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Date, Float, Integer, case, cast, extract, func, literal_column
from sqlalchemy.sql import ColumnElement

_ZONE_NAME = re.compile(r"^[A-Za-z0-9_+\-/]+$")


def lit(value: str) -> ColumnElement[Any]:
    """A SQL string constant rendered inline (only for fixed, code-defined values)."""
    return literal_column("'" + value.replace("'", "''") + "'")


# -- dialect helpers ------------------------------------------------------------------------


def seconds_between(dialect: str, start: Any, end: Any) -> ColumnElement[Any]:
    """`end - start` in seconds as a float (NULL when either side is NULL)."""
    if dialect == "postgresql":
        return cast(extract("epoch", end - start), Float)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def epoch_millis(dialect: str, moment: Any) -> ColumnElement[Any]:
    """Whole milliseconds since 1970 as an integer (for order-preserving keys)."""
    if dialect == "postgresql":
        return cast(func.floor(extract("epoch", moment) * 1000), BigInteger)
    return cast((func.julianday(moment) - 2440587.5) * 86_400_000.0, Integer)


def within_after(dialect: str, moment: Any, base: Any, span: timedelta, *, inclusive: bool) -> ColumnElement[Any]:
    """`moment < base + span` (or `<=` when inclusive)."""
    seconds = int(span.total_seconds())
    if dialect == "postgresql":
        bound = base + literal_column(f"interval '{seconds} seconds'")
        cond: ColumnElement[Any] = moment <= bound if inclusive else moment < bound
        return cond
    lhs, rhs = func.julianday(moment), func.julianday(base) + seconds / 86400.0
    return lhs <= rhs if inclusive else lhs < rhs


def _sqlite_stamp(moment: datetime) -> str:
    """A UTC instant in SQLAlchemy's SQLite storage format (lexically comparable)."""
    return moment.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def offset_segments(tz: ZoneInfo, lo: datetime, hi: datetime) -> list[tuple[datetime | None, int]]:
    """UTC offsets (seconds) in force over [lo, hi]: ``[(None, off0), (t1, off1), ...]`` where
    `t_i` is the UTC instant from which `off_i` applies (found to the second)."""

    def offset(at: datetime) -> int:
        off = at.astimezone(tz).utcoffset()
        assert off is not None
        return int(off.total_seconds())

    step = timedelta(hours=1)
    cur = lo.astimezone(UTC)
    segments: list[tuple[datetime | None, int]] = [(None, offset(cur))]
    while cur < hi:
        nxt = cur + step
        if offset(nxt) != segments[-1][1]:
            a, b = cur, nxt  # offset(a) == previous, offset(b) == new: bisect to the second
            while (b - a) > timedelta(seconds=1):
                mid = a + (b - a) / 2
                if offset(mid) == segments[-1][1]:
                    a = mid
                else:
                    b = mid
            segments.append((b.replace(microsecond=0), offset(nxt)))
        cur = nxt
    return segments


class LocalClock:
    """Clinic wall-time parts of a UTC timestamp column, per dialect (see the module docstring)."""

    def __init__(self, dialect: str, tz: ZoneInfo, start: datetime, end: datetime) -> None:
        if not _ZONE_NAME.match(tz.key):
            raise ValueError(f"unsupported time zone name {tz.key!r}")
        self.dialect = dialect
        self.tz = tz
        # Margins: FCR and conversion windows reach past the range; contacts start inside it.
        self._segments = offset_segments(tz, start - timedelta(days=2), end + timedelta(days=8))

    def _modifier(self, col: Any) -> ColumnElement[Any]:
        """SQLite date-function modifier shifting UTC to wall time, e.g. ``'-10800 seconds'``."""
        mods = [lit(f"{off:+d} seconds") for _, off in self._segments]
        if len(mods) == 1:
            return mods[0]
        whens = [
            (col < lit(_sqlite_stamp(since)), mods[i - 1])
            for i, (since, _) in enumerate(self._segments)
            if since is not None
        ]
        return case(*whens, else_=mods[-1])

    def _local(self, col: Any) -> ColumnElement[Any]:
        return func.timezone(lit(self.tz.key), col)

    def day(self, col: Any) -> ColumnElement[Any]:
        """The clinic calendar date (a DATE on PostgreSQL, 'YYYY-MM-DD' text on SQLite)."""
        if self.dialect == "postgresql":
            return cast(self._local(col), Date)
        return func.date(col, self._modifier(col))

    def weekday_raw(self, col: Any) -> ColumnElement[Any]:
        """Weekday as the database numbers it; `weekday()` turns it into 0 = Monday."""
        if self.dialect == "postgresql":
            return cast(extract("isodow", self._local(col)), Integer)  # 1 = Monday .. 7 = Sunday
        return cast(func.strftime(lit("%w"), col, self._modifier(col)), Integer)  # 0 = Sunday

    def weekday(self, raw: Any) -> int:
        """0 = Monday .. 6 = Sunday from a `weekday_raw` value."""
        value = int(raw)
        return value - 1 if self.dialect == "postgresql" else (value + 6) % 7

    def hour(self, col: Any) -> ColumnElement[Any]:
        """Hour of the day 0..23 in clinic wall time."""
        if self.dialect == "postgresql":
            return cast(extract("hour", self._local(col)), Integer)
        return cast(func.strftime(lit("%H"), col, self._modifier(col)), Integer)


def ordinals(n: int) -> list[ColumnElement[Any]]:
    return [literal_column(str(i)) for i in range(1, n + 1)]


def as_int(value: Any) -> int:
    return int(value or 0)


def as_float(value: Any) -> float | None:
    return None if value is None else float(value)


def as_aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
