"""One module per resource; each builds an ``APIRouter`` that ``api/app.py`` mounts."""
