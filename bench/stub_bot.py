"""A stand-in for Rasa that answers instantly (isolates the hub's own cost in the ingest bench).

Speaks the subset of Rasa's HTTP API the hub uses: the hub input channel (bot/hub_channel.py)
and status.
"""

from __future__ import annotations

import sys

from sanic import Sanic
from sanic.response import json

app = Sanic("stub_bot")


@app.post("/webhooks/hub/webhook")
async def webhook(request):  # type: ignore[no-untyped-def]
    sender = (request.json or {}).get("sender")
    return json({"messages": [{"recipient_id": sender, "text": "ok"}],
                 "intent": {"name": "greet", "confidence": 1.0}, "slots": {}})


@app.get("/status")
async def status(request):  # type: ignore[no-untyped-def]
    return json({"model_file": "stub", "model_id": "stub"})


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]), single_process=True, access_log=False, motd=False)
