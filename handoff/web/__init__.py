"""Pages and static assets served by the hub."""
