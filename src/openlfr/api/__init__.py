"""The HTTP service (``lfr serve``): the API every screen, device and second machine uses.

``app.create_app`` builds it; ``access`` is the one table of who may call what; ``deps`` the typed
dependencies routes read as their signature; ``errors`` the one mapping from ``OpenLFRError`` to
HTTP; ``routes/`` one module per resource; ``feed`` the live alert stream (Server-Sent Events).
"""
