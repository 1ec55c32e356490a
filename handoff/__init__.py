"""atende hub: owns every conversation, the durable message pipeline and the staff app."""
