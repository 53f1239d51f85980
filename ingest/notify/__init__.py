"""Notifications: the outbox dispatcher and one module per channel type."""
