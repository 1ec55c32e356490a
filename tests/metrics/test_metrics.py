"""Dashboard figures on SQLite and PostgreSQL against a hand-built scenario whose expected values
are worked out by hand in tests/metrics/scenario.py; the API's roles, ranges and CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from handoff.adapters.sql.database import Database
from handoff.adapters.sql.metrics_sql import offset_segments
from handoff.adapters.sql.models import (
    ChannelIdentity,
    Conversation,
    ConversationEvent,
    Message,
    Patient,
    PatientLink,
)
from handoff.domain.clinic.calendar import CLINIC_TZ
from handoff.services.metrics import (
    DateRange,
    MetricsService,
    RangeError,
    StaffingParams,
    parse_range,
    parse_staffing,
)
from tests.clinic.conftest import start_hub
from tests.conftest import Backend
from tests.metrics import scenario
from tests.metrics.scenario import EXPECTED, local

STAFFING = StaffingParams(target_service_level=0.8, answer_seconds=60, max_occupancy=0.85, concurrency=1)


async def _report(backend: Backend) -> dict[str, Any]:
    """The scenario loaded and the dashboard of its range."""
    db = Database(backend.database_url)
    db.connect()
    try:
        sc = await scenario.load(db)
        return await MetricsService(db).dashboard(parse_range(scenario.FROM, scenario.TO), STAFFING, now=sc.now)
    finally:
        await db.close()


async def test_dashboard_figures(backend: Backend) -> None:
    r = await _report(backend)
    approx = pytest.approx
    assert r["range"] == {"from": "2025-03-10", "to": "2025-03-23", "days": 14, "timezone": "America/Sao_Paulo",
                          "start": "2025-03-10T03:00:00+00:00", "end": "2025-03-24T03:00:00+00:00"}
    # Handoff episodes (E0 started before the range: ignored even though it resolved inside it).
    assert r["handoffs"] == {"episodes": 7, "assigned": 6, "answered": 5, "closed": 6, "open": 1, "resolved": 5,
                             "outcomes": {"resolved": 4, "booked": 1, "not_resolved": 1}}
    assert r["tmr"] == {"count": 5, "mean_seconds": approx(EXPECTED["tmr_mean"], abs=0.01),
                        "median_seconds": approx(EXPECTED["tmr_median"], abs=0.01),
                        "p90_seconds": approx(EXPECTED["tmr_p90"], abs=0.01)}
    assert r["asa"] == {"count": 6, "mean_seconds": approx(EXPECTED["asa_mean"], abs=0.01)}
    assert r["aht"] == {"count": 5, "mean_seconds": approx(EXPECTED["aht_mean"], abs=0.01)}
    assert r["resolution_rate"] == approx(EXPECTED["resolution_rate"])
    # FCR: E1 re-contacted on WhatsApp 4 days later (fails); E2's re-contact came after 8 days (passes).
    assert r["fcr"] == {"eligible": 5, "first_contact": 4, "pending": 0, "rate": approx(EXPECTED["fcr_rate"])}
    assert r["containment"] == {"contacts": 15, "contained": 8, "rate": approx(8 / 15)}
    assert r["conversion"] == {"booking_contacts": 6, "converted": 4, "rate": approx(4 / 6)}
    assert r["sla"]["compliance"] == approx(EXPECTED["sla_compliance"])
    assert r["sla"]["first_response"] == {"met": 4, "breached": 2, "compliance": approx(4 / 6)}
    assert r["sla"]["resolution"] == {"met": 5, "breached": 1, "compliance": approx(5 / 6)}
    assert r["sla"]["next_response"] == {"breached": 1}
    assert r["csat"] == {"responses": 4, "mean": approx(4.0), "satisfied_rate": approx(0.75),
                         "nps": approx(100 / 3), "nps_responses": 3}
    assert {x["reason"]: x["contacts"] for x in r["reasons"]} == EXPECTED["reasons"]
    assert {x["reason"]: x["handoffs"] for x in r["reasons"]} == {
        "booking": 1, "confirmation": 1, "exams": 1, "billing": 1, "urgent": 1, "human": 1, "other": 1}
    assert next(x for x in r["reasons"] if x["reason"] == "booking")["label"] == "Agendamento"


async def test_heatmap_hours_and_staffing_in_clinic_time(backend: Backend) -> None:
    r = await _report(backend)
    grid = r["heatmap"]["contacts"]
    assert r["heatmap"]["weekdays"] == ["seg", "ter", "qua", "qui", "sex", "sáb", "dom"]
    assert sum(map(sum, grid)) == 15
    expected_cells = {(0, 9), (1, 14), (2, 10), (3, 16), (4, 10), (4, 22), (5, 9), (6, 11), (0, 20), (1, 15),
                      (2, 15), (3, 11), (4, 9), (5, 8), (6, 13)}
    assert {(wd, h) for wd in range(7) for h in range(24) if grid[wd][h]} == expected_cells
    # Friday 22:30 in São Paulo is Saturday 01:30 UTC: the contact is Friday 22h, never Saturday 01h.
    assert grid[4][22] == 1 and grid[5][1] == 0
    # Monday 20:00 and 22:00 (the second is Tuesday 01:00 UTC) are one contact of one clinic day.
    assert grid[0][20] == 1 and grid[0][22] == 0 and grid[1][1] == 0
    handoffs = r["heatmap"]["handoffs"]
    assert {(wd, h) for wd in range(7) for h in range(24) if handoffs[wd][h]} == {
        (0, 9), (1, 14), (2, 10), (3, 16), (4, 22), (5, 9), (6, 11)}
    hourly = {h["hour"]: h for h in r["hourly"]}
    assert hourly[9]["contacts"] == 3 and hourly[9]["handoffs"] == 2
    assert hourly[9]["contacts_per_day"] == pytest.approx(3 / 14)

    st = r["staffing"]
    assert st["aht_seconds"] == pytest.approx(2238, abs=0.01)
    assert st["weekday_occurrences"] == [2] * 7
    # Each handoff hour saw 1 handoff in 2 weeks: λ = 0.5/h, A = 0.5·2238/3600 = 0.3108 Erlang.
    # N = 1: SL(60 s) = 1 − 0.3108·e^(−0.6892·60/2238) = 0.695 < 0.8; N = 2: C = 0.0418,
    # SL = 1 − 0.0418·e^(−1.6892·60/2238) = 0.960 ≥ 0.8 → 2 attendants; no volume → 0.
    for wd in range(7):
        for h in range(24):
            cell = st["cells"][wd][h]
            if handoffs[wd][h]:
                assert cell["volume_per_hour"] == pytest.approx(0.5)
                assert cell["agents"] == 2
                assert cell["service_level"] == pytest.approx(0.960, abs=0.001)
            else:
                assert cell["volume_per_hour"] == 0 and cell["agents"] == 0
    assert st["peak"]["agents"] == 2


async def test_now_figures(backend: Backend) -> None:
    r = await _report(backend)
    now = r["now"]
    assert now["queue_length"] == 2
    assert now["longest_wait_seconds"] == pytest.approx(600, abs=0.01)
    assert [(q["queue"], q["waiting"]) for q in now["by_queue"]] == [("exams", 1), ("reception", 1)]
    assert (now["agents_online"], now["agents_away"], now["capacity_online"]) == (1, 1, 4)
    assert now["open_conversations_online"] == 2
    assert now["occupancy"] == pytest.approx(0.5)


async def test_csat_without_nps_and_empty_ranges(backend: Backend) -> None:
    db = Database(backend.database_url)
    db.connect()
    try:
        sc = await scenario.load(db)
        service = MetricsService(db)
        # Saturday 15: only E6's CSAT (5, no NPS answer) and E8.
        one = await service.dashboard(parse_range("2025-03-15", "2025-03-15"), STAFFING, now=sc.now)
        assert one["csat"] == {"responses": 1, "mean": 5.0, "satisfied_rate": 1.0, "nps": None, "nps_responses": 0}
        assert one["handoffs"]["episodes"] == 1 and one["tmr"]["count"] == 0
        assert one["tmr"]["median_seconds"] is None and one["tmr"]["p90_seconds"] is None
        # A range with nothing: zeros and nulls, no division by zero; staffing has no AHT.
        empty = await service.dashboard(parse_range("2024-01-01", "2024-01-31"), STAFFING, now=sc.now)
        assert empty["handoffs"]["episodes"] == 0 and empty["containment"]["contacts"] == 0
        for key in ("resolution_rate",):
            assert empty[key] is None
        assert empty["fcr"]["rate"] is None and empty["conversion"]["rate"] is None
        assert empty["sla"]["compliance"] is None and empty["csat"]["mean"] is None
        assert empty["staffing"]["aht_seconds"] is None
        assert all(c["agents"] is None for row in empty["staffing"]["cells"] for c in row)
        assert empty["now"]["queue_length"] == 2  # "now" does not depend on the range
    finally:
        await db.close()


async def test_clinic_hours_across_a_daylight_saving_change(backend: Backend) -> None:
    """São Paulo observed DST until 2019: on 2018-11-04 clocks went from UTC−3 to UTC−2. A
    contact at 10:00 wall time on each side lands in hour 10 on both backends."""
    db = Database(backend.database_url)
    db.connect()
    try:
        created = datetime(2018, 1, 1, tzinfo=UTC)
        async with db.session() as s:
            for day in ("2018-11-03", "2018-11-04"):
                p = Patient(display_name="DST", created_at=created)
                s.add(p)
                await s.flush()
                ident = ChannelIdentity(channel="webchat", external_id=f"dst-{day}", patient_id=p.id,
                                        created_at=created)
                s.add(ident)
                await s.flush()
                c = Conversation(id=f"dst-{day}", patient_id=p.id, identity_id=ident.id, channel="webchat",
                                 state="bot", priority="normal", bot_failures=0, created_at=created,
                                 updated_at=created)
                s.add(c)
                await s.flush()
                s.add(Message(conversation_id=c.id, direction="in", sender="patient", channel="webchat", text="oi",
                              payload={}, status="processed", attempts=0, reason="booking",
                              created_at=local(day, "10:00:00")))
        r = await MetricsService(db).dashboard(parse_range("2018-11-03", "2018-11-04"), STAFFING)
    finally:
        await db.close()
    grid = r["heatmap"]["contacts"]
    assert grid[5][10] == 1 and grid[6][10] == 1  # Saturday and Sunday, both 10h
    assert sum(map(sum, grid)) == 2
    assert local("2018-11-04", "10:00:00").hour == 12 and local("2018-11-03", "10:00:00").hour == 13


async def test_fcr_follows_patient_links_and_new_handoffs(backend: Backend) -> None:
    """Pa and Pb are two channel records linked to one person R: Pb's booking message 2 days
    after Pa's resolve is a re-contact (fail). Pe's episode is not re-contacted by anyone of
    its own (Pb is someone else: pass). Pf's `other` episode is followed by a new `other`
    handoff the next day (fail by the handoff rule); that second one passes. FCR = 2/4."""
    db = Database(backend.database_url)
    db.connect()
    created = datetime(2025, 1, 1, tzinfo=UTC)
    try:
        async with db.session() as s:
            people = {k: Patient(display_name=k, created_at=created) for k in ("R", "Pa", "Pb", "Pe", "Pf")}
            s.add_all(people.values())
            await s.flush()
            for k in ("Pa", "Pb"):
                s.add(PatientLink(patient_id=people[k].id, linked_to_id=people["R"].id, created_at=created))
            convs: dict[str, str] = {}
            for k, channel in (("Pa", "webchat"), ("Pb", "whatsapp"), ("Pe", "webchat"), ("Pf", "webchat")):
                ident = ChannelIdentity(channel=channel, external_id=f"fcr-{k}", patient_id=people[k].id,
                                        created_at=created)
                s.add(ident)
                await s.flush()
                s.add(Conversation(id=f"fcr-{k}", patient_id=people[k].id, identity_id=ident.id, channel=channel,
                                   state="bot", reason="booking" if k != "Pf" else "other", priority="normal",
                                   bot_failures=0, created_at=created, updated_at=created))
                convs[k] = f"fcr-{k}"
            await s.flush()

            def msg(k: str, day: str, at: str, reason: str) -> None:
                s.add(Message(conversation_id=convs[k], direction="in", sender="patient", channel="webchat",
                              text="oi", payload={}, status="processed", attempts=0, reason=reason,
                              created_at=local(day, at)))

            def episode(k: str, day: str, at: str, resolved: str, reason: str) -> None:
                msg(k, day, at, reason)
                handoff_at = local(day, at) + timedelta(seconds=5)
                s.add(ConversationEvent(conversation_id=convs[k], type="handoff", actor="bot",
                                        data={"reason": "human", "reason_tag": reason}, created_at=handoff_at))
                s.add(ConversationEvent(conversation_id=convs[k], type="resolved", actor="staff:1",
                                        data={"outcome": "resolved"}, created_at=local(day, resolved)))

            episode("Pa", "2025-05-05", "10:00:00", "10:30:00", "booking")
            msg("Pb", "2025-05-07", "09:00:00", "booking")
            episode("Pe", "2025-05-06", "11:00:00", "11:20:00", "booking")
            episode("Pf", "2025-05-08", "10:00:00", "10:10:00", "other")
            episode("Pf", "2025-05-09", "10:00:00", "10:10:00", "other")
        r = await MetricsService(db).dashboard(parse_range("2025-05-05", "2025-05-11"), STAFFING)
    finally:
        await db.close()
    assert r["handoffs"]["episodes"] == 4
    assert r["fcr"] == {"eligible": 4, "first_contact": 2, "pending": 0, "rate": 0.5}


async def test_period_cache_keeps_now_live(backend: Backend) -> None:
    """With a cache (the API's), the period's aggregates are reused for `cache_seconds` while the
    queue and agents are read on every call."""
    db = Database(backend.database_url)
    db.connect()
    try:
        sc = await scenario.load(db)
        service = MetricsService(db, cache_seconds=60)
        rng = parse_range(scenario.FROM, scenario.TO)
        first = await service.dashboard(rng, STAFFING, now=sc.now)
        async with db.session() as s:  # a new contact in the period and one more queued conversation
            s.add(Message(conversation_id=sc.conversations["C12"], direction="in", sender="patient",
                          channel="webchat", text="oi", payload={}, status="processed", attempts=0,
                          reason="exams", created_at=local("2025-03-23", "18:00:00")))
            await s.execute(update(Conversation).where(Conversation.id == sc.conversations["C16"])
                            .values(state="queued", queue="reception", waiting_since=sc.now))
        cached = await service.dashboard(rng, STAFFING, now=sc.now + timedelta(seconds=30))
        assert cached["containment"]["contacts"] == 15 and cached["now"]["queue_length"] == 3
        assert cached["period_computed_at"] == first["period_computed_at"] == sc.now.isoformat()
        later = await service.dashboard(rng, STAFFING, now=sc.now + timedelta(seconds=61))
        assert later["containment"]["contacts"] == 16
        assert later["period_computed_at"] == (sc.now + timedelta(seconds=61)).isoformat()
        uncached = await MetricsService(db).dashboard(rng, STAFFING, now=sc.now + timedelta(seconds=62))
        assert uncached["containment"]["contacts"] == 16
    finally:
        await db.close()


def test_offset_segments_find_the_transition() -> None:
    segs = offset_segments(CLINIC_TZ, datetime(2018, 11, 1, tzinfo=UTC), datetime(2018, 11, 10, tzinfo=UTC))
    assert segs == [(None, -3 * 3600), (datetime(2018, 11, 4, 3, 0, tzinfo=UTC), -2 * 3600)]
    assert offset_segments(CLINIC_TZ, datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)) == [
        (None, -3 * 3600)]


def test_parse_range() -> None:
    now = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)  # still 28 Feb in São Paulo
    default = parse_range(None, None, now=now)
    assert (default.first, default.last, default.days) == (date(2025, 1, 30), date(2025, 2, 28), 30)
    rng = parse_range("2025-01-01", "2025-12-31")
    assert rng.days == 365
    assert rng.start == datetime(2025, 1, 1, 3, tzinfo=UTC) and rng.end == datetime(2026, 1, 1, 3, tzinfo=UTC)
    assert parse_range("2024-01-01", "2024-12-31").days == 366  # leap year: the maximum
    for bad in (("2024-01-01", "2025-01-01"), ("2025-03-02", "2025-03-01"), ("2025-02-30", "2025-03-01"),
                ("2025-3-1", "2025-03-02"), ("2025-03-01", None), ("ontem", "hoje")):
        with pytest.raises(RangeError):
            parse_range(*bad)
    assert DateRange(date(2025, 3, 10), date(2025, 3, 12)).weekday_counts() == [1, 1, 1, 0, 0, 0, 0]
    assert parse_staffing({"sl": "0,9", "concurrency": "2"}) == StaffingParams(target_service_level=0.9,
                                                                               concurrency=2)
    for bad_args in ({"sl": "80"}, {"concurrency": "0"}, {"max_occupancy": "nan"}, {"answer_seconds": "x"}):
        with pytest.raises(RangeError):
            parse_staffing(bad_args)


# -- HTTP -----------------------------------------------------------------------------------


async def test_api_roles_ranges_csv_and_page(backend: Backend) -> None:
    db = Database(backend.database_url)
    db.connect()
    try:
        await scenario.load(db)
    finally:
        await db.close()
    hub, life = await start_hub(backend)
    try:
        client = hub.client
        q = {"from": scenario.FROM, "to": scenario.TO}
        assert (await client.get("/api/metrics", params=q)).status_code == 401
        assert (await client.get("/api/metrics.csv", params=q)).status_code == 401
        page = await client.get("/dashboard", params=q)
        assert page.status_code == 302 and page.headers["location"].startswith("/login?next=%2Fdashboard")

        async def token(email: str) -> str:
            r = await client.post("/api/auth/login", json={"email": email, "password": scenario.PASSWORD})
            assert r.status_code == 200, r.text
            return str(r.json()["token"])

        attendant = {"Authorization": f"Bearer {await token(scenario.ATTENDANT_EMAIL)}"}
        r = await client.get("/api/metrics", params=q, headers=attendant)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        assert (await client.get("/api/metrics.csv", params=q, headers=attendant)).status_code == 403
        assert (await client.get("/dashboard", headers=attendant)).status_code == 403

        manager = {"Authorization": f"Bearer {await token(scenario.MANAGER_EMAIL)}"}
        r = await client.get("/api/metrics", params={**q, "answer_seconds": "60"}, headers=manager)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["tmr"]["mean_seconds"] == pytest.approx(1044, abs=0.01)
        assert body["containment"]["contacts"] == 15 and body["conversion"]["converted"] == 4
        assert body["staffing"]["cells"][0][9]["agents"] == 2
        # Default Erlang target: the normal-priority first-response SLA (30 min).
        default = (await client.get("/api/metrics", params=q, headers=manager)).json()
        assert default["staffing"]["answer_seconds"] == 1800 and default["staffing"]["target_service_level"] == 0.8
        # No dates: the last 30 days up to today in the clinic's zone.
        last30 = (await client.get("/api/metrics", headers=manager)).json()["range"]
        assert last30["days"] == 30 and last30["to"] == datetime.now(CLINIC_TZ).date().isoformat()
        for bad in ({"from": "2025-03-23", "to": "2025-03-10"}, {"from": "2024-01-01", "to": "2025-01-01"},
                    {"from": "2025-13-01", "to": "2025-13-02"}, {"from": "2025-03-10"}, {**q, "sl": "2"}):
            r = await client.get("/api/metrics", params=bad, headers=manager)
            assert r.status_code == 400, bad
            assert r.json()["error"]["code"] == "invalid_range"
        assert (await client.get("/api/metrics.csv", params={"from": "x", "to": "y"}, headers=manager)).status_code \
            == 400

        r = await client.get("/api/metrics.csv", params=q, headers=manager)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/csv")
        assert 'filename="atende-metricas-2025-03-10-a-2025-03-23.csv"' in r.headers["content-disposition"]
        assert r.content.startswith("\ufeff".encode())
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"), newline=""), delimiter=";"))
        assert rows[0] == ["Seção", "Indicador", "Dimensão", "Valor", "Unidade"]
        assert all(len(row) == 5 for row in rows)
        values = {(row[0], row[1], row[2]): row[3] for row in rows[1:]}
        assert values[("Resumo", "TMR médio (1ª resposta)", "")] == "1044,0"
        assert values[("Resumo", "TMR p90", "")] == "2280,0"
        assert values[("Resumo", "Contenção do bot", "")] == "53,3"
        assert values[("Resumo", "NPS", "")] == "33,3"
        assert values[("Motivo", "Contatos", "Agendamento")] == "6"
        assert values[("Mapa de calor", "Contatos", "sex 22h")] == "1"
        assert values[("Mapa de calor", "Contatos", "sáb 01h")] == "0"
        assert values[("Período", "Data inicial", "")] == "2025-03-10"

        # The page itself with the session cookie the login set (the client keeps cookies).
        client.cookies.clear()
        login = await client.post("/api/auth/login", json={"email": scenario.MANAGER_EMAIL,
                                                           "password": scenario.PASSWORD})
        assert "atende_session" in login.cookies
        page = await client.get("/dashboard")
        assert page.status_code == 200 and "Painel do gestor" in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert (await client.get("/api/metrics", params=q)).status_code == 200  # cookie session
        for asset in ("/dashboard/dashboard.js", "/dashboard/dashboard.css"):
            assert (await client.get(asset)).status_code == 200
    finally:
        await hub.client.aclose()
        await life.stop()
