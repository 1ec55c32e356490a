"""Channel senders the outbox uses. Provider senders come from `connectors/`."""

from __future__ import annotations

from connectors import webchat
from connectors.base import OutboundMessage
from handoff.adapters.bus import Bus


class WebchatSender:
    """Delivers to the visitor's open widgets (on any replica) through the bus.

    A visitor who is offline loses nothing: the widget loads the full history on reconnect.
    """

    def __init__(self, bus: Bus) -> None:
        self.bus = bus

    async def send(self, message: OutboundMessage) -> str | None:
        """Publish the rendered frame to the visitor's open widgets."""
        await self.bus.publish(webchat.visitor_topic(message.external_user_id), webchat.render_outbound(message))
        return None
