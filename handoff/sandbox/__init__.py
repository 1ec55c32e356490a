"""Development-only code: the patient simulator, the stand-in providers and the demo clinic.

Nothing here runs in production unless asked for: `handoff.app.create_app` calls `install` only
when `CHANNEL_SANDBOX` or `SEED_DEMO_CLINIC` is on, and no production module (domain, services,
adapters, api) imports this package (an import-linter contract in pyproject.toml).

- The patient simulator (`CHANNEL_SANDBOX=true`, the `make run` default; `api`): a person chats
  as a WhatsApp (Twilio or Cloud API), Instagram, Messenger or SMS user, or calls the phone menu,
  through the SAME webhooks as production: the simulator builds the request each provider
  documents, signs it with the configured secrets and posts it to our own webhook route over HTTP.
- The stand-in providers (`providers`, `timeline`): replies leave through the real senders to a
  provider API; when a provider's credentials are unset, that API is the hub's own stand-in
  (`/sandbox/providers/twilio`, `/sandbox/providers/meta`), which answers like Twilio's
  `Messages.json`/`Calls.json` and the Graph API's `/messages`, keeps what it received for the
  page and reports delivery back through the status webhooks, as the provider would.
- The stand-in mail provider (`mail_stand_in`): e-mail has no webhook; with no mail server
  configured, a real SMTP submission server in the hub's event loop takes the hub's replies, and
  a simulated patient's mail goes through the same parse + persist path as every fetched mail.
- The demo clinic (`SEED_DEMO_CLINIC`, `demo_clinic`): "Clínica Exemplo" seeded into an empty
  database, plus the demo staff accounts.

State lives in the hub process (bounded): the simulator is a single-process demo tool. The
stand-in credentials are random per process (nobody outside it can sign a webhook with them). It
must be off in production (then every /sandbox route answers 404).
"""

from __future__ import annotations

from typing import Any

from sanic import Sanic

from handoff.runtime import HubRuntime
from handoff.sandbox import api
from handoff.sandbox.demo_clinic import seed_demo_clinic
from handoff.sandbox.mail_stand_in import start_mail_stand_in, stop_mail_stand_in
from handoff.sandbox.providers import with_sandbox_providers
from handoff.services.staff import ensure_demo_staff
from handoff.settings import Settings

__all__ = ["install"]


def install(app: Sanic[Any, Any], settings: Settings) -> Settings:
    """Wire the sandbox and the demo clinic into `app`, as `settings` enable them; returns the
    settings the hub runs with (stand-in provider credentials filled in).

    Call it before the hub registers its own start and stop listeners: Sanic runs start listeners
    in registration order and stop listeners in reverse, so the stand-in mail server listens
    before the runtime builds the e-mail sender, and stops after the outbox stopped sending. The
    demo clinic is seeded by a step of `app.ctx.runtime_steps`, which the hub runs once the
    runtime is open and the admin account exists, before its services and workers start.
    """
    if settings.channel_sandbox:
        # Providers without credentials answer from the hub itself (/sandbox/providers/*).
        settings = with_sandbox_providers(settings)
        app.blueprint(api.bp)  # the patient simulator; not registered = every /sandbox route is 404

        @app.before_server_start
        async def start_mail(app: Sanic[Any, Any]) -> None:
            app.ctx.settings = await start_mail_stand_in(app)

        @app.before_server_stop
        async def stop_mail(app: Sanic[Any, Any]) -> None:
            await stop_mail_stand_in(app)

    if settings.seed_demo_clinic:
        demo_staff_password = settings.demo_staff_password

        async def seed_demo(runtime: HubRuntime) -> None:
            await seed_demo_clinic(runtime.db)
            created, staff_password = await ensure_demo_staff(runtime.uow, demo_staff_password)
            if staff_password:  # printed once, like the admin's; never logged to files
                print(f"\n  Equipe de demonstração criada ({', '.join(created)}) / senha: {staff_password}\n",
                      flush=True)

        app.ctx.runtime_steps.append(seed_demo)
    return settings
