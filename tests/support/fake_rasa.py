"""A local server speaking the part of Rasa's HTTP API the hub uses (the bot boundary in tests).

`POST /webhooks/hub/webhook` answers like the hub's input channel (bot/hub_channel.py): the bot
messages plus the turn's intent and slots. A text containing "urgente" or "dor no peito" hands
off as urgent, "atendente" hands off as a human request (both with the `custom.atende.handoff`
signal the real actions send); anything else gets a plain greeting. `GET /status` reports a
loaded model. Every received message is recorded.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.net import free_port


def _handoff(reason: str, priority: str, note: str) -> dict[str, Any]:
    return {"recipient_id": "x", "custom": {"atende": {"handoff": {"reason": reason, "priority": priority,
                                                                     "note": note}}}}


class FakeRasa:
    """Start with `.start()`; `url` goes into RASA_URL."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _json(self, status: int, data: object) -> None:
                body = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path.startswith("/status"):
                    return self._json(200, {"model_file": "fake.tar.gz", "model_id": "fake"})
                self._json(404, {})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                data = json.loads(self.rfile.read(length) or b"{}")
                if not self.path.startswith("/webhooks/hub/webhook"):
                    return self._json(404, {})
                text = str(data.get("message") or "")
                sender = str(data.get("sender") or "")
                with outer._lock:
                    outer.received.append(data)
                lowered = text.lower()
                if "urgente" in lowered or "dor no peito" in lowered:
                    intent = "urgent_symptom"
                    replies = [{"recipient_id": sender, "text": "Vou chamar a equipe de enfermagem agora."},
                               _handoff("urgent", "urgent", "dor no peito")]
                elif "atendente" in lowered:
                    intent = "request_human"
                    replies = [{"recipient_id": sender, "text": "Certo, vou chamar um atendente."},
                               _handoff("human", "normal", "paciente pediu atendente")]
                else:
                    intent = "greet"
                    replies = [{"recipient_id": sender, "text": "Olá! Como posso ajudar?"}]
                slots = {"booking_ctx": {"specialty": "cardiologia", "step": "ask_when"},
                         "cpf": "12345678909", "consent": True}
                self._json(200, {"messages": replies, "intent": {"name": intent, "confidence": 0.97},
                                 "slots": slots})

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"

    def texts(self) -> list[str]:
        """Every message text the bot received, in order."""
        with self._lock:
            return [str(d.get("message")) for d in self.received]

    def start(self) -> FakeRasa:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
