"""SQLAlchemy (async) persistence."""
