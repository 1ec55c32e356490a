"""Custom actions. They talk to the rest of atende only over HTTP (the hub's clinic API)."""
