"""The hub's long-lived parts (database, bus, bot gateway, workers) and their start/stop.

`create_app` attaches one of these to the Sanic app; tests and benchmarks drive it directly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from connectors.base import ChannelSender
from connectors.messenger import MessengerSender
from connectors.twilio import TwilioSender
from connectors.whatsapp_cloud import WhatsAppCloudSender
from handoff.adapters.attachments import AttachmentStore
from handoff.adapters.bus import Bus, make_bus
from handoff.adapters.presence import ConnectionCounter, make_connections
from handoff.adapters.rasa import RasaGateway
from handoff.adapters.reasons import load_reason_map
from handoff.adapters.red_flags import red_flag_rules
from handoff.adapters.senders import WebchatSender
from handoff.adapters.sql.database import Database
from handoff.adapters.tracker_store import TrackerStore
from handoff.services.assignment import Assigner
from handoff.services.bot_pipeline import BotPipeline, BotWork
from handoff.services.email_channel import EmailPoller, attachments_root, email_sender
from handoff.services.handoff_config import HandoffConfig, load_handoff_config
from handoff.services.inbox import Inbox
from handoff.services.interactions import InteractionRegister
from handoff.services.metrics_compactor import MetricsCompactor
from handoff.services.outbox import Outbox, OutboxWork
from handoff.services.presence import PresenceService
from handoff.services.privacy_clock import PrivacyMonitor
from handoff.services.reminders import ReminderService, ReminderWorker
from handoff.services.retention import DisposalJob, RetentionScheduler
from handoff.services.sla_monitor import SlaMonitor
from handoff.services.unit_of_work import UnitOfWork
from handoff.services.workers import LeaseWorkerPool
from handoff.settings import REPO_ROOT, Settings


@dataclass
class HubRuntime:
    """Everything the hub runs besides HTTP."""

    settings: Settings
    db: Database
    bus: Bus
    uow: UnitOfWork
    gateway: RasaGateway
    reason_map: dict[str, str]
    senders: dict[str, ChannelSender] = field(default_factory=dict)
    bot_workers: LeaseWorkerPool[BotWork] | None = None
    outbox_workers: LeaseWorkerPool[OutboxWork] | None = None
    # Human side (issue 4): presence, routing/SLA configuration, inbox, assignment and SLA loops.
    connections: ConnectionCounter | None = None
    presence: PresenceService | None = None
    handoff_config: HandoffConfig | None = None
    inbox: Inbox | None = None
    assigner: Assigner | None = None
    sla_monitor: SlaMonitor | None = None
    privacy_monitor: PrivacyMonitor | None = None  # the 15-day clock of data-subject requests
    email_poller: EmailPoller | None = None  # e-mail channel: runs with the workers when configured
    retention_scheduler: RetentionScheduler | None = None  # the daily disposal job (services/retention.py)
    interactions: InteractionRegister | None = None  # interaction records to the clinic's CRM/FHIR (issue 14)
    reminders: ReminderWorker | None = None  # appointment reminders (issue 15)
    metrics_compactor: MetricsCompactor | None = None  # folds the dashboard's cells (migration 0017)
    _disposal: DisposalJob | None = None

    @classmethod
    async def open(cls, settings: Settings, *, extra_senders: dict[str, ChannelSender] | None = None) -> HubRuntime:
        """Connect to the database and bus (workers not started yet)."""
        db = Database(settings.database_url)
        db.connect()
        bus = make_bus(settings.redis_url)
        await bus.start()
        runtime = cls(
            settings=settings,
            db=db,
            bus=bus,
            uow=UnitOfWork(db, bus),
            gateway=RasaGateway(settings.rasa_url_list, settings.bot_timeout_seconds,
                                settings.bot_health_interval_seconds),
            reason_map=load_reason_map(REPO_ROOT / "bot" / "reasons.yml"),
        )
        runtime.senders = {"webchat": WebchatSender(bus), **_provider_senders(settings), **(extra_senders or {})}
        email = email_sender(settings, runtime.uow)
        if email is not None and "email" not in runtime.senders:
            runtime.senders["email"] = email
        # Redis keys are namespaced per database, so deployments sharing one Redis stay apart.
        namespace = hashlib.sha256(settings.database_url.encode()).hexdigest()[:12]
        runtime.connections = make_connections(settings.redis_url, namespace)
        runtime.presence = PresenceService(runtime.uow, runtime.connections, grace=settings.presence_grace_seconds)
        return runtime

    async def load_handoff(self) -> HandoffConfig:
        """Routing/SLA configuration (clinic hours from the database) and the inbox; idempotent."""
        if self.handoff_config is None:
            self.handoff_config = await load_handoff_config(self.db, self.settings)
            self.inbox = Inbox(self.uow, self.handoff_config, self.reason_map)
        return self.handoff_config

    def disposal_job(self) -> DisposalJob:
        """This process's disposal job (the daily scheduler and "run now" share it)."""
        if self._disposal is None:
            self._disposal = DisposalJob(self.uow, AttachmentStore(attachments_root(self.settings)),
                                         tracker=TrackerStore(self.settings.rasa_tracker_store_url or None))
        return self._disposal

    async def start_workers(self) -> None:
        """Start the bot pipeline and outbox worker pools."""
        s = self.settings
        config = await self.load_handoff()
        pipeline = BotPipeline(self.uow, self.gateway, s, self.reason_map, config,
                               red_flags=red_flag_rules(REPO_ROOT / "bot"))
        outbox = Outbox(self.uow, self.senders, s)
        self.bot_workers = LeaseWorkerPool(
            "bot", pipeline.claim, pipeline.drain, bus=self.bus, wake_kind="inbound",
            concurrency=s.bot_workers, poll_interval=s.poll_interval_seconds,
        )
        self.outbox_workers = LeaseWorkerPool(
            "outbox", outbox.claim, outbox.drain, bus=self.bus, wake_kind="outbox",
            concurrency=s.outbox_workers, poll_interval=s.poll_interval_seconds,
        )
        await self.gateway.start()  # replica health checks and the deployed model kept in place
        await self.bot_workers.start()
        await self.outbox_workers.start()
        presence = self.presence
        self.assigner = Assigner(self.uow, config, interval=s.assignment_interval_seconds,
                                 before_run=presence.sweep if presence is not None else None)
        self.sla_monitor = SlaMonitor(self.uow, config, s.sla_monitor_interval_seconds)
        await self.assigner.start(self.bus)
        await self.sla_monitor.start()
        self.metrics_compactor = MetricsCompactor(self.db, s.metrics_compact_interval_seconds)
        await self.metrics_compactor.start()
        self.privacy_monitor = PrivacyMonitor(self.uow, s.privacy_monitor_interval_seconds,
                                              s.privacy_escalate_days)
        await self.privacy_monitor.start()
        self.retention_scheduler = RetentionScheduler(self.disposal_job(), s.retention_run_hour)
        await self.retention_scheduler.start()
        if s.email_imap_host and s.email_imap_user:
            self.email_poller = EmailPoller(self.uow, s)
            await self.email_poller.start()
        self.interactions = InteractionRegister(self.uow, s, bus=self.bus)
        if self.interactions.targets:  # nothing configured: nothing is swept nor sent
            await self.interactions.start()
        if s.reminders_enabled:
            self.reminders = ReminderWorker(ReminderService(self.uow, s), s.reminder_interval_seconds)
            await self.reminders.start()

    async def close(self) -> None:
        """Stop workers, then close connections."""
        if self.email_poller is not None:
            await self.email_poller.stop()
        for loop in (self.assigner, self.sla_monitor, self.metrics_compactor, self.privacy_monitor,
                     self.retention_scheduler, self.interactions, self.reminders):
            if loop is not None:
                await loop.stop()
        if self.presence is not None:
            await self.presence.close()
        for pool in (self.bot_workers, self.outbox_workers):
            if pool is not None:
                await pool.stop()
        for sender in self.senders.values():
            close = getattr(sender, "close", None)
            if close is not None:
                await close()
        await self.gateway.close()
        if self.connections is not None:
            await self.connections.close()
        await self.bus.close()
        await self.db.close()


def _provider_senders(settings: Settings) -> dict[str, ChannelSender]:
    """Senders for the provider channels that are configured."""
    senders: dict[str, ChannelSender] = {}
    if settings.twilio_account_sid and settings.twilio_auth_token:
        sid, token, base = settings.twilio_account_sid, settings.twilio_auth_token, settings.twilio_api_base
        status_url = settings.public_base_url.rstrip("/") + "/channels/twilio/status"  # delivery reports
        if settings.twilio_whatsapp_from:
            senders["whatsapp"] = TwilioSender(api_base=base, account_sid=sid, auth_token=token,
                                               from_address=settings.twilio_whatsapp_from, address_prefix="whatsapp:",
                                               status_callback=status_url)
        if settings.twilio_sms_from:
            senders["sms"] = TwilioSender(api_base=base, account_sid=sid, auth_token=token,
                                          from_address=settings.twilio_sms_from, status_callback=status_url)
    if settings.meta_access_token:  # channel names: docs/architecture.md, "Channels"
        graph, meta_token = settings.meta_graph_api_base, settings.meta_access_token
        if settings.whatsapp_phone_number_id:
            senders["whatsapp_meta"] = WhatsAppCloudSender(api_base=graph, access_token=meta_token,
                                                           phone_number_id=settings.whatsapp_phone_number_id)
        senders["instagram"] = MessengerSender(api_base=graph, access_token=meta_token, channel="instagram")
        senders["messenger"] = MessengerSender(api_base=graph, access_token=meta_token, channel="messenger")
    return senders
