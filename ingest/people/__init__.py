"""The people who use the console: their logins, display names, roles and Argon2id
password hashes, their sessions and the login throttle (``store``), and the
``campus-ingest users`` commands (``cli``)."""
