"""`create_app`: the one place the hub is wired together."""

from __future__ import annotations

import gc
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sanic import Request, Sanic
from sanic.response import HTTPResponse, json

from handoff.adapters.agenda_factory import build_external_agenda
from handoff.adapters.bot_answers import load_simple_answers
from handoff.adapters.reasons import load_reason_map
from handoff.adapters.sql.agenda_store import SqlAgendaMirror
from handoff.adapters.sql.clinic_store import SqlClinicDirectory
from handoff.adapters.sql.waitlist_store import SqlSlotHolds
from handoff.api import agenda as agenda_api
from handoff.api import attachments, auth, channels, health, patients, triage, voice, webchat
from handoff.api import audit as audit_api
from handoff.api import bot_models as bot_models_api
from handoff.api import bot_teaching as bot_teaching_api
from handoff.api import clinic as clinic_api
from handoff.api import errors as errors_api
from handoff.api import inbox as inbox_api
from handoff.api import incidents as incidents_api
from handoff.api import integrations as integrations_api
from handoff.api import metrics as metrics_api
from handoff.api import privacy as privacy_api
from handoff.api import reminders as reminders_api
from handoff.api import retention as retention_api
from handoff.api import waitlist as waitlist_api
from handoff.runtime import HubRuntime
from handoff.services.agenda_sync import AgendaSync, AgendaSyncWorker
from handoff.services.clinic import ClinicService
from handoff.services.staff import ensure_admin
from handoff.services.waitlist import WaitlistService, WaitlistSweeper
from handoff.settings import REPO_ROOT, Settings
from handoff.web import dashboard as dashboard_page
from handoff.web import integrations as integrations_page
from handoff.web import pages, privacy_records, security_headers
from handoff.web import privacy as privacy_page
from handoff.web import reminders as reminders_page

log = logging.getLogger("atende")

# Libraries that log SQL parameters, request URLs or frames at DEBUG/INFO (patient texts, phones,
# tokens): capped at WARNING whatever the root level, so no log line carries personal data.
QUIET_LOGGERS = ("aiosqlite", "sqlalchemy.engine", "sqlalchemy.pool", "asyncpg", "httpx", "httpcore",
                 "websockets", "hpack", "multipart", "aioimaplib", "mail.log", "redis")


def quiet_chatty_loggers() -> None:
    """Cap the loggers in QUIET_LOGGERS at WARNING (idempotent)."""
    for name in QUIET_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)


def freeze_startup_heap() -> None:
    """Put every object alive after startup (modules, the ORM's mappers and statement caches,
    Sanic's router) out of the garbage collector's reach; call once, when startup is done.

    Why: those objects live as long as the process, yet each full (generation 2) collection
    walked all of them. Measured (issue 16, the 30-day dashboard in one process): a full
    collection every ~20 dashboard calls took 84 ms, so the p95 of the call was the collector's
    pause, not the database's; after `gc.freeze()`, 4-7 ms. Objects created later are still
    collected as usual."""
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None, *, name: str | None = None) -> Sanic[Any, Any]:
    """Build the hub application. Connections open in the start-up listener, not here."""
    settings = settings or Settings()
    quiet_chatty_loggers()
    app = Sanic(name or f"atende_{uuid.uuid4().hex[:8]}")
    # Start-up steps run once the runtime is open and the admin exists (the demo clinic's seeding).
    runtime_steps: list[Callable[[HubRuntime], Awaitable[None]]] = []
    app.ctx.runtime_steps = runtime_steps
    if settings.channel_sandbox or settings.seed_demo_clinic:
        # Development-only code (the patient simulator, stand-in providers, demo clinic), loaded only
        # when enabled; installed before the start/stop listeners below (their order depends on it).
        from handoff import sandbox

        settings = sandbox.install(app, settings)
    app.config.WEBSOCKET_MAX_SIZE = 64 * 1024  # larger frames get a clear error, not a drop
    app.config.REQUEST_MAX_SIZE = settings.max_request_bytes  # larger bodies: 413 before any handler
    if settings.trusted_proxy_count:  # X-Forwarded-For trusted only behind proxies (else SANIC_PROXIES_COUNT)
        app.config.PROXIES_COUNT = settings.trusted_proxy_count
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.ctx.settings = settings
    app.ctx.reason_map = load_reason_map(REPO_ROOT / "bot" / "reasons.yml")  # + deployed staff intents
    app.ctx.base_reason_map = dict(app.ctx.reason_map)  # bot/reasons.yml only (name clashes, labels)
    app.ctx.simple_answers = load_simple_answers(REPO_ROOT / "bot" / "domain")  # staff may reword these
    for bp in (health.bp, auth.bp, triage.bp, webchat.bp, pages.bp, channels.bp):
        app.blueprint(bp)
    app.blueprint(clinic_api.bp)
    app.blueprint(agenda_api.bp)  # /api/agenda: doctors' calendars in the clinic's CalDAV/FHIR agenda
    app.blueprint(voice.bp)  # phone: Twilio Voice menu, call back requests, attendant call back
    app.blueprint(patients.bp)
    app.blueprint(inbox_api.bp)
    app.blueprint(attachments.bp)  # staff open/download the files patients send
    app.blueprint(metrics_api.bp)  # manager dashboard data + /dashboard page
    app.blueprint(dashboard_page.bp)
    app.blueprint(bot_teaching_api.bp)  # staff teach the bot: review, intents, answers, layer export
    app.blueprint(bot_models_api.bp)  # training runs, model registry, deploy, rollback
    app.blueprint(audit_api.bp)  # the audit viewer's data and CSV export (admins, privacy officer)
    app.blueprint(privacy_api.bp)  # data-subject requests (LGPD Art. 18/19): staff side
    app.blueprint(privacy_api.bot_bp)  # POST /api/clinic/privacy-requests (the bot, service token)
    app.blueprint(privacy_page.bp)  # /privacidade
    app.blueprint(retention_api.bp)  # retention periods and disposal runs (admins, privacy officer)
    app.blueprint(incidents_api.bp)  # the incident register (LGPD Art. 48)
    app.blueprint(privacy_records.bp)  # /privacidade/aviso (public), /privacidade/retencao, /privacidade/incidentes
    app.blueprint(integrations_api.bp)  # the interaction records' delivery log and replay (issue 14)
    app.blueprint(integrations_page.bp)  # /integracoes
    app.blueprint(waitlist_api.bot_bp)  # /api/clinic/waitlist: join, leave, accept/decline offers (issue 15)
    app.blueprint(waitlist_api.staff_bp)  # /api/waitlist: the list and its counts (staff)
    app.blueprint(reminders_api.staff_bp)  # /api/reminders: history and stats (issue 15)
    app.blueprint(reminders_api.public_bp)  # /lembrete/<token>/confirmar: e-mail reminder confirm link
    app.blueprint(reminders_page.bp)  # /lembretes: reminder schedules and texts (managers, admins)
    security_headers.install(app)  # CSP, nosniff, Referrer-Policy, framing on every HTML response

    @app.before_server_start
    async def start(app: Sanic[Any, Any]) -> None:
        runtime = await HubRuntime.open(app.ctx.settings)
        app.ctx.runtime = runtime
        app.ctx.db, app.ctx.bus, app.ctx.uow, app.ctx.gateway = runtime.db, runtime.bus, runtime.uow, runtime.gateway
        generated = await ensure_admin(runtime.uow, settings.clinic_admin_email, settings.clinic_admin_password)
        if generated:
            # Printed once, on the console of whoever started the hub; never logged to files.
            print(f"\n  Conta de administrador criada: {settings.clinic_admin_email} / senha: {generated}\n",
                  flush=True)
        for step in runtime_steps:
            await step(runtime)
        agenda = build_external_agenda(settings)  # the clinic's CalDAV/FHIR agenda (None: built-in)
        mirror = SqlAgendaMirror(runtime.db) if agenda is not None else None

        async def slot_freed(doctor_id: int, start: datetime, end: datetime) -> None:
            await app.ctx.waitlist.slot_freed(doctor_id, start, end)

        clinic = ClinicService(SqlClinicDirectory(runtime.db), agenda=agenda, mirror=mirror,  # the agenda/EHR seam
                               on_slot_freed=slot_freed, slot_holds=SqlSlotHolds(runtime.db))
        app.ctx.clinic = clinic
        # Freed slots go to the waitlist with a hold (issue 15); `sweep` closes ended holds.
        app.ctx.waitlist = WaitlistService(
            runtime.uow, clinic, hold_minutes=settings.waitlist_hold_minutes,
            templates=[t.model_dump() for t in settings.whatsapp_templates])
        app.ctx.waitlist_sweeper = WaitlistSweeper(app.ctx.waitlist, settings.waitlist_sweep_interval_seconds)
        app.ctx.waitlist_sweeper.start()
        app.ctx.agenda_sync = None
        if agenda is not None and mirror is not None:
            app.ctx.agenda_sync = AgendaSyncWorker(AgendaSync(agenda, mirror), clinic.agenda_doctors,
                                                   clinic.agenda_doctor, settings.agenda_sync_interval_seconds)
            app.ctx.agenda_sync.start()
        await runtime.start_workers()
        privacy_api.build(app)  # data-subject requests: service, export, erasure
        await bot_models_api.build(app).recover()  # a run cut by a restart is failed; queued runs start
        if not app.asgi:  # under an ASGI host (tests, an ASGI server) the process is the host's
            freeze_startup_heap()

    @app.before_server_stop
    async def stop(app: Sanic[Any, Any]) -> None:
        if getattr(app.ctx, "bot_models", None) is not None:
            await app.ctx.bot_models.close()  # stops a running training worker
        if getattr(app.ctx, "waitlist_sweeper", None) is not None:
            await app.ctx.waitlist_sweeper.stop()
        if getattr(app.ctx, "agenda_sync", None) is not None:
            await app.ctx.agenda_sync.stop()
            await app.ctx.clinic.agenda.aclose()
        await app.ctx.runtime.close()  # then the sandbox's stand-in mail server stops (its listener came first)

    errors_api.install(app)  # a use case's refusal (DomainError) -> its status and pt-BR JSON body

    @app.exception(Exception)
    async def on_error(request: Request, exc: Exception) -> HTTPResponse:
        status = getattr(exc, "status_code", 500)
        if status >= 500:
            log.exception("unhandled error on %s", request.path)  # path only: no query, no body
        message = str(exc) if status < 500 else "internal error"
        return json({"error": {"code": type(exc).__name__, "message": message}}, status=status)

    return app
