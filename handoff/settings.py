"""Typed settings, read once at start-up from the environment (and `.env` if present)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class WhatsAppTemplate(BaseModel):
    """An approved WhatsApp message template (the only thing allowed outside the 24-hour window).

    `body` uses WhatsApp's positional placeholders `{{1}}`, `{{2}}`, …; `variables` names them
    in order (shown to the attendant). Twilio sends it by `twilio_content_sid`, the Cloud API by
    `meta_name` + `language`.
    """

    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=1024)
    twilio_content_sid: str | None = None
    meta_name: str | None = None
    language: str = "pt_BR"
    variables: list[str] = Field(default_factory=list)
    # False for templates the hub sends itself (reminders, waitlist offers): their quick-reply
    # buttons carry an appointment's or offer's payload, so an attendant cannot send them by hand.
    for_agents: bool = True


def _demo_whatsapp_templates() -> list[WhatsAppTemplate]:
    return [
        WhatsAppTemplate(
            id="retorno_atendimento", name="Retomar o atendimento",
            body="Olá {{1}}, aqui é da Clínica Exemplo. Podemos continuar seu atendimento por aqui?",
            twilio_content_sid="HX00000000000000000000000000000001", meta_name="retorno_atendimento",
            variables=["nome"],
        ),
        WhatsAppTemplate(
            id="lembrete_consulta", name="Lembrete de consulta",
            body="Olá {{1}}, lembramos da sua consulta em {{2}}. Responda esta mensagem se precisar remarcar.",
            twilio_content_sid="HX00000000000000000000000000000002", meta_name="lembrete_consulta",
            variables=["nome", "data e horário"],
        ),
        WhatsAppTemplate(
            id="lembrete_consulta_botoes", name="Lembrete de consulta (confirmar/cancelar/remarcar)",
            body=("Olá {{1}}, lembrete da sua consulta na {{2}} com {{3}} ({{4}}). Endereço: {{5}}. "
                  "Toque em Confirmar, Cancelar ou Remarcar."),
            twilio_content_sid="HX00000000000000000000000000000003", meta_name="lembrete_consulta_botoes",
            variables=["nome", "data e horário", "médico", "especialidade", "endereço"], for_agents=False,
        ),
    ]


def _default_database_url() -> str:
    return f"sqlite+aiosqlite:///{REPO_ROOT / 'var' / 'atende.db'}"


class Settings(BaseSettings):
    """Every key is listed in `.env.example`; nothing here connects to anything."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field(default_factory=_default_database_url)
    redis_url: str | None = None
    public_base_url: str = "http://127.0.0.1:8000"
    hub_host: str = "127.0.0.1"
    hub_port: int = 8000
    rasa_url: str = "http://127.0.0.1:5005"
    # Several Rasa replicas (comma-separated base URLs; each with its own action server, sharing the
    # SQL tracker store and the Redis lock store). Empty: RASA_URL alone.
    rasa_urls: str | None = None
    actions_urls: str | None = None  # their action servers (comma-separated), for /healthz
    bot_health_interval_seconds: float = Field(default=2.0, gt=0)  # replica checks; a dead one is out within this
    # `make run`'s supervisor writes the state of the processes it restarts here; /healthz shows it.
    supervisor_status_file: str | None = None
    actions_port: int = 5055
    actions_url: str | None = None  # default http://127.0.0.1:<ACTIONS_PORT>
    clinic_admin_email: str = "admin@clinica.example"
    clinic_admin_password: str | None = None
    channel_sandbox: bool = True

    # Twilio (WhatsApp + SMS). Senders are enabled when the account SID is set.
    twilio_api_base: str = "https://api.twilio.com"
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_whatsapp_from: str | None = None
    twilio_sms_from: str | None = None
    twilio_voice_from: str | None = None  # caller id of calls placed to patients (call back)

    # Meta (WhatsApp Cloud API, Instagram Direct, Messenger). Webhooks need the verify token and
    # app secret; senders are enabled when the access token is set (WhatsApp also needs the number id).
    meta_verify_token: str | None = None
    meta_app_secret: str | None = None
    meta_access_token: str | None = None
    meta_graph_api_base: str = "https://graph.facebook.com"
    whatsapp_phone_number_id: str | None = None
    # Approved WhatsApp templates offered to attendants outside the 24-hour window (JSON list).
    whatsapp_templates: list[WhatsAppTemplate] = Field(default_factory=_demo_whatsapp_templates)

    # E-mail (docs/architecture.md, "Channels"). The IMAP poller runs with the workers when
    # EMAIL_IMAP_HOST is set; replies go out over SMTP when EMAIL_SMTP_HOST and EMAIL_FROM are set.
    email_imap_host: str | None = None
    email_imap_port: int = 993
    email_imap_user: str | None = None
    email_imap_password: str | None = None
    email_imap_ssl: bool = True  # implicit TLS (993); false only for a local test server
    email_imap_folder: str = "INBOX"
    email_smtp_host: str | None = None
    email_smtp_port: int = 587
    email_smtp_user: str | None = None
    email_smtp_password: str | None = None
    email_smtp_starttls: bool = True  # STARTTLS on the submission port (587)
    email_smtp_ssl: bool = False  # implicit TLS instead (port 465)
    email_from: str | None = None  # e.g. "Clínica Exemplo <atendimento@clinica.example>"
    email_poll_seconds: float = 60.0  # re-sweep interval (IDLE still delivers new mail at once)
    email_tls_ca_file: str | None = None  # extra CA bundle for a mail server with a private CA
    attachments_dir: str | None = None  # received attachments; default <repo>/var/attachments
    # Provider media are downloaded only from these hosts over HTTPS (comma-separated; `*.` = any
    # subdomain), every redirect re-checked, plus the configured API base's own origin (a local
    # stand-in in tests). Larger files than MEDIA_MAX_BYTES are refused while streaming.
    twilio_media_hosts: str = "api.twilio.com,*.twiliocdn.com"
    meta_media_hosts: str = "graph.facebook.com,lookaside.fbsbx.com,*.fbcdn.net,*.cdninstagram.com"
    media_max_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)

    # Pipeline tuning. Why these defaults: a bot turn normally takes < 1 s; Rasa restarts take
    # ~20 s, so the grace period must comfortably exceed a restart before patients are handed off.
    bot_timeout_seconds: float = 30.0
    bot_grace_seconds: float = 90.0
    # While the bot is unreachable: after this many seconds the patient gets one holding reply.
    bot_holding_seconds: float = Field(default=20.0, ge=0)
    # Bot review inbox (issue 11): a patient message read under this confidence is shown to staff.
    bot_review_confidence: float = Field(default=0.6, ge=0.0, le=1.0)
    # Training runs (issue 11): the bot environment's python runs `teaching.worker` (a separate
    # process) from `bot_root` (the repo holding bot/ and models/); relative paths are from it.
    bot_python: str = ".venv-bot/bin/python"
    bot_root: str | None = None  # default: this repo
    bot_models_dir: str | None = None  # where candidates are written; default <bot_root>/var/bot-models
    bot_deploy_timeout_seconds: float = Field(default=120.0, gt=0)  # Rasa's PUT /model (loads the model)
    lease_seconds: float = 30.0
    bot_workers: int = 8
    outbox_workers: int = 4
    outbox_max_attempts: int = 8
    retry_base_seconds: float = 1.0
    retry_max_seconds: float = 60.0
    poll_interval_seconds: float = 1.0

    # Website chat limits (protocol in docs/architecture.md).
    webchat_max_text: int = 2000
    webchat_max_frame_bytes: int = 8192
    webchat_rate_count: int = 20
    webchat_rate_window_seconds: float = 10.0

    token_ttl_hours: int = 12
    # Login rate limiting and lockout (issue 13): failed logins per e-mail (known or not) and per
    # client address within the window; a key at its limit is locked (answer 429 + Retry-After).
    login_max_failures_per_email: int = Field(default=5, ge=1)
    login_max_failures_per_ip: int = Field(default=20, ge=1)
    login_window_seconds: float = Field(default=900.0, gt=0)
    login_lock_seconds: float = Field(default=900.0, gt=0)
    # Reverse proxies in front of the hub that append to X-Forwarded-For (Sanic PROXIES_COUNT). 0:
    # the client address is the socket peer and X-Forwarded-For is ignored (it is forgeable).
    trusted_proxy_count: int = Field(default=0, ge=0)
    # Largest HTTP request body the hub accepts (any route); larger requests get 413.
    max_request_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    # Largest provider webhook body (Twilio forms, Meta batches: a few KB in practice; media come
    # by URL); larger ones get 413 before the signature is checked.
    webhook_max_bytes: int = Field(default=1024 * 1024, ge=1024)

    # Clinic API (/api/clinic): service token shared with the action server; unset = staff tokens only.
    clinic_api_token: str | None = None
    # Seed the demo clinic ("Clínica Exemplo") at start when no clinic data exists yet.
    seed_demo_clinic: bool = True
    # Password of the seeded demo staff (3 attendants + 1 manager); unset = generated and printed once.
    demo_staff_password: str | None = None

    # Handoff: assignment, requeue, presence, SLA (docs/routing.md, docs/metrics.md).
    assignment_interval_seconds: float = 10.0  # periodic assignment + requeue tick (also run on events)
    sla_monitor_interval_seconds: float = 5.0
    # The dashboard's cells (migration 0017) get a row per change; this often they are folded into
    # one row per cell (PostgreSQL), so a month's view reads a few thousand rows.
    metrics_compact_interval_seconds: float = Field(default=30.0, gt=0)
    requeue_no_answer_seconds: float = 300.0  # no agent reply this long after an assignment -> requeue
    requeue_offline_grace_seconds: float = 60.0  # agent offline this long -> their conversations requeue
    presence_grace_seconds: float = 10.0  # last staff socket closed -> offline after this (page reloads)
    sticky_agent_hours: float = 24.0  # a returning patient goes back to their last agent within this
    queue_strategies: str | None = None  # e.g. "reception=least_busy,billing=round_robin,exams=manual"
    sla_policies: str | None = None  # JSON overrides, e.g. {"normal": {"first_response": 600, ...}}

    # Data-subject requests (LGPD Art. 18/19, handoff/services/privacy_requests.py): managers are
    # alerted once when fewer than PRIVACY_ESCALATE_DAYS of the 15 days remain (or overdue).
    privacy_escalate_days: float = Field(default=3.0, ge=0)
    privacy_monitor_interval_seconds: float = Field(default=300.0, gt=0)
    # Days the export download link sent to the patient with the answer stays valid (capability URL).
    privacy_export_link_days: float = Field(default=7.0, gt=0)
    # Retention (handoff/services/retention.py): the daily disposal job runs once per clinic-local
    # date, from this hour on (0-23, America/Sao_Paulo); `python -m handoff.retention_cli run-now`
    # runs it at once. The encarregado (DPO) contact shown on the privacy notice /privacidade/aviso.
    retention_run_hour: int = Field(default=3, ge=0, le=23)
    privacy_officer_email: str | None = None
    # Rasa's SQL tracker store (SQLAlchemy URL), where an erasure deletes the bot's dialogue state;
    # default: the SQLite file `make run` gives Rasa (var/rasa-tracker.db). Empty = no tracker store.
    rasa_tracker_store_url: str | None = Field(
        default_factory=lambda: f"sqlite:///{REPO_ROOT / 'var' / 'rasa-tracker.db'}")

    # The clinic's own agenda (issue 14): "builtin" (the hub's tables, `make run`'s default),
    # "caldav" (one calendar per doctor, doctors.agenda_ref = calendar URL) or "fhir" (FHIR R4
    # Schedule/Slot/Appointment, doctors.agenda_ref = Schedule id). A doctor without agenda_ref
    # stays on the built-in agenda.
    agenda_backend: Literal["builtin", "caldav", "fhir"] = "builtin"
    caldav_url: str | None = None
    caldav_username: str | None = None
    caldav_password: str | None = None
    # FHIR R4 server of the clinic's record: the agenda (AGENDA_BACKEND=fhir) and the interaction
    # register (INTERACTIONS_TO_FHIR) use it. FHIR_TOKEN is sent as a Bearer token when set.
    fhir_base_url: str | None = None
    fhir_token: str | None = None
    agenda_timeout_seconds: float = Field(default=5.0, gt=0)
    # How often changes made by the reception in the external agenda are read into the hub.
    agenda_sync_interval_seconds: float = Field(default=60.0, gt=0)

    # Interaction register (issue 14, handoff/services/interactions.py): every ended conversation
    # (resolved by staff, or kept by the bot and idle) is summarised — ids, labels, times, never
    # message text — and sent, with the patient's consent only, to the targets configured here: a
    # signed webhook (CRM_WEBHOOK_URL + CRM_WEBHOOK_SECRET, HMAC-SHA256, docs/CONTRACTS.md) and/or
    # a FHIR Communication (INTERACTIONS_TO_FHIR=true + FHIR_BASE_URL). Retries back off
    # exponentially with jitter up to INTERACTION_RETRY_MAX_SECONDS; after
    # INTERACTION_MAX_ATTEMPTS a delivery is dead (staff replay it on /integracoes).
    crm_webhook_url: str | None = None
    crm_webhook_secret: str | None = None
    interactions_to_fhir: bool = False
    interaction_max_attempts: int = Field(default=10, ge=1)
    interaction_retry_base_seconds: float = Field(default=5.0, gt=0)
    interaction_retry_max_seconds: float = Field(default=3600.0, gt=0)
    interaction_timeout_seconds: float = Field(default=10.0, gt=0)
    # A conversation the bot kept ends after this long without a patient message (a contact in
    # docs/metrics.md); only endings within INTERACTION_LOOKBACK_HOURS are picked up (no backfill).
    interaction_bot_idle_minutes: float = Field(default=30.0, gt=0)
    interaction_lookback_hours: float = Field(default=48.0, gt=0)
    interaction_poll_seconds: float = Field(default=5.0, gt=0)

    # Appointment reminders (issue 15, handoff/services/reminders.py): the worker plans the
    # reminders of appointments in the next REMINDER_HORIZON_HOURS and sends the due ones every
    # REMINDER_INTERVAL_SECONDS (one sender per reminder across replicas, by a database lease).
    # WhatsApp outside the 24-hour window uses the template REMINDER_TEMPLATE_ID of
    # WHATSAPP_TEMPLATES. REMINDER_PREPARATION_NOTES: JSON {specialty slug: pt-BR text}.
    # Waitlist (issue 15): how long a freed slot is held for the patient it was offered to, and how
    # often ended holds are closed and passed to the next patient.
    waitlist_hold_minutes: int = Field(default=30, ge=1, le=24 * 60)
    waitlist_sweep_interval_seconds: float = Field(default=30.0, gt=0)
    reminders_enabled: bool = True
    reminder_interval_seconds: float = Field(default=30.0, gt=0)
    reminder_horizon_hours: float = Field(default=72.0, gt=0)
    reminder_lease_seconds: float = Field(default=60.0, gt=0)
    reminder_reply_days: float = Field(default=7.0, gt=0)  # how long replies are derived after a send
    reminder_template_id: str = "lembrete_consulta_botoes"
    reminder_preparation_notes: dict[str, str] = Field(default_factory=dict)

    @property
    def twilio_media_host_list(self) -> list[str]:
        """TWILIO_MEDIA_HOSTS as a list."""
        return [h.strip() for h in self.twilio_media_hosts.split(",") if h.strip()]

    @property
    def meta_media_host_list(self) -> list[str]:
        """META_MEDIA_HOSTS as a list."""
        return [h.strip() for h in self.meta_media_hosts.split(",") if h.strip()]

    @property
    def rasa_url_list(self) -> list[str]:
        """The Rasa replicas the hub spreads turns over."""
        urls = [u.strip() for u in (self.rasa_urls or "").split(",") if u.strip()]
        return urls or [self.rasa_url]

    @property
    def actions_health_urls(self) -> list[str]:
        """`GET /health` of every action server (ACTIONS_URLS, else ACTIONS_URL / ACTIONS_PORT)."""
        urls = [u.strip() for u in (self.actions_urls or "").split(",") if u.strip()]
        return [u.rstrip("/") + "/health" for u in urls] or [self.actions_health_url]

    @property
    def actions_health_url(self) -> str:
        """Where the action server answers `GET /health`."""
        base = self.actions_url or f"http://127.0.0.1:{self.actions_port}"
        return base.rstrip("/") + "/health"

    @property
    def is_sqlite(self) -> bool:
        """True when the embedded SQLite database is in use (single hub process only)."""
        return self.database_url.startswith("sqlite")
