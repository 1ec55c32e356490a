"""`python -m handoff [serve|migrate]`."""

from __future__ import annotations

import logging
import sys

from handoff.adapters.sql.migrate import upgrade
from handoff.app import create_app
from handoff.settings import Settings


def main(argv: list[str]) -> int:
    """Entry point. `serve` (default) migrates SQLite itself; Postgres runs `migrate` first."""
    command = argv[0] if argv else "serve"
    settings = Settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in ("sanic.root", "sanic.error", "sanic.access", "sanic.server", "sanic.websockets"):
        logging.getLogger(name).propagate = False  # Sanic prints these itself
    # httpx logs every request URL at INFO; provider and clinic URLs can carry patient ids.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if command == "migrate":
        upgrade(settings.database_url)
        return 0
    if command != "serve":
        print("usage: python -m handoff [serve|migrate]", file=sys.stderr)
        return 2
    if settings.is_sqlite:
        upgrade(settings.database_url)  # embedded mode: one process, so migrating here is safe
    app = create_app(settings, name="atende")
    app.run(host=settings.hub_host, port=settings.hub_port, single_process=True, access_log=False,
            motd=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
