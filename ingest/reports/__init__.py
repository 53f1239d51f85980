"""Reports: the weekly usage feedback, daily meter readings and the cold-chain log (SPEC §7),
rendered as JSON, CSV and HTML with charts, their wording, and the ``jobs`` that make and
send them on a schedule."""
