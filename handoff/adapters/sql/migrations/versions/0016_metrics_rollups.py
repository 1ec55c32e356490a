"""metrics rollups: the 30-day dashboard reads one row per episode and per contact (issue 16)

- `metrics_episodes`: one row per `handoff` event with the milestones of its episode (first
  assigned/reply/resolve, last resolve/reopen, outcome key, SLA breach flags), its reason tag,
  its person (linked record, else patient) and `recontacted` (FCR: same person, same reason,
  within 7 days after the last resolve).
- `metrics_contact_days`: one row per contact (conversation x clinic day with a contact message):
  clinic weekday/hour of the first message, first booking message, distinct reason tags,
  handoff that day, last conversion that day.

PostgreSQL only (SQLite keeps today's statements; its tables stay empty): row triggers on
messages, conversation_events, conversations (patient_id, reason), patient_links and
appointments recompute the affected rows from the source tables with the same expressions as
handoff/adapters/sql/metrics_queries.py, in the writer's transaction, so the rollups can never
drift. Each recompute is small (one conversation-day, one conversation's episodes from the
touched one on, or the episodes of the persons a fact belongs to, within 8 days). The clinic
zone is fixed here (America/Sao_Paulo); other zones fall back to the live statements.
`metrics_rollup_rebuild()` recomputes everything (the backfill below; bulk loads that bypass
triggers call it).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 09:30:00.000000
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
ReasonTags = sa.JSON().with_variant(postgresql.ARRAY(sa.Text()), 'postgresql')

TZ = "America/Sao_Paulo"
MILESTONES = "'handoff', 'assigned', 'agent_reply', 'resolved', 'reopened', 'sla_breach'"
EVENT_TYPES = MILESTONES + ", 'appointment_booked'"


def contact(r: str) -> str:
    """migrations 0005 / metrics_queries.contact_message on the row `r` (never NULL)."""
    return (f"({r}.direction = 'in' AND {r}.sender = 'patient' AND {r}.status <> 'routed' "
            f"AND ({r}.intent IS NULL OR {r}.intent <> 'csat'))")



def episode_rows(handoffs_where: str, partition: str) -> str:
    """MetricsQueries.episodes() (milestones, reason, person, durations, FCR flag) for the
    handoffs matching `handoffs_where`; one text for the per-conversation refresh and the rebuild."""
    return f"""
          WITH h AS (
            SELECT id AS hid, conversation_id AS cid, created_at AS handoff_at, data ->> 'reason_tag' AS tag,
                   lead(created_at) OVER ({partition} ORDER BY created_at, id) AS next_at
              FROM conversation_events
             WHERE type = 'handoff' AND {handoffs_where}),
          ms AS (
            SELECT h.hid, h.cid, h.handoff_at, h.tag,
                   min(CASE WHEN e.type = 'assigned' THEN e.created_at END) AS assigned_at,
                   min(CASE WHEN e.type = 'agent_reply' THEN e.created_at END) AS first_reply_at,
                   min(CASE WHEN e.type = 'resolved' THEN e.created_at END) AS first_resolved_at,
                   max(CASE WHEN e.type = 'resolved' THEN e.created_at END) AS last_resolved_at,
                   max(CASE WHEN e.type = 'reopened' THEN e.created_at END) AS last_reopened_at,
                   max(CASE WHEN e.type = 'resolved' THEN
                         CAST(floor(EXTRACT(epoch FROM e.created_at) * 1000) AS BIGINT) * 4
                         + CASE WHEN e.data ->> 'outcome' = 'resolved' THEN 1
                                WHEN e.data ->> 'outcome' = 'booked' THEN 2
                                WHEN e.data ->> 'outcome' = 'not_resolved' THEN 3 ELSE 0 END END) AS outcome_key,
                   max(CASE WHEN e.type = 'sla_breach' AND e.data ->> 'metric' = 'first_response'
                            THEN 1 ELSE 0 END) AS fr_breach,
                   max(CASE WHEN e.type = 'sla_breach' AND e.data ->> 'metric' = 'resolution'
                            THEN 1 ELSE 0 END) AS res_breach,
                   sum(CASE WHEN e.type = 'sla_breach' AND e.data ->> 'metric' = 'next_response'
                            THEN 1 ELSE 0 END) AS nr_breaches
              FROM h LEFT JOIN conversation_events e
                ON e.conversation_id = h.cid AND e.created_at >= h.handoff_at
               AND (h.next_at IS NULL OR e.created_at < h.next_at)
               AND e.type IN ('assigned', 'agent_reply', 'resolved', 'reopened', 'sla_breach')
             GROUP BY h.hid, h.cid, h.handoff_at, h.tag),
          rows AS (
            SELECT ms.*, coalesce(ms.tag, cv.reason, 'other') AS reason,
                   coalesce(pl.linked_to_id, cv.patient_id)::bigint AS person
              FROM ms JOIN conversations cv ON cv.id = ms.cid
              LEFT JOIN patient_links pl ON pl.patient_id = cv.patient_id)
          SELECT hid, cid, handoff_at, tag, assigned_at, first_reply_at, first_resolved_at, last_resolved_at,
                 last_reopened_at, outcome_key, fr_breach, res_breach, nr_breaches, reason, person,
                 CASE WHEN last_resolved_at IS NOT NULL THEN metrics_recontacted(person, reason, last_resolved_at) END,
                 -- metrics_sql.seconds_between, the same expression as the reference statements
                 CAST(EXTRACT(epoch FROM first_reply_at - handoff_at) AS FLOAT),
                 CAST(EXTRACT(epoch FROM assigned_at - handoff_at) AS FLOAT),
                 CASE WHEN first_resolved_at >= assigned_at
                      THEN CAST(EXTRACT(epoch FROM first_resolved_at - assigned_at) AS FLOAT) END
            FROM rows"""


EPISODE_COLUMNS = ("hid, cid, handoff_at, tag, assigned_at, first_reply_at, first_resolved_at, last_resolved_at, "
                   "last_reopened_at, outcome_key, fr_breach, res_breach, nr_breaches, reason, person, recontacted, "
                   "tmr, asa, aht")


def contact_rows(messages_where: str) -> str:
    """MetricsQueries.contact_cells_statement's per-(conversation, day) fold for the contact
    messages matching `messages_where` (alias mm); one text for the refresh and the rebuild."""
    lo = f"(CAST(m.day AS timestamp) AT TIME ZONE '{TZ}' - interval '1 day')"  # margins, then the exact day test
    hi = f"(CAST(m.day AS timestamp) AT TIME ZONE '{TZ}' + interval '2 days')"
    return f"""
          SELECT m.cid, m.day,
                 CAST(EXTRACT(isodow FROM timezone('{TZ}', m.first_at)) AS INTEGER) - 1,
                 CAST(EXTRACT(hour FROM timezone('{TZ}', m.first_at)) AS INTEGER),
                 m.first_at, m.booking_at, m.reasons,
                 CASE WHEN EXISTS (SELECT 1 FROM conversation_events e
                                    WHERE e.conversation_id = m.cid AND e.type = 'handoff'
                                      AND e.created_at >= {lo} AND e.created_at < {hi}
                                      AND metrics_local_day(e.created_at) = m.day) THEN 1 ELSE 0 END,
                 (SELECT max(x.at) FROM (
                     SELECT a.created_at AS at FROM appointments a
                      WHERE a.patient_id = ANY (metrics_owners(m.cid))
                        AND a.created_at >= {lo} AND a.created_at < {hi} AND metrics_local_day(a.created_at) = m.day
                     UNION ALL
                     SELECT e.created_at FROM conversation_events e
                      WHERE e.conversation_id = m.cid AND e.type IN ('appointment_booked', 'resolved')
                        AND (e.type = 'appointment_booked' OR e.data ->> 'outcome' = 'booked')
                        AND e.created_at >= {lo} AND e.created_at < {hi}
                        AND metrics_local_day(e.created_at) = m.day) x)
            FROM (SELECT mm.conversation_id AS cid, metrics_local_day(mm.created_at) AS day,
                         min(mm.created_at) AS first_at,
                         min(CASE WHEN mm.reason = 'booking' THEN mm.created_at END) AS booking_at,
                         coalesce(array_agg(DISTINCT CAST(mm.reason AS text)) FILTER (WHERE mm.reason IS NOT NULL),
                                  '{{}}') AS reasons
                    FROM messages mm
                   WHERE {contact('mm')} AND {messages_where}
                   GROUP BY 1, 2) m"""


CONTACT_COLUMNS = "cid, day, weekday, hour, first_at, booking_at, reasons, handoff, conversion_at"


FUNCTIONS = [
    # The clinic calendar day of an instant (metrics_sql.LocalClock.day).
    f"""CREATE FUNCTION metrics_local_day(t timestamptz) RETURNS date LANGUAGE sql STABLE AS $$
        SELECT CAST(timezone('{TZ}', t) AS date) $$""",
    # Writers of the same conversation (or of facts of the same person) take turns on the rollup
    # rows they recompute: transaction-level advisory locks, taken before the recompute reads the
    # source tables, so (READ COMMITTED: each statement sees what committed before it) a recompute
    # always sees the other writer's committed rows and two recomputes never race on a key.
    # Order: the conversation, then the persons in ascending order.
    """CREATE FUNCTION metrics_lock_conversation(p_cid varchar) RETURNS void LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_advisory_xact_lock(1601, hashtext(p_cid)); END $$""",
    """CREATE FUNCTION metrics_lock_persons(p_persons bigint[]) RETURNS void LANGUAGE plpgsql AS $$
        DECLARE v bigint;
        BEGIN
          FOR v IN SELECT DISTINCT x FROM unnest(p_persons) x WHERE x IS NOT NULL ORDER BY x LOOP
            PERFORM pg_advisory_xact_lock(1602, hashtext(v::text));
          END LOOP;
        END $$""",
    # The persons the facts of a conversation belong to (FCR probes, conversions): its patient and
    # the record that patient is linked to. (PL/pgSQL, like the functions below: plans are cached
    # per session, where a non-inlined SQL function is planned again on every call.)
    """CREATE FUNCTION metrics_owners(p_cid varchar) RETURNS bigint[] LANGUAGE plpgsql STABLE AS $$
        DECLARE v_patient bigint; v_linked bigint;
        BEGIN
          SELECT c.patient_id, l.linked_to_id INTO v_patient, v_linked
            FROM conversations c LEFT JOIN patient_links l ON l.patient_id = c.patient_id WHERE c.id = p_cid;
          RETURN array_remove(ARRAY[v_patient, v_linked], NULL);
        END $$""",
    # MetricsQueries._recontacted for one episode.
    f"""CREATE FUNCTION metrics_recontacted(p_person bigint, p_reason text, p_lr timestamptz)
        RETURNS boolean LANGUAGE plpgsql STABLE AS $$
        BEGIN
          RETURN (p_reason <> 'other' AND (
            EXISTS (SELECT 1 FROM conversations c2 JOIN messages m2 ON m2.conversation_id = c2.id
                    WHERE c2.patient_id = p_person AND {contact('m2')} AND m2.reason = p_reason
                      AND m2.created_at > p_lr AND m2.created_at <= p_lr + interval '604800 seconds')
            OR EXISTS (SELECT 1 FROM patient_links l JOIN conversations c2 ON c2.patient_id = l.patient_id
                       JOIN messages m2 ON m2.conversation_id = c2.id
                       WHERE l.linked_to_id = p_person AND {contact('m2')} AND m2.reason = p_reason
                         AND m2.created_at > p_lr AND m2.created_at <= p_lr + interval '604800 seconds')))
          OR EXISTS (SELECT 1 FROM conversations c3 JOIN conversation_events e3 ON e3.conversation_id = c3.id
                     WHERE c3.patient_id = p_person AND e3.type = 'handoff'
                       AND e3.created_at > p_lr AND e3.created_at <= p_lr + interval '604800 seconds'
                       AND coalesce(e3.data ->> 'reason_tag', c3.reason, 'other') = p_reason)
          OR EXISTS (SELECT 1 FROM patient_links l JOIN conversations c3 ON c3.patient_id = l.patient_id
                     JOIN conversation_events e3 ON e3.conversation_id = c3.id
                     WHERE l.linked_to_id = p_person AND e3.type = 'handoff'
                       AND e3.created_at > p_lr AND e3.created_at <= p_lr + interval '604800 seconds'
                       AND coalesce(e3.data ->> 'reason_tag', c3.reason, 'other') = p_reason);
        END $$""",
    # Recompute the episodes of one conversation from the one containing `p_at` on (from the one
    # before it when a handoff moved: its interval ends at the next handoff). MetricsQueries.episodes.
    f"""CREATE FUNCTION metrics_episodes_refresh(p_cid varchar, p_at timestamptz, p_handoff boolean)
        RETURNS void LANGUAGE plpgsql AS $$
        DECLARE v_from timestamptz;
        BEGIN
          PERFORM metrics_lock_conversation(p_cid);
          PERFORM metrics_lock_persons(metrics_owners(p_cid));
          IF p_handoff THEN
            SELECT max(created_at) INTO v_from FROM conversation_events
             WHERE conversation_id = p_cid AND type = 'handoff' AND created_at < p_at;
            v_from := coalesce(v_from, p_at);
          ELSE
            SELECT max(created_at) INTO v_from FROM conversation_events
             WHERE conversation_id = p_cid AND type = 'handoff' AND created_at <= p_at;
            IF v_from IS NULL THEN RETURN; END IF;  -- before any handoff: in no episode
          END IF;
          DELETE FROM metrics_episodes WHERE cid = p_cid AND handoff_at >= v_from;
          INSERT INTO metrics_episodes ({EPISODE_COLUMNS})
          {episode_rows("conversation_id = p_cid AND created_at >= v_from", "")};
        END $$""",
    # A fact (contact message, handoff) of conversation `p_cid` at `p_at` appeared, moved or went
    # away: recompute `recontacted` of the episodes it can count for (their persons own it and
    # their last resolve is within the 7 days before it; 8 days and no reason filter: a superset).
    """CREATE FUNCTION metrics_fcr_touch(p_cid varchar, p_at timestamptz) RETURNS void LANGUAGE plpgsql AS $$
        DECLARE v_owners bigint[] := metrics_owners(p_cid);
        BEGIN
          PERFORM metrics_lock_persons(v_owners);
          UPDATE metrics_episodes e SET recontacted = x.v
            FROM (SELECT hid, metrics_recontacted(person, reason, last_resolved_at) AS v FROM metrics_episodes
                   WHERE person = ANY (v_owners)
                     AND last_resolved_at > p_at - interval '8 days' AND last_resolved_at <= p_at) x
           WHERE e.hid = x.hid AND e.recontacted IS DISTINCT FROM x.v;
        END $$""",
    # Every episode of these persons (a link or a conversation's patient changed).
    """CREATE FUNCTION metrics_fcr_persons(p_persons bigint[]) RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM metrics_lock_persons(p_persons);
          UPDATE metrics_episodes e SET recontacted = x.v
            FROM (SELECT hid, metrics_recontacted(person, reason, last_resolved_at) AS v FROM metrics_episodes
                   WHERE person = ANY (p_persons) AND last_resolved_at IS NOT NULL) x
           WHERE e.hid = x.hid AND e.recontacted IS DISTINCT FROM x.v;
        END $$""",
    # Recompute one contact (MetricsQueries.contact_cells_statement for one conversation-day).
    f"""CREATE FUNCTION metrics_contact_day_refresh(p_cid varchar, p_day date) RETURNS void LANGUAGE plpgsql AS $$
        DECLARE lo timestamptz := CAST(p_day AS timestamp) AT TIME ZONE '{TZ}' - interval '1 day';
                hi timestamptz := CAST(p_day AS timestamp) AT TIME ZONE '{TZ}' + interval '2 days';
        BEGIN
          PERFORM metrics_lock_conversation(p_cid);
          DELETE FROM metrics_contact_days WHERE cid = p_cid AND day = p_day;
          INSERT INTO metrics_contact_days ({CONTACT_COLUMNS}) {contact_rows(
              "mm.conversation_id = p_cid AND mm.created_at >= lo AND mm.created_at < hi "
              "AND metrics_local_day(mm.created_at) = p_day")};
        END $$""",
    # A contact message arrived or got its first reason tag (the ordinary flow): fold it into its
    # contact when that exists (first message, first booking message, tags), else compute it.
    f"""CREATE FUNCTION metrics_contact_day_add(p_cid varchar, p_at timestamptz, p_reason text) RETURNS void
        LANGUAGE plpgsql AS $$
        DECLARE v_day date := metrics_local_day(p_at); r record;
        BEGIN
          PERFORM metrics_lock_conversation(p_cid);
          SELECT first_at, booking_at, reasons INTO r FROM metrics_contact_days WHERE cid = p_cid AND day = v_day;
          IF NOT FOUND THEN
            PERFORM metrics_contact_day_refresh(p_cid, v_day);
            RETURN;
          END IF;
          IF p_at >= r.first_at AND (p_reason IS NULL OR p_reason = ANY (r.reasons))
             AND (p_reason IS DISTINCT FROM 'booking' OR p_at >= r.booking_at) THEN
            RETURN;  -- nothing new for this contact (no row version written)
          END IF;
          UPDATE metrics_contact_days
             SET first_at = least(first_at, p_at),
                 weekday = CASE WHEN p_at < first_at
                           THEN CAST(EXTRACT(isodow FROM timezone('{TZ}', p_at)) AS INTEGER) - 1 ELSE weekday END,
                 hour = CASE WHEN p_at < first_at
                        THEN CAST(EXTRACT(hour FROM timezone('{TZ}', p_at)) AS INTEGER) ELSE hour END,
                 booking_at = CASE WHEN p_reason = 'booking' THEN least(booking_at, p_at) ELSE booking_at END,
                 reasons = CASE WHEN p_reason IS NULL OR p_reason = ANY (reasons) THEN reasons
                           ELSE reasons || p_reason END
           WHERE cid = p_cid AND day = v_day;
        END $$""",
    # Every contact and episode of one conversation (its patient, or a link of it, changed).
    """CREATE FUNCTION metrics_conversation_refresh(p_cid varchar) RETURNS void LANGUAGE plpgsql AS $$
        DECLARE d date;
        BEGIN
          PERFORM metrics_episodes_refresh(p_cid, '-infinity', true);
          FOR d IN SELECT day FROM metrics_contact_days WHERE cid = p_cid ORDER BY day LOOP
            PERFORM metrics_contact_day_refresh(p_cid, d);
          END LOOP;
        END $$""",
    # Triggers.
    f"""CREATE FUNCTION metrics_on_message() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'INSERT' THEN
            PERFORM metrics_contact_day_add(NEW.conversation_id, NEW.created_at, NEW.reason);
          ELSIF TG_OP = 'UPDATE' AND OLD.reason IS NULL AND {contact('OLD')} AND {contact('NEW')}
                AND OLD.conversation_id = NEW.conversation_id AND OLD.created_at = NEW.created_at THEN
            -- the bot tagged the message: only adds a tag (and maybe the first booking message)
            PERFORM metrics_contact_day_add(NEW.conversation_id, NEW.created_at, NEW.reason);
          ELSE
            IF TG_OP <> 'INSERT' AND {contact('OLD')} THEN
              PERFORM metrics_contact_day_refresh(OLD.conversation_id, metrics_local_day(OLD.created_at));
              IF OLD.reason IS NOT NULL THEN PERFORM metrics_fcr_touch(OLD.conversation_id, OLD.created_at); END IF;
            END IF;
            IF TG_OP <> 'DELETE' AND {contact('NEW')} THEN
              PERFORM metrics_contact_day_refresh(NEW.conversation_id, metrics_local_day(NEW.created_at));
            END IF;
          END IF;
          IF TG_OP <> 'DELETE' AND NEW.reason IS NOT NULL AND {contact('NEW')} THEN
            PERFORM metrics_fcr_touch(NEW.conversation_id, NEW.created_at);
          END IF;
          RETURN NULL;
        END $$""",
    """CREATE FUNCTION metrics_event_changed(p_cid varchar, p_type varchar, p_data json, p_at timestamptz)
        RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
          IF p_type IN ('handoff', 'assigned', 'agent_reply', 'resolved', 'reopened', 'sla_breach') THEN
            PERFORM metrics_episodes_refresh(p_cid, p_at, p_type = 'handoff');
          END IF;
          IF p_type = 'handoff' THEN PERFORM metrics_fcr_touch(p_cid, p_at); END IF;
          IF p_type IN ('handoff', 'appointment_booked')
             OR (p_type = 'resolved' AND p_data ->> 'outcome' = 'booked') THEN
            PERFORM metrics_contact_day_refresh(p_cid, metrics_local_day(p_at));
          END IF;
        END $$""",
    """CREATE FUNCTION metrics_on_event() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP <> 'INSERT' THEN
            PERFORM metrics_event_changed(OLD.conversation_id, OLD.type, OLD.data, OLD.created_at);
          END IF;
          IF TG_OP <> 'DELETE' THEN
            PERFORM metrics_event_changed(NEW.conversation_id, NEW.type, NEW.data, NEW.created_at);
          END IF;
          RETURN NULL;
        END $$""",
    # A conversation's patient or reason changed: its episodes' person/reason, the conversions of
    # its contacts, and the FCR of every episode its facts can count for.
    """CREATE FUNCTION metrics_on_conversation() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE v_old bigint[];
        BEGIN
          IF OLD.patient_id IS DISTINCT FROM NEW.patient_id THEN
            SELECT coalesce(array_agg(x) FILTER (WHERE x IS NOT NULL), '{}') INTO v_old FROM (
              SELECT OLD.patient_id::bigint AS x
              UNION SELECT linked_to_id FROM patient_links WHERE patient_id = OLD.patient_id) s;
            PERFORM metrics_conversation_refresh(NEW.id);
            PERFORM metrics_fcr_persons(v_old || metrics_owners(NEW.id));
          ELSIF EXISTS (SELECT 1 FROM conversation_events e WHERE e.conversation_id = NEW.id
                         AND e.type = 'handoff' AND e.data ->> 'reason_tag' IS NULL) THEN
            -- untagged handoffs take the conversation's reason
            PERFORM metrics_episodes_refresh(NEW.id, '-infinity', true);
            PERFORM metrics_fcr_persons(metrics_owners(NEW.id));
          END IF;
          RETURN NULL;
        END $$""",
    """CREATE FUNCTION metrics_on_link() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE v_cid varchar; v_linked bigint[] := '{}'; v_persons bigint[] := '{}';
        BEGIN
          -- the linked records' conversations change person; the link targets gain or lose facts
          IF TG_OP <> 'INSERT' THEN
            v_linked := v_linked || OLD.patient_id::bigint;
            v_persons := v_persons || OLD.linked_to_id::bigint;
          END IF;
          IF TG_OP <> 'DELETE' THEN
            v_linked := v_linked || NEW.patient_id::bigint;
            v_persons := v_persons || NEW.linked_to_id::bigint;
          END IF;
          v_persons := v_persons || v_linked;
          FOR v_cid IN SELECT id FROM conversations WHERE patient_id = ANY (v_linked) ORDER BY id LOOP
            PERFORM metrics_conversation_refresh(v_cid);
          END LOOP;
          PERFORM metrics_fcr_persons(v_persons);
          RETURN NULL;
        END $$""",
    """CREATE FUNCTION metrics_appointment_changed(p_patient bigint, p_at timestamptz) RETURNS void
        LANGUAGE plpgsql AS $$
        DECLARE v_cid varchar;
        BEGIN
          FOR v_cid IN SELECT d.cid FROM metrics_contact_days d
                        WHERE d.day = metrics_local_day(p_at) AND d.cid IN (
                          SELECT c.id FROM conversations c WHERE c.patient_id = p_patient
                          UNION SELECT c.id FROM patient_links l JOIN conversations c ON c.patient_id = l.patient_id
                          WHERE l.linked_to_id = p_patient)
                        ORDER BY d.cid LOOP
            PERFORM metrics_contact_day_refresh(v_cid, metrics_local_day(p_at));
          END LOOP;
        END $$""",
    """CREATE FUNCTION metrics_on_appointment() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP <> 'INSERT' THEN PERFORM metrics_appointment_changed(OLD.patient_id, OLD.created_at); END IF;
          IF TG_OP <> 'DELETE' THEN PERFORM metrics_appointment_changed(NEW.patient_id, NEW.created_at); END IF;
          RETURN NULL;
        END $$""",
    # Everything from the source tables (backfill; after bulk loads that bypass triggers).
    f"""CREATE FUNCTION metrics_rollup_rebuild() RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
          TRUNCATE metrics_episodes, metrics_contact_days;
          INSERT INTO metrics_episodes ({EPISODE_COLUMNS}) {episode_rows("true", "PARTITION BY conversation_id")};
          INSERT INTO metrics_contact_days ({CONTACT_COLUMNS}) {contact_rows("true")};
        END $$""",
]

# (name, table, timing/events, WHEN condition or None, function)
TRIGGERS = [
    ("metrics_messages_ins", "messages", "AFTER INSERT", contact("NEW"), "metrics_on_message"),
    ("metrics_messages_del", "messages", "AFTER DELETE", contact("OLD"), "metrics_on_message"),
    ("metrics_messages_upd", "messages", "AFTER UPDATE",
     f"(({contact('OLD')}) OR ({contact('NEW')})) AND (({contact('OLD')}) <> ({contact('NEW')}) "
     "OR OLD.reason IS DISTINCT FROM NEW.reason OR OLD.created_at <> NEW.created_at "
     "OR OLD.conversation_id <> NEW.conversation_id)", "metrics_on_message"),
    ("metrics_events_ins", "conversation_events", "AFTER INSERT", f"NEW.type IN ({EVENT_TYPES})",
     "metrics_on_event"),
    ("metrics_events_del", "conversation_events", "AFTER DELETE", f"OLD.type IN ({EVENT_TYPES})",
     "metrics_on_event"),
    ("metrics_events_upd", "conversation_events", "AFTER UPDATE",
     f"OLD.type IN ({EVENT_TYPES}) OR NEW.type IN ({EVENT_TYPES})", "metrics_on_event"),
    ("metrics_conversations_upd", "conversations", "AFTER UPDATE OF patient_id, reason",
     "OLD.patient_id IS DISTINCT FROM NEW.patient_id OR OLD.reason IS DISTINCT FROM NEW.reason",
     "metrics_on_conversation"),
    ("metrics_links", "patient_links", "AFTER INSERT OR UPDATE OR DELETE", None, "metrics_on_link"),
    ("metrics_appointments_ins", "appointments", "AFTER INSERT", None, "metrics_on_appointment"),
    ("metrics_appointments_del", "appointments", "AFTER DELETE", None, "metrics_on_appointment"),
    ("metrics_appointments_upd", "appointments", "AFTER UPDATE OF patient_id, created_at",
     "OLD.patient_id IS DISTINCT FROM NEW.patient_id OR OLD.created_at IS DISTINCT FROM NEW.created_at",
     "metrics_on_appointment"),
]

FUNCTION_SIGNATURES = [
    "metrics_rollup_rebuild()", "metrics_on_appointment()", "metrics_appointment_changed(bigint, timestamptz)",
    "metrics_on_link()", "metrics_on_conversation()", "metrics_on_event()",
    "metrics_event_changed(varchar, varchar, json, timestamptz)", "metrics_on_message()",
    "metrics_conversation_refresh(varchar)", "metrics_contact_day_add(varchar, timestamptz, text)",
    "metrics_contact_day_refresh(varchar, date)",
    "metrics_fcr_persons(bigint[])", "metrics_fcr_touch(varchar, timestamptz)",
    "metrics_episodes_refresh(varchar, timestamptz, boolean)", "metrics_recontacted(bigint, text, timestamptz)",
    "metrics_owners(varchar)", "metrics_lock_persons(bigint[])", "metrics_lock_conversation(varchar)",
    "metrics_local_day(timestamptz)",
]


def upgrade() -> None:
    op.create_table('metrics_episodes',
    sa.Column('hid', BigId, autoincrement=False, nullable=False),
    sa.Column('cid', sa.String(length=36), nullable=False),
    sa.Column('handoff_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tag', sa.Text(), nullable=True),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_reply_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_reopened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome_key', sa.BigInteger(), nullable=True),
    sa.Column('fr_breach', sa.Integer(), nullable=False),
    sa.Column('res_breach', sa.Integer(), nullable=False),
    sa.Column('nr_breaches', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('person', sa.BigInteger(), nullable=True),
    sa.Column('recontacted', sa.Boolean(), nullable=True),
    sa.Column('tmr', sa.Float(), nullable=True),
    sa.Column('asa', sa.Float(), nullable=True),
    sa.Column('aht', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('hid')
    )
    op.create_index('ix_metrics_episodes_handoff_at', 'metrics_episodes', ['handoff_at'], unique=False)
    op.create_index('ix_metrics_episodes_cid_handoff_at', 'metrics_episodes', ['cid', 'handoff_at'], unique=False)
    op.create_index('ix_metrics_episodes_person_resolved', 'metrics_episodes', ['person', 'last_resolved_at'],
                    unique=False)
    op.create_table('metrics_contact_days',
    sa.Column('cid', sa.String(length=36), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('hour', sa.Integer(), nullable=False),
    sa.Column('first_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('booking_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reasons', ReasonTags, nullable=False),
    sa.Column('handoff', sa.Integer(), nullable=False),
    sa.Column('conversion_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('cid', 'day')
    )
    op.create_index('ix_metrics_contact_days_day', 'metrics_contact_days', ['day'], unique=False)
    if op.get_bind().dialect.name != 'postgresql':
        return
    for sql in FUNCTIONS:
        op.execute(sql)
    for name, table, timing, when, function in TRIGGERS:
        cond = f" WHEN ({when})" if when else ""
        op.execute(f"CREATE TRIGGER {name} {timing} ON {table} FOR EACH ROW{cond} EXECUTE FUNCTION {function}()")
    op.execute("SELECT metrics_rollup_rebuild()")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for name, table, *_ in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        for signature in FUNCTION_SIGNATURES:
            op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    op.drop_index('ix_metrics_contact_days_day', table_name='metrics_contact_days')
    op.drop_table('metrics_contact_days')
    op.drop_index('ix_metrics_episodes_person_resolved', table_name='metrics_episodes')
    op.drop_index('ix_metrics_episodes_cid_handoff_at', table_name='metrics_episodes')
    op.drop_index('ix_metrics_episodes_handoff_at', table_name='metrics_episodes')
    op.drop_table('metrics_episodes')
