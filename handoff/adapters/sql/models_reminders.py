"""Tables of the reminders (issue 15). Imported at the end of models.py so Base.metadata holds them."""

from __future__ import annotations
