"""A real Radicale CalDAV server for tests: a subprocess on a free local port with its own storage.

Two htpasswd users (plain passwords, test only): the hub (`HUB_USER`) and the reception
(`RECEPTION_USER`); rights "authenticated" let both read and write every calendar, as a clinic
whose reception and scheduling system share the doctors' calendars. `stop()` kills the process
and `start()` brings it back on the same port with the same storage (the data survives).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import httpx

from tests.support.net import free_port
from tests.support.wait import eventually_sync

HUB_USER, HUB_PASSWORD = "atende", "senha-do-hub"
RECEPTION_USER, RECEPTION_PASSWORD = "recepcao", "senha-da-recepcao"

_MKCALENDAR = """<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:set><D:prop>
    <D:displayname>{name}</D:displayname>
    <C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set>
  </D:prop></D:set>
</C:mkcalendar>"""


class RadicaleServer:
    """One Radicale process (python -m radicale) with a temp config and storage."""

    def __init__(self, root: Path | None = None) -> None:
        self._tmp = None if root is not None else tempfile.TemporaryDirectory(prefix="radicale-")
        self.root = root if root is not None else Path(self._tmp.name)  # type: ignore[union-attr]
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._proc: subprocess.Popen[bytes] | None = None
        self._write_config()

    def _write_config(self) -> None:
        users = self.root / "users"
        users.write_text(f"{HUB_USER}:{HUB_PASSWORD}\n{RECEPTION_USER}:{RECEPTION_PASSWORD}\n")
        (self.root / "collections").mkdir(exist_ok=True)
        (self.root / "config").write_text(
            "[server]\n"
            f"hosts = 127.0.0.1:{self.port}\n"
            "[auth]\n"
            "type = htpasswd\n"
            f"htpasswd_filename = {users}\n"
            "htpasswd_encryption = plain\n"
            "delay = 0\n"
            "[rights]\n"
            "type = authenticated\n"
            "[storage]\n"
            f"filesystem_folder = {self.root / 'collections'}\n"
            "[web]\n"
            "type = none\n"
            "[logging]\n"
            "level = warning\n"
            "mask_passwords = True\n"
        )

    def start(self, timeout: float = 30.0) -> RadicaleServer:
        """Start the process and wait until it answers an authenticated PROPFIND."""
        if self._proc is not None and self._proc.poll() is None:
            return self
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--config", str(self.root / "config")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        proc = self._proc

        def answers() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"radicale exited with {proc.returncode}")
            r = httpx.request("PROPFIND", f"{self.url}/", auth=(HUB_USER, HUB_PASSWORD),
                              headers={"Depth": "0"}, timeout=2)
            return r.status_code == 207
        try:
            eventually_sync(answers, timeout=timeout, interval=0.1, what="radicale to answer PROPFIND",
                            exceptions=(httpx.HTTPError,))
        except AssertionError as exc:
            self.stop()
            raise TimeoutError(f"radicale not ready on {self.url}") from exc
        return self

    def stop(self) -> None:
        """Kill the process (connections are refused until `start`)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

    def close(self) -> None:
        """Stop and remove the storage (when it was a temp dir)."""
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    def make_calendar(self, name: str | None = None, user: str = HUB_USER) -> str:
        """MKCALENDAR /<user>/<name>/ (a fresh name by default); returns the path relative to `url`."""
        path = f"/{user}/{name or 'cal-' + uuid.uuid4().hex[:12]}/"
        auth = (HUB_USER, HUB_PASSWORD)
        with httpx.Client(auth=auth, timeout=10) as client:
            # Radicale creates the principal collection on first authenticated access.
            client.request("PROPFIND", f"{self.url}/{user}/", headers={"Depth": "0"})
            r = client.request("MKCALENDAR", f"{self.url}{path}", content=_MKCALENDAR.format(name=path.strip("/")),
                               headers={"Content-Type": "application/xml; charset=utf-8"})
        if r.status_code != 201:
            raise RuntimeError(f"MKCALENDAR {path}: {r.status_code}")
        return path

    def __enter__(self) -> RadicaleServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.close()
