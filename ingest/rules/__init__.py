"""Alert rules: the ``engine`` (live readings and gateway status in, alert transitions
out), ``lifecycle`` (each transition with its history and outbox entries), ``conditions``,
``schedules`` and the calendar, the alert database (``store``, with the outbox), the
``timer`` and the ``wording`` of every alert message."""
