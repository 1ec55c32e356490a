"""Adapters: databases, buses, the Rasa gateway and channel senders."""
