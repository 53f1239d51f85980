"""The service's web app (``app.py``): the HTTP API (``api/``, one router per resource) and
the patrol console (``console/``) side by side, sharing one set of named dependencies
(``deps.py``), the console's CSRF checks (``forms.py``), request limits and the server."""
