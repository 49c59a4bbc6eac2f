"""``/api/v1/search``: a still photo searched against a live deployment's watchlist: every face with
its ranked candidates, for a person to review (the JSON of ``lfr search --format jsonl``). The search
is audited with who asked and why."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, File, Form, UploadFile

from openlfr.api.deps import ContextDep, PrincipalDep
from openlfr.api.uploads import read_photo
from openlfr.search.stills import ImageResult, search_image
from openlfr.store import audit
from openlfr.store.audit import AuditAction

router = APIRouter(prefix="/api/v1", tags=["search"])


@router.post("/search", response_model=ImageResult)
async def search(
    who: PrincipalDep,
    ctx: ContextDep,
    image: Annotated[UploadFile, File(description="A still photo (JPEG, PNG...).")],
    deployment_id: Annotated[str, Form(max_length=64, description="The live deployment whose watchlist to search.")],
    reason: Annotated[str, Form(min_length=10, max_length=2000, description="Why this search is made (audited).")],
    top: Annotated[int, Form(ge=1, le=50)] = 5,
) -> ImageResult:
    """Every face of the photo with its top candidates: candidates for review by a trained person."""
    photo = await read_photo(image, ctx.settings)

    def work() -> ImageResult:
        picture = photo.decode(ctx.settings)
        watchlist = ctx.deployments.watchlist(deployment_id)  # only a live deployment's
        result = search_image(picture, Path(photo.name), ctx.analyzer(), watchlist, k=top)
        with ctx.store.session() as s:
            audit.record(
                s,
                who.actor,
                AuditAction.SEARCH,
                deployment_id=deployment_id,
                target="still image",
                details={"reason": reason.strip()[:500], "faces": len(result.faces), "top": top},
            )
        return result

    return await anyio.to_thread.run_sync(work)
