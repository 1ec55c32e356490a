"""Training runs, the model registry, deploy and rollback (issue 11, items 4-6, hub side).

A training run is a row of `bot_models` (migration 0009). The hub exports the staff layer to a
file and starts the bot environment's worker as a separate process
(`<BOT_PYTHON> -m teaching.worker --layer F --out DIR [--current-model M]`, `asyncio.create_subprocess_exec`;
Rasa is never imported in the hub). The worker's JSON progress lines (`{"stage", "pct"}`) go into the
row and out as `bot_model_progress` staff events; its `DIR/report.json` gives the status (ready|failed),
the model file, the evaluation and the gate. One run at a time per hub: a second request is queued and
starts when the first ends (a queued run can be cancelled).

A model built from a staff layer knows intents the hub's `bot/reasons.yml` does not (`staff_*`). The
run's reason map (`DIR/reasons.yml`) is stored on the row. `refresh_deployed` reads the deployed row at
start, after a deploy or rollback, and every `REASONS_REFRESH_SECONDS` (so every hub replica follows a
deploy made by another): the live reason maps gain its staff intents, so a taught intent carries its
reason into the conversation, the inbox, routing and the dashboard; and the gateway learns the model it
must put back on a Rasa replica that restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.adapters.rasa import BotUnavailable, RasaGateway
from handoff.adapters.reasons import load_reason_map
from handoff.adapters.sql.database import utcnow
from handoff.adapters.sql.models import AuditLog, BotModel, StaffUser
from handoff.adapters.tasks import cancel_and_wait
from handoff.domain.errors import Conflict, Forbidden, NotFound, UpstreamFailed
from handoff.services.bot_teaching import BotTeaching
from handoff.services.staff import StaffIdentity
from handoff.services.unit_of_work import STAFF_TOPIC, UnitOfWork

log = logging.getLogger(__name__)

ACTIVE = ("queued", "training", "evaluating")
STAGE_STATUS = {"validating": "training", "merging": "training", "training": "training", "evaluating": "evaluating"}
MAX_QUEUED = 3
REASONS_REFRESH_SECONDS = 10.0
BOT_ENV = {"RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3",
           "SQLALCHEMY_SILENCE_UBER_WARNING": "1", "PYTHONWARNINGS": "ignore"}


@dataclass(frozen=True)
class TrainingConfig:
    """Where and how the worker runs."""

    python: Path  # the bot environment's interpreter
    root: Path  # holds bot/ and models/ (the worker's cwd)
    out_dir: Path  # one sub folder per run
    deploy_timeout: float = 120.0

    @classmethod
    def from_settings(cls, python: str, root: str | None, out_dir: str | None, repo: Path,
                      deploy_timeout: float) -> TrainingConfig:
        base = Path(root).resolve() if root else repo
        py = Path(python)
        py = py if py.is_absolute() else base / py  # not resolved: a venv's python is a symlink
        out = Path(out_dir) if out_dir else base / "var" / "bot-models"
        return cls(py, base, out if out.is_absolute() else base / out, deploy_timeout)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def model_view(row: BotModel) -> dict[str, Any]:
    """The API view of a registry row."""
    return {"id": row.id, "status": row.status, "layer_version": row.layer_version,
            "progress": {"pct": row.progress_pct, "stage": row.progress_stage},
            "evaluation": row.evaluation or {}, "gate": row.gate or {"passed": False, "reasons": []},
            "gate_override": row.gate_override, "model": row.model_path, "error": row.error,
            "timings": row.timings or {}, "requested_by": row.requested_by, "created_at": _iso(row.created_at),
            "started_at": _iso(row.started_at), "finished_at": _iso(row.finished_at),
            "deployed_at": _iso(row.deployed_at), "deployed_by": row.deployed_by,
            "retired_at": _iso(row.retired_at), "reasons": row.reasons or {}}


class BotModels:
    """Training queue, registry, deploy and rollback (wired in `handoff/app.py`)."""

    def __init__(self, uow: UnitOfWork, gateway: RasaGateway, teaching: Callable[[], Awaitable[BotTeaching]],
                 config: TrainingConfig, reason_maps: tuple[dict[str, str], ...] = ()) -> None:
        self.uow, self.gateway, self.teaching, self.config = uow, gateway, teaching, config
        # The live maps (the bot pipeline's, the API's) are updated in place; the base is bot/reasons.yml.
        self._reason_maps = reason_maps
        self._base_reasons = dict(reason_maps[0]) if reason_maps else {}
        self._reasons_of: int | None = None  # the deployed id whose reasons the live maps hold
        self._refresher: asyncio.Task[None] | None = None
        self._runner: asyncio.Task[None] | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._deploy_lock = asyncio.Lock()
        self._closing = False

    # -- lifecycle ----------------------------------------------------------------------------

    async def recover(self) -> None:
        """At start: a run cut by a hub restart is failed (its worker died with the hub); queued
        runs start."""
        async with self.uow() as (session, _):
            rows = (await session.execute(select(BotModel).where(BotModel.status.in_(("training", "evaluating")))
                                          )).scalars().all()
            for row in rows:
                row.status, row.finished_at = "failed", utcnow()
                row.error = "o treino foi interrompido (o hub reiniciou)"
                row.gate = {"passed": False, "reasons": [row.error]}
        await self.refresh_deployed()
        self._refresher = asyncio.create_task(self._refresh_loop())
        self._kick()

    async def refresh_deployed(self) -> None:
        """Follow the deployed row of the registry (the database, so every hub replica follows a
        deploy made by another): the gateway keeps every Rasa replica on its model, and the live
        reason maps = bot/reasons.yml + its staff intents."""
        async with self.uow() as (session, _):
            row = await self._deployed(session)
            deployed_id, staff = (row.id, dict(row.reasons or {})) if row else (None, {})
            self.gateway.desired_model = row.model_path if row else None
        if deployed_id == self._reasons_of and deployed_id is not None:
            return
        merged = {**staff, **self._base_reasons}  # a base intent keeps its reason
        for live in self._reason_maps:
            live.clear()
            live.update(merged)
        self._reasons_of = deployed_id

    async def _refresh_loop(self) -> None:
        while not self._closing:
            await asyncio.sleep(REASONS_REFRESH_SECONDS)
            if self._deploy_lock.locked():  # our own deploy sets both when it commits
                continue
            try:
                await self.refresh_deployed()
            except Exception:  # the database may be briefly away; try again later
                log.warning("could not refresh the deployed model's reasons", exc_info=True)

    async def close(self) -> None:
        """Stop the worker (if any) and the runner."""
        self._closing = True
        if self._proc is not None and self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.terminate()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._proc.wait(), 10)
            if self._proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    self._proc.kill()
        await cancel_and_wait([self._runner, self._refresher])

    def _kick(self) -> None:
        if not self._closing and (self._runner is None or self._runner.done()):
            self._runner = asyncio.create_task(self._drain())

    # -- registry reads -----------------------------------------------------------------------

    async def _row(self, session: AsyncSession, model_id: int) -> BotModel:
        row = await session.get(BotModel, model_id)
        if row is None:
            raise NotFound("not_found", "modelo não encontrado")
        return row

    async def get(self, model_id: int) -> dict[str, Any]:
        """One registry row."""
        async with self.uow() as (session, _):
            return model_view(await self._row(session, model_id))

    async def list(self, limit: int = 50) -> dict[str, Any]:
        """Newest first, plus the deployed one, whether a rollback is possible and who's who."""
        async with self.uow() as (session, _):
            rows = (await session.execute(select(BotModel).order_by(BotModel.id.desc()).limit(limit))).scalars().all()
            deployed = await self._deployed(session)
            ids = {i for r in rows for i in (r.requested_by, r.deployed_by) if i is not None}
            names = dict((await session.execute(select(StaffUser.id, StaffUser.name).where(StaffUser.id.in_(ids))))
                         .tuples().all()) if ids else {}
            return {"deployed": deployed.id if deployed else None,
                    "rollback_available": bool(deployed is not None and deployed.previous_model),
                    "staff": {str(k): v for k, v in names.items()},
                    "models": [model_view(r) for r in rows]}

    @staticmethod
    async def _deployed(session: AsyncSession) -> BotModel | None:
        return (await session.execute(select(BotModel).where(BotModel.status == "deployed")
                                      .order_by(BotModel.deployed_at.desc()).limit(1))).scalar_one_or_none()

    async def deployed(self) -> dict[str, Any]:
        """What /healthz shows: the deployed registry version, or the base model (`id` null)."""
        async with self.uow() as (session, _):
            row = await self._deployed(session)
            if row is None:
                return {"id": None, "layer_version": None, "model": None, "deployed_at": None}
            return {"id": row.id, "layer_version": row.layer_version, "model": row.model_path,
                    "deployed_at": _iso(row.deployed_at)}

    # -- training -----------------------------------------------------------------------------

    async def request(self, who: StaffIdentity) -> dict[str, Any]:
        """Queue a training run of the current layer; it starts at once when no run is active."""
        version = await (await self.teaching()).version()
        async with self.uow() as (session, events):
            active = (await session.execute(select(BotModel.status).where(BotModel.status.in_(ACTIVE)))).scalars().all()
            if sum(1 for s in active if s == "queued") >= MAX_QUEUED:
                raise Conflict("queue_full",
                               "já há treinos demais na fila: espere o treino atual terminar")
            now = utcnow()
            row = BotModel(status="queued", layer_version=version, requested_by=who.id, progress_pct=0,
                           created_at=now)
            session.add(row)
            await session.flush()
            session.add(AuditLog(staff_id=who.id, action="bot.model.train", subject=f"model:{row.id}",
                                 created_at=now))
            events.add(STAFF_TOPIC, self._event(row))
            result = {"id": row.id, "status": row.status, "queued_behind": len(active)}
        self._kick()
        return result

    async def cancel(self, who: StaffIdentity, model_id: int) -> dict[str, Any]:
        """Cancel a queued run (a run already training is not interrupted: it ends as any other)."""
        async with self.uow() as (session, events):
            row = await self._row(session, model_id)
            if row.status != "queued":
                raise Conflict("not_queued", "só um treino na fila pode ser cancelado")
            now = utcnow()
            row.status, row.finished_at, row.error = "failed", now, "cancelado antes de começar"
            row.gate = {"passed": False, "reasons": [row.error]}
            session.add(AuditLog(staff_id=who.id, action="bot.model.cancel", subject=f"model:{model_id}",
                                 created_at=now))
            events.add(STAFF_TOPIC, self._event(row))
            return model_view(row)

    @staticmethod
    def _event(row: BotModel) -> dict[str, Any]:
        return {"type": "bot_model_progress", "audience": "managers", "id": row.id, "status": row.status,
                "pct": row.progress_pct, "stage": row.progress_stage, "queue": None, "agent_id": None}

    async def _drain(self) -> None:
        while not self._closing:
            async with self.uow() as (session, _):
                if (await session.execute(select(BotModel.id).where(
                        BotModel.status.in_(("training", "evaluating"))).limit(1))).first() is not None:
                    return  # another hub runs one; its end does not kick us (a request or restart will)
                next_id = (await session.execute(select(BotModel.id).where(BotModel.status == "queued")
                                                 .order_by(BotModel.id).limit(1))).scalar_one_or_none()
            if next_id is None:
                return
            try:
                await self._run(next_id)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a run's failure is recorded, the queue goes on
                log.exception("training run %s failed", next_id)
                await self._finish(next_id, None, f"erro ao rodar o treino: {type(exc).__name__}")

    async def _progress(self, model_id: int, status: str | None, pct: int, stage: str | None,
                        **values: Any) -> None:
        async with self.uow() as (session, events):
            row = await self._row(session, model_id)
            if status:
                row.status = status
            row.progress_pct, row.progress_stage = max(0, min(100, pct)), stage
            for k, v in values.items():
                setattr(row, k, v)
            events.add(STAFF_TOPIC, self._event(row))

    async def _run(self, model_id: int) -> None:
        layer = await (await self.teaching()).export()
        out = self.config.out_dir / f"model-{model_id}"
        if out.exists():
            shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        layer_file = out / "layer-input.json"
        layer_file.write_text(json.dumps(layer, ensure_ascii=False), encoding="utf-8")
        async with self.uow() as (session, _):
            deployed = await self._deployed(session)
            current = deployed.model_path if deployed else None
        await self._progress(model_id, "training", 0, "starting", started_at=utcnow(),
                             layer_version=int(layer["version"]))
        args = [str(self.config.python), "-m", "teaching.worker", "--layer", str(layer_file), "--out", str(out)]
        if current:
            args += ["--current-model", current]
        env = {**os.environ, **BOT_ENV, "PYTHONPATH": str(self.config.root / "bot")}
        with (out / "worker.log").open("ab") as err:
            proc = await asyncio.create_subprocess_exec(*args, cwd=str(self.config.root), env=env,
                                                        stdin=asyncio.subprocess.DEVNULL,
                                                        stdout=asyncio.subprocess.PIPE, stderr=err)
            self._proc = proc
            assert proc.stdout is not None
            async for raw in proc.stdout:
                try:
                    line = json.loads(raw)
                except ValueError:
                    continue
                if not isinstance(line, dict) or line.get("stage") == "done":
                    continue
                stage = str(line.get("stage"))
                detail = line.get("step")
                await self._progress(model_id, STAGE_STATUS.get(stage), int(line.get("pct") or 0),
                                     f"{stage}: {detail}"[:32] if detail else stage[:32])
            code = await proc.wait()
            self._proc = None
        report_file = out / "report.json"
        report: Mapping[str, Any] | None = None
        if report_file.exists():
            with contextlib.suppress(ValueError):
                report = json.loads(report_file.read_text(encoding="utf-8"))
        error = None if report else f"o treino terminou sem relatório (código {code})"
        if report is not None and (out / "reasons.yml").exists():
            try:  # the staff intents' reasons (bot/reasons.yml's own are the base map)
                run_reasons = load_reason_map(out / "reasons.yml", allow_new=True)
                report = {**report, "reasons": {k: v for k, v in run_reasons.items()
                                                if k not in self._base_reasons}}
            except (ValueError, OSError) as exc:
                report, error = None, f"o mapa de motivos do treino é ilegível ({type(exc).__name__})"
        await self._finish(model_id, report, error)

    async def _finish(self, model_id: int, report: Mapping[str, Any] | None, error: str | None) -> None:
        report = report or {}
        status = "ready" if report.get("status") == "ready" and report.get("model") else "failed"
        gate = report.get("gate") if isinstance(report.get("gate"), dict) else None
        if gate is None:
            gate = {"passed": False, "reasons": [error or "o treino falhou"]}
        if status == "failed" and error is None:
            error = "; ".join(str(r) for r in gate.get("reasons") or []) or "o treino falhou"
        async with self.uow() as (session, events):
            row = await self._row(session, model_id)
            row.status, row.finished_at, row.gate, row.error = status, utcnow(), gate, error
            row.progress_pct, row.progress_stage = 100, "done"
            row.evaluation = report.get("evaluation") or {}
            row.timings = report.get("timings") or {}
            row.model_path = str(report["model"]) if report.get("model") else None
            row.reasons = dict(report.get("reasons") or {})
            session.add(AuditLog(staff_id=row.requested_by, action=f"bot.model.{status}",
                                 subject=f"model:{model_id}", created_at=utcnow()))
            events.add(STAFF_TOPIC, self._event(row))

    # -- deploy and rollback ------------------------------------------------------------------

    def _base_model(self, loaded: str | None) -> str | None:
        """The model Rasa serves when the registry has none deployed (as a path Rasa can load)."""
        if loaded:
            p = Path(loaded)
            for candidate in (p, self.config.root / p, self.config.root / "models" / p.name):
                if candidate.is_absolute() and candidate.exists():
                    return str(candidate)
        models = sorted((self.config.root / "models").glob("*.tar.gz"), key=lambda m: m.stat().st_mtime)
        return str(models[-1]) if models else None

    async def _load(self, path: str, previous: str | None) -> None:
        try:
            await self.gateway.load_model(path, timeout=self.config.deploy_timeout, previous=previous)
        except BotUnavailable as exc:
            raise UpstreamFailed("deploy_failed",
                                 "o bot não carregou o modelo: a implantação foi interrompida e o modelo "
                                 "anterior continua no ar", detail=str(exc)[:300]) from exc

    async def _audit(self, who: StaffIdentity, action: str, subject: str) -> None:
        async with self.uow() as (session, _):
            session.add(AuditLog(staff_id=who.id, action=action, subject=subject, created_at=utcnow()))

    async def deploy(self, who: StaffIdentity, model_id: int, override_reason: str | None) -> dict[str, Any]:
        """Load a ready (or earlier, retired) model into Rasa and mark it deployed."""
        async with self._deploy_lock:
            async with self.uow() as (session, _):
                row = await self._row(session, model_id)
                status, gate, path = row.status, dict(row.gate or {}), row.model_path
                current = await self._deployed(session)
                current_path = current.model_path if current else None
            if status == "failed":
                raise Conflict("model_failed", "este treino falhou: não há modelo para implantar",
                               reasons=gate.get("reasons", []))
            if status in ACTIVE:
                raise Conflict("model_not_ready", "este modelo ainda não foi treinado e avaliado")
            if status == "deployed":
                raise Conflict("already_deployed", "este modelo já está no ar")
            if not path or not Path(path).exists():
                raise Conflict("model_missing", "o arquivo deste modelo não existe mais")
            override = None
            if not gate.get("passed"):
                if override_reason is None:
                    raise Conflict("gate_failed",
                                   "o modelo não passou na avaliação de segurança: implantação recusada",
                                   reasons=gate.get("reasons", []))
                if who.role != "admin":
                    raise Forbidden("override_forbidden",
                                    "só um administrador pode implantar um modelo reprovado, com justificativa")
                override = {"by": who.email, "by_id": who.id, "reason": override_reason, "at": utcnow().isoformat()}
            if current_path is None:
                with contextlib.suppress(BotUnavailable):
                    current_path = self._base_model(str((await self.gateway.status()).get("model_file") or ""))
            try:
                await self._load(path, current_path)
            except UpstreamFailed:
                await self._audit(who, "bot.model.deploy_failed", f"model:{model_id}")
                raise
            async with self.uow() as (session, events):
                now = utcnow()
                await session.execute(update(BotModel).where(BotModel.status == "deployed")
                                      .values(status="retired", retired_at=now))
                row = await self._row(session, model_id)
                row.status, row.deployed_at, row.deployed_by, row.retired_at = "deployed", now, who.id, None
                row.previous_model = current_path if current_path != path else row.previous_model
                if override is not None:
                    row.gate_override = override
                    session.add(AuditLog(staff_id=who.id, action="bot.model.gate_override",
                                         subject=f"model:{model_id}", created_at=now))
                session.add(AuditLog(staff_id=who.id, action="bot.model.deploy", subject=f"model:{model_id}",
                                     created_at=now))
                events.add(STAFF_TOPIC, {"type": "bot_model_deployed", "audience": "managers", "id": model_id,
                                         "queue": None, "agent_id": None})
                view = model_view(row)
            await self.refresh_deployed()
            return view

    async def rollback(self, who: StaffIdentity) -> dict[str, Any]:
        """Load the model served before the deployed one; that version (or the base model) is deployed."""
        async with self._deploy_lock:
            async with self.uow() as (session, _):
                current = await self._deployed(session)
                if current is None or not current.previous_model:
                    raise Conflict("nothing_to_roll_back", "não há versão anterior para voltar")
                current_id, target_path, current_path = current.id, current.previous_model, current.model_path
                target = (await session.execute(select(BotModel).where(
                    BotModel.model_path == target_path, BotModel.id != current_id)
                    .order_by(BotModel.id.desc()).limit(1))).scalar_one_or_none()
                target_id = target.id if target else None
            try:
                await self._load(target_path, current_path)
            except UpstreamFailed:
                await self._audit(who, "bot.model.rollback_failed", f"model:{current_id}")
                raise
            async with self.uow() as (session, events):
                now = utcnow()
                row = await self._row(session, current_id)
                row.status, row.retired_at = "retired", now
                view: dict[str, Any] = {"id": None, "status": "base", "model": target_path}
                if target_id is not None:
                    back = await self._row(session, target_id)
                    back.status, back.deployed_at, back.deployed_by, back.retired_at = "deployed", now, who.id, None
                    view = model_view(back)
                session.add(AuditLog(staff_id=who.id, action="bot.model.rollback",
                                     subject=f"model:{current_id}->{target_id or 'base'}", created_at=now))
                events.add(STAFF_TOPIC, {"type": "bot_model_deployed", "audience": "managers", "id": target_id,
                                         "rolled_back": current_id, "queue": None, "agent_id": None})
            await self.refresh_deployed()
            return {"rolled_back": current_id, "deployed": view}
