"""``/public.json``: the public notice of published deployments (no login; nothing about any person)."""

from __future__ import annotations

from fastapi import APIRouter

from openlfr.api.deps import ContextDep
from openlfr.deploy.notice import PublicNotice, public_notices

router = APIRouter(tags=["public"])


@router.get("/public.json", response_model=list[PublicNotice])
def notice(ctx: ContextDep) -> list[PublicNotice]:
    """Planned, live and past deployments a supervisor marked for publication: place, times, purpose,
    legal basis, watchlist size and, after the end, the published figures."""
    return public_notices(ctx.store)
