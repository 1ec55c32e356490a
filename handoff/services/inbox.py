"""The attendant inbox: what staff see and do with conversations humans own.

Every state change goes through the lifecycle (`store.transition`; an illegal move raises
`IllegalTransition`) and is an append-only event with the staff member as actor
(``agent:<id>``). Replies are ordinary outbound messages (sender ``agent``) delivered by the
outbox to the channel the patient wrote from; internal notes are events only and never reach
the patient. Every staff read of patient data (conversation detail, patient
card) writes an `audit_log` row in the same transaction as the read.

Who may do what (the API checks the role first):
- attendants see the queues they belong to (`staff_users.queues`, empty = every queue) and
  the conversations they hold or held; they claim from their queues and act on what they hold;
- managers and admins see and act on everything, and may transfer anyone's conversation.
- attendants granted `all_queues` may also read (detail, patient card, attachments) conversations
  outside that scope, each time with a reason written to the audit log (docs/access-matrix.md).

Where it lives: `inbox_queries.py` (access rules and reads), `inbox_commands.py` (state changes),
`staff_admin.py` (profiles, agents, accounts), `inbox_views.py` (the JSON views). `Inbox` puts
them together; refusals are `handoff.domain.errors` kinds (the API maps them to HTTP).
"""

from __future__ import annotations

from handoff.services.inbox_commands import InboxCommands
from handoff.services.staff_admin import StaffAdmin

__all__ = ["Inbox"]


class Inbox(InboxCommands, StaffAdmin):
    """Use cases of the staff API: reads, commands and staff administration."""
