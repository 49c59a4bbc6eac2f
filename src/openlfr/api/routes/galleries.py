"""``/api/v1/galleries``: the galleries the service offers (``[api] gallery_dir``, each by its folder's
name, never a path): their information, and investigative search of a still photo with a required reason,
audited in the gallery's own chain (as who asked) and in the store's."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, File, Form, UploadFile

from openlfr.api.deps import ContextDep, PrincipalDep
from openlfr.api.uploads import read_photo
from openlfr.errors import GalleryNotFoundError
from openlfr.gallery.gallery import META_FILE, GalleryInfo
from openlfr.gallery.search import ProbeResult, audit_search, search_faces
from openlfr.gallery.views import GallerySearchRequest, GallerySearchResponse, ProbeView
from openlfr.store import audit
from openlfr.store.audit import AuditAction

router = APIRouter(prefix="/api/v1", tags=["galleries"])
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")


def _offered(gallery_dir: Path | None) -> list[str]:
    if gallery_dir is None or not gallery_dir.is_dir():
        return []
    return sorted(p.name for p in gallery_dir.iterdir() if NAME.match(p.name) and (p / META_FILE).is_file())


def _path(gallery_dir: Path | None, name: str) -> Path:
    if not NAME.match(name) or name not in _offered(gallery_dir):
        raise GalleryNotFoundError(f"this service offers no gallery named {name!r}")
    assert gallery_dir is not None
    return gallery_dir / name


@router.get("/galleries", response_model=list[GalleryInfo])
async def list_galleries(ctx: ContextDep) -> list[GalleryInfo]:
    """Every gallery offered: size, index kind and parameters, normalisation, audit chain state."""

    def work() -> list[GalleryInfo]:
        out = []
        for name in _offered(ctx.settings.api.gallery_dir):
            with ctx.galleries.use(_path(ctx.settings.api.gallery_dir, name)) as gallery:
                out.append(gallery.info())
        return out

    return await anyio.to_thread.run_sync(work)


@router.post("/galleries/{gallery}/search", response_model=GallerySearchResponse)
async def search_gallery(
    gallery: str,
    who: PrincipalDep,
    ctx: ContextDep,
    image: Annotated[UploadFile, File(description="A still photo (JPEG, PNG...).")],
    reason: Annotated[str, Form(min_length=10, max_length=2000, description="Why this search is made (audited).")],
    top: Annotated[int, Form(ge=1, le=200)] = 20,
    threshold: Annotated[float | None, Form()] = None,
) -> GallerySearchResponse:
    """Every face of the photo with its top gallery candidates: for review by a trained person, no match."""
    request = GallerySearchRequest(reason=reason, top=top, threshold=threshold)
    path = _path(ctx.settings.api.gallery_dir, gallery)
    photo = await read_photo(image, ctx.settings)

    def work() -> GallerySearchResponse:
        picture = photo.decode(ctx.settings)
        analyzer = ctx.analyzer()
        embedder, sha = analyzer.embedder.identity, hashlib.sha256(photo.data).hexdigest()
        with ctx.galleries.use(path, embedder) as opened:  # held open across requests (api.gallery_cache)
            audit_search(opened, analyzer, request.reason, request.top, request.threshold, [sha], who.actor)
        faces = analyzer.analyze(picture)  # the slow part, while other requests use the gallery
        with ctx.galleries.use(path, embedder) as opened:
            found = search_faces(opened, picture, faces, request.top, request.threshold) if faces else []
            size, scoring = opened.records.count(), opened.scoring
        with ctx.store.session() as s:
            audit.record(
                s,
                who.actor,
                AuditAction.SEARCH,
                target=f"gallery {gallery}",
                details={"reason": request.reason.strip()[:500], "faces": len(found), "top": request.top},
            )
        return GallerySearchResponse(
            gallery=gallery,
            size=size,
            scoring="cosine" if scoring is None else scoring.signature,
            results=[ProbeView.of(ProbeResult(photo.name, faces=found))],
        )

    return await anyio.to_thread.run_sync(work)
