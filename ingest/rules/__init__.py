"""The alert rules engine: schedules, conditions, alert lifecycle and its persisted state."""
