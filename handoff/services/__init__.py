"""Use cases that change state. Events are published only after the transaction commits."""
