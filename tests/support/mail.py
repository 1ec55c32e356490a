"""Real local mail peers for the e-mail channel tests.

- `Dovecot`: Debian's Dovecot IMAP server (installed by `scripts/mail_deps.sh`), started with a
  throw-away configuration: one listener on 127.0.0.1, plaintext auth, any user with the test
  password, a maildir per user in a temp dir. Mail is delivered by IMAP APPEND, as an MTA's
  local delivery would drop it in the mailbox.
- `SmtpPeer`: aiosmtpd, a real SMTP server, accepting AUTH PLAIN/LOGIN without TLS on loopback
  and keeping every received message.
- `ImapStoreTrap`: a TCP proxy in front of Dovecot that, while armed, swallows the client's
  command that would set `\\Seen` and reports it; the test then kills the hub at exactly that
  point (mail persisted, not yet marked seen). Everything else passes through untouched.
- `postfix_dsn`: a delivery status notification (RFC 3464) as Postfix writes it when a message
  bounces or is delayed — what lands in the clinic's mailbox when one of our replies fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import os
import pwd
import shutil
import signal
import ssl
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support.net import free_port
from tests.support.wait import eventually_sync

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
MAIL_PASSWORD = "senha-de-teste-123"


def _dovecot_users() -> tuple[str, str, int, int]:
    """(login user, internal user, mail uid, mail gid). As root Dovecot's own users are used
    (its login processes refuse root); otherwise everything runs as the current user."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        return me.pw_name, me.pw_name, me.pw_uid, me.pw_gid
    dovecot = pwd.getpwnam("dovecot")
    return "dovenull", "dovecot", dovecot.pw_uid, dovecot.pw_gid


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """(certificate, key) for 127.0.0.1/localhost, valid two days; the certificate is its own CA
    (what a clinic's private CA would be: `EMAIL_TLS_CA_FILE`)."""
    cert, key = directory / "mail-cert.pem", directory / "mail-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    return cert, key


class Dovecot:
    """A private Dovecot instance (IMAP on a free loopback port; with `tls`, IMAPS on `tls_port`)."""

    def __init__(self, tls: tuple[Path, Path] | None = None) -> None:
        # Not under pytest's tmp dir: Dovecot's unprivileged processes must traverse the path.
        self.root = Path(tempfile.mkdtemp(prefix="atende-dovecot-"))
        self.root.chmod(0o755)
        self.port = free_port()
        self.tls = tls
        self.tls_port = free_port() if tls else 0
        self.host = "127.0.0.1"
        self.password = MAIL_PASSWORD
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        """Dovecot's log file."""
        return self.root / "dovecot.log"

    def start(self) -> Dovecot:
        """Write the config, start `dovecot -F` and wait until it greets."""
        if not Path(DOVECOT).exists():
            raise RuntimeError("dovecot is not installed: run scripts/mail_deps.sh (make services)")
        login_user, internal_user, uid, gid = _dovecot_users()
        for sub in ("run", "state", "mail"):
            (self.root / sub).mkdir()
        os.chown(self.root / "mail", uid, gid)
        conf = self.root / "dovecot.conf"
        ssl = f"ssl = yes\nssl_cert = <{self.tls[0]}\nssl_key = <{self.tls[1]}" if self.tls else "ssl = no"
        conf.write_text(f"""
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.log}
instance_name = atende-test-{self.port}
protocols = imap
listen = 127.0.0.1
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {login_user}
default_internal_user = {internal_user}
first_valid_uid = 1
mail_location = maildir:{self.root}/mail/%u
passdb {{
  driver = static
  args = password={self.password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={self.root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.tls_port}
  }}
}}
service anvil {{
  chroot =
}}
""")
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        proc = self.proc

        def answers() -> bool:
            if proc.poll() is not None:
                return True  # exited: stop waiting, reported below
            imaplib.IMAP4(self.host, self.port, timeout=2).logout()
            return True
        try:
            with contextlib.suppress(AssertionError):
                eventually_sync(answers, timeout=30, interval=0.2, what="dovecot to answer IMAP",
                                exceptions=(OSError, imaplib.IMAP4.error))
                if proc.poll() is None:
                    return self
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"dovecot did not start:\n{log}")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server and remove its files."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.root, ignore_errors=True)

    def client(self, user: str) -> imaplib.IMAP4:
        """A logged-in stdlib IMAP session with INBOX selected (the test's own view)."""
        c = imaplib.IMAP4(self.host, self.port, timeout=30)
        c.login(user, self.password)
        c.select("INBOX")
        return c

    def deliver(self, user: str, raw: bytes) -> None:
        """Put a message in the user's INBOX, unseen (IMAP APPEND)."""
        c = self.client(user)
        try:
            typ, _ = c.append("INBOX", "", imaplib.Time2Internaldate(time.time()), raw)
            assert typ == "OK"
        finally:
            c.logout()

    def flags(self, user: str) -> dict[str, set[str]]:
        """Message-ID → flags of every message in the user's INBOX."""
        c = self.client(user)
        try:
            typ, data = c.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            out: dict[str, set[str]] = {}
            if typ != "OK":
                return out
            for item in data:
                if not isinstance(item, tuple):
                    continue
                meta, header = item
                flags = set(imaplib.ParseFlags(meta))
                msg_id = BytesParser(policy=policy.default).parsebytes(header).get("Message-ID", "")
                out[str(msg_id).strip().strip("<>")] = {f.decode() for f in flags}
            return out
        except imaplib.IMAP4.error:
            return {}
        finally:
            c.logout()


@dataclass
class Received:
    """One message the SMTP peer accepted."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    login: str | None

    @property
    def message(self) -> EmailMessage:
        """The parsed message."""
        msg = BytesParser(policy=policy.default).parsebytes(self.raw)
        assert isinstance(msg, EmailMessage)
        return msg


@dataclass
class SmtpPeer:
    """aiosmtpd on a free loopback port; `received` fills as mail arrives."""

    user: str = "atendimento@clinica.example"
    password: str = MAIL_PASSWORD
    port: int = field(default_factory=free_port)
    tls: tuple[Path, Path] | None = None  # (certificate, key): STARTTLS required before AUTH
    received: list[Received] = field(default_factory=list)
    _controller: Controller | None = None

    def start(self) -> SmtpPeer:
        """Start listening (in aiosmtpd's own thread)."""
        peer = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                auth = session.auth_data if session.authenticated else None
                login = auth.decode() if isinstance(auth, bytes) else auth
                peer.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                              bytes(envelope.original_content or envelope.content), login))
                return "250 Message accepted for delivery"

        def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
            ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == self.user
                  and auth_data.password.decode() == self.password)
            return AuthResult(success=ok, handled=False, auth_data=auth_data.login if ok else None)

        tls: dict[str, Any] = {"auth_require_tls": False}
        if self.tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(self.tls[0]), str(self.tls[1]))
            tls = {"tls_context": context, "require_starttls": True, "auth_require_tls": True}
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, authenticator=authenticate,
                                      auth_required=True, ready_timeout=30, **tls)
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop the server."""
        if self._controller is not None:
            self._controller.stop()

    def to(self, address: str) -> list[Received]:
        """Messages delivered to `address`, in arrival order."""
        return [r for r in self.received if address in r.rcpt_tos]


class ImapStoreTrap:
    """TCP proxy to an IMAP server; while `armed`, a client command setting `\\Seen` is swallowed
    (never reaches the server) and `tripped` is set. Disarmed, it forwards everything."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.armed = True
        self.tripped = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.base_events.Server | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._ready = threading.Event()
        self._writers: set[asyncio.StreamWriter] = set()

    def start(self) -> ImapStoreTrap:
        """Listen in a background thread."""
        self._thread.start()
        self._ready.wait(5)
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def listen() -> None:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

        self._loop.run_until_complete(listen())
        self._ready.set()
        self._loop.run_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))

        async def client_to_server() -> None:
            with contextlib.suppress(Exception):
                while line := await reader.readline():
                    upper = line.upper()
                    if self.armed and b"STORE" in upper and b"\\SEEN" in upper:
                        self.tripped.set()
                        continue  # swallowed: the server never marks the message seen
                    up_writer.write(line)
                    await up_writer.drain()
            with contextlib.suppress(Exception):
                up_writer.close()

        async def server_to_client() -> None:
            with contextlib.suppress(Exception):
                while data := await up_reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            with contextlib.suppress(Exception):
                writer.close()

        await asyncio.gather(client_to_server(), server_to_client())

    def close(self) -> None:
        """Stop the proxy."""

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for w in list(self._writers):
                w.close()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)


def postfix_dsn(original: bytes, recipient: str, *, action: str = "failed", status: str = "5.1.1",
                reporting_mta: str = "mx.exemplo.com.br", to: str = "atendimento@clinica.example",
                headers_only: bool | None = None) -> tuple[str, bytes]:
    """(bare Message-ID, raw bytes) of the DSN Postfix sends back about `original` (the message
    as we submitted it): `failed` returns the whole message (`message/rfc822`), `delayed` only its
    headers (`text/rfc822-headers`), as Postfix does by default."""
    msg_id = make_msgid(domain=reporting_mta)
    boundary = f"{_random_hex()}.{int(time.time())}/{reporting_mta}"
    failed = action == "failed"
    headers_only = (not failed) if headers_only is None else headers_only
    reply = "550" if status.startswith("5.") else "450"
    problem = (f"<{recipient}>: host {reporting_mta}[192.0.2.25] said: {reply} {status} <{recipient}>: "
               f"Recipient address rejected: User unknown in virtual mailbox table (in reply to RCPT TO command)")
    intro = ("I'm sorry to have to inform you that your message could not\nbe delivered to one or more "
             "recipients. It's attached below." if failed else
             "####################################################################\n# THIS IS A WARNING ONLY.  "
             "YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\n#############################################"
             "#######################\n\nYour message could not be delivered for more than 4 hour(s).\n"
             "It will be retried until it is 5 day(s) old.")
    original_headers = original.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    parts = [
        f"--{boundary}\nContent-Description: Notification\nContent-Type: text/plain; charset=us-ascii\n\n"
        f"This is the mail system at host {reporting_mta}.\n\n{intro}\n\nFor further assistance, please send "
        f"mail to postmaster.\n\n                   The mail system\n\n{problem}\n",
        f"--{boundary}\nContent-Description: Delivery report\nContent-Type: message/delivery-status\n\n"
        f"Reporting-MTA: dns; {reporting_mta}\nX-Postfix-Queue-ID: 4Q{_random_hex()[:9].upper()}\n"
        f"X-Postfix-Sender: rfc822; {to}\nArrival-Date: {format_datetime(datetime.now(UTC))}\n\n"
        f"Final-Recipient: rfc822; {recipient}\nOriginal-Recipient: rfc822;{recipient}\nAction: {action}\n"
        f"Status: {status}\nRemote-MTA: dns; {reporting_mta}\nDiagnostic-Code: smtp; {reply} {status} "
        f"<{recipient}>: Recipient address rejected: User unknown in virtual mailbox table\n"
        + ("" if failed else "Will-Retry-Until: Sat, 8 Jun 2024 10:12:00 -0300 (BRT)\n"),
    ]
    head = (f"Return-Path: <>\nFrom: MAILER-DAEMON@{reporting_mta} (Mail Delivery System)\n"
            f"Subject: {'Undelivered Mail Returned to Sender' if failed else 'Delayed Mail (still being retried)'}\n"
            f"To: {to}\nAuto-Submitted: auto-replied\nMIME-Version: 1.0\n"
            f'Content-Type: multipart/report; report-type=delivery-status;\n\tboundary="{boundary}"\n'
            f"Content-Transfer-Encoding: 8bit\nMessage-Id: {msg_id}\nDate: {format_datetime(datetime.now(UTC))}\n\n"
            "This is a MIME-encapsulated message.\n\n")
    body = (head + "\n".join(parts)).encode()
    if headers_only:
        body += (f"\n--{boundary}\nContent-Description: Undelivered Message Headers\n"
                 f"Content-Type: text/rfc822-headers\n\n").encode() + original_headers.replace(b"\r\n", b"\n")
    else:
        body += (f"\n--{boundary}\nContent-Description: Undelivered Message\nContent-Type: message/rfc822\n"
                 f"Content-Transfer-Encoding: 8bit\n\n").encode() + original.replace(b"\r\n", b"\n")
    body += f"\n\n--{boundary}--\n".encode()
    return msg_id.strip("<>"), body.replace(b"\n", b"\r\n")


def _random_hex() -> str:
    """A random hex string (queue ids, boundaries)."""
    return os.urandom(8).hex()
