"""The operator web app: server-rendered pages over the API (``routes.py``), templates and static files.

The pages render a shell (and, from the session, its CSRF token and which pages its role may open);
their scripts call ``/api/v1`` and nothing else, so what a page can do, the API allows.
"""
