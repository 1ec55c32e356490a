"""Network helpers for tests: free ports, waiting for servers, a fault-injecting TCP proxy."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading

import httpx

from tests.support.wait import eventually_sync


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 120.0, ok=(200,)) -> None:  # type: ignore[no-untyped-def]
    """Poll `url` until it answers one of `ok` statuses (`TimeoutError` otherwise)."""
    def answered() -> int | None:
        status = httpx.get(url, timeout=2).status_code
        return status if status in ok else None
    try:
        eventually_sync(answered, timeout=timeout, interval=0.3, what=f"{url} to answer {ok}",
                        exceptions=(httpx.HTTPError,))
    except AssertionError as exc:
        raise TimeoutError(str(exc)) from exc


class TcpProxy:
    """A real TCP proxy in front of a server, with switches to simulate outages.

    - `down()`: refuse new connections and cut open ones (server crashed / restarting);
    - `hang()`: accept connections but forward nothing (server stuck);
    - `up()`: forward normally;
    - `delay`: seconds each chunk from the client waits before it is forwarded (a slow server).
    """

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.mode = "up"
        self.delay = 0.0
        self.held = 0  # connections being held right now in "hang" mode (requests in flight)
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._ready = threading.Event()

    def start(self) -> TcpProxy:
        """Start listening (in a background thread)."""
        self._thread.start()
        self._ready.wait(5)
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._listen())
        self._ready.set()
        self._loop.run_forever()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode == "down":
            writer.close()
            return
        self._writers.add(writer)
        try:
            if self.mode == "hang":
                self.held += 1
                try:
                    while self.mode == "hang":  # the proxy's own cadence: hold the connection until switched
                        await asyncio.sleep(0.05)
                finally:
                    self.held -= 1
                return
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            self._writers.discard(writer)
            return
        self._writers.add(up_writer)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, upstream: bool) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    if upstream and self.delay:
                        await asyncio.sleep(self.delay)  # the injected latency is the behaviour asked for
                    if self.mode != "up":
                        break
                    dst.write(data)
                    await dst.drain()
            with contextlib.suppress(Exception):
                dst.close()

        await asyncio.gather(pipe(reader, up_writer, True), pipe(up_reader, writer, False))
        self._writers.discard(writer)
        self._writers.discard(up_writer)

    def _set(self, mode: str) -> None:
        self.mode = mode
        if mode != "up":
            def cut() -> None:
                for w in list(self._writers):
                    w.close()
                self._writers.clear()
            if mode == "down":
                self._loop.call_soon_threadsafe(cut)

    def up(self) -> None:
        """Forward normally."""
        self._set("up")

    def down(self) -> None:
        """Refuse and cut connections."""
        self._set("down")

    def hang(self) -> None:
        """Accept but never answer."""
        self._set("hang")

    def close(self) -> None:
        """Stop the proxy."""
        self.mode = "down"

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for w in list(self._writers):
                w.close()

        fut = asyncio.run_coroutine_threadsafe(shutdown(), self._loop)
        with contextlib.suppress(Exception):
            fut.result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
