"""The patrol console (SPEC §9): server-rendered pages for the night patrol, the canteen
and the technician on a phone or the duty-room PC. ``routes/``: login, the board and
tonight's doors, alert pages, ack links and people (admins); ``board`` and ``views`` turn
the live state into cards, ``feed`` pushes changes to open consoles, ``pages`` renders the
``templates/`` (escaped) and ``static/`` holds the one stylesheet and script."""
