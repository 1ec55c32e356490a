"""Run the disposal job from a shell: `python -m handoff.retention_cli run-now`.

Same job as the hub's daily scheduler (`handoff/services/retention.py`) and the "Executar agora"
button of /privacidade/retencao: today's run (clinic-local date) is claimed or resumed, or run
again when it is already done; the counts are printed as JSON (never content) and audit-logged.
`python -m handoff.retention_cli runs` prints the latest runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from handoff.adapters.attachments import AttachmentStore
from handoff.adapters.bus import make_bus
from handoff.adapters.sql.database import Database
from handoff.adapters.tracker_store import TrackerStore
from handoff.services import retention
from handoff.services.email_channel import attachments_root
from handoff.services.unit_of_work import UnitOfWork
from handoff.settings import Settings


async def _main(command: str) -> dict[str, Any] | list[dict[str, Any]]:
    settings = Settings()
    db = Database(settings.database_url)
    db.connect()
    bus = make_bus(settings.redis_url)
    await bus.start()
    uow = UnitOfWork(db, bus)
    try:
        if command == "runs":
            return await retention.list_runs(uow)
        job = retention.DisposalJob(uow, AttachmentStore(attachments_root(settings)),
                                    tracker=TrackerStore(settings.rasa_tracker_store_url or None))
        outcome = await retention.run_now(uow, job, None)
        return {"run_id": outcome.run_id, "status": outcome.status, "disposed": outcome.disposed}
    finally:
        await bus.close()
        await db.close()


def main(argv: list[str] | None = None) -> int:
    """Entry point; exit status 1 when the run failed."""
    parser = argparse.ArgumentParser(prog="python -m handoff.retention_cli", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("run-now", "runs"))
    args = parser.parse_args(argv)
    result = asyncio.run(_main(args.command))
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 1 if isinstance(result, dict) and result.get("status") == "failed" else 0


if __name__ == "__main__":
    sys.exit(main())
