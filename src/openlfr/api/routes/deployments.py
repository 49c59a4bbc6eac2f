"""``/api/v1/deployments``: the lifecycle (create, watchlist, threshold, authorise, start, end, close)
and the published records. Starting a deployment starts its cameras in this process; ending it
stops them first."""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, File, Form, Query, Response, UploadFile

from openlfr.api.deps import ContextDep, PrincipalDep
from openlfr.api.schemas import EnrolmentLine, PublishRequest, WatchlistUploaded
from openlfr.api.uploads import read_limited
from openlfr.deploy.records import DeploymentRecord, ExportFormat, export, records
from openlfr.deploy.requests import DeploymentCreate, ThresholdRequest
from openlfr.deploy.runner import CameraStatus
from openlfr.deploy.upload import UploadedFile, calibrate_upload, enrol_upload, unpack_zip
from openlfr.deploy.views import DeploymentView
from openlfr.match.signing import FileSigning
from openlfr.status import DeploymentStatus

router = APIRouter(prefix="/api/v1", tags=["deployments"])


@router.get("/deployments", response_model=list[DeploymentView])
def list_deployments(ctx: ContextDep, status: DeploymentStatus | None = None) -> list[DeploymentView]:
    return ctx.deployments.list_deployments(status)


@router.post("/deployments", response_model=DeploymentView, status_code=201)
def create_deployment(body: DeploymentCreate, who: PrincipalDep, ctx: ContextDep) -> DeploymentView:
    """A new draft deployment: where, why, legal basis, when, cameras."""
    return ctx.deployments.create_from(body, who.actor)


@router.get("/deployments/{deployment_id}", response_model=DeploymentView)
def show_deployment(deployment_id: str, ctx: ContextDep, response: Response) -> DeploymentView:
    """The deployment; the ``X-LFR-Not-Ready`` header counts what keeps it from going live (a refused
    start lists each in its ``problems``)."""
    view = ctx.deployments.get(deployment_id)
    if view.status in (DeploymentStatus.DRAFT, DeploymentStatus.AUTHORISED):
        response.headers["X-LFR-Not-Ready"] = str(len(ctx.deployments.problems(deployment_id)))
    return view


@router.get("/deployments/{deployment_id}/cameras", response_model=list[CameraStatus])
def cameras(deployment_id: str, ctx: ContextDep) -> list[CameraStatus]:
    """Each camera's state (live, stalled, reconnecting, not running) and analysed frame rate."""
    view = ctx.deployments.get(deployment_id)
    return ctx.runner.cameras(deployment_id, [(c.id, c.source) for c in view.cameras])


@router.post("/deployments/{deployment_id}/watchlist", response_model=WatchlistUploaded)
async def upload_watchlist(
    deployment_id: str,
    who: PrincipalDep,
    ctx: ContextDep,
    manifest: Annotated[
        UploadFile,
        File(
            description="CSV: subject_id, display_name, category, reason, "
            "image_source, expires, image[, box]; image = an uploaded file's name"
        ),
    ],
    images: Annotated[list[UploadFile] | None, File(description="The images the manifest names.")] = None,
    archive: Annotated[UploadFile | None, File(description="Or a zip holding them.")] = None,
    name: Annotated[str, Form(max_length=256)] = "watchlist",
    under_18: Annotated[list[str] | None, Form(description="SUBJECT=JUSTIFICATION, one per child")] = None,
    cohort: Annotated[
        str | None, Form(max_length=256, description="Calibrate against this cohort file of the server's cohort_dir.")
    ] = None,
    fpir: Annotated[float, Form(gt=0.0, le=0.5, description="With a cohort: the target false-alert rate.")] = 1e-3,
) -> WatchlistUploaded:
    """Enrol the uploaded images as the deployment's watchlist (refused whole if any file is bad;
    per-image report of what was enrolled and why not)."""
    limits = ctx.settings.api
    size = limits.max_upload_bytes
    files = [UploadedFile(f.filename or "", await read_limited(f, size)) for f in images or []]
    if archive is not None:
        files += unpack_zip(UploadedFile(archive.filename or "archive.zip", await read_limited(archive, size)), limits)
    sheet = UploadedFile(manifest.filename or "manifest.csv", await read_limited(manifest, size))
    children = dict(_pair(u) for u in under_18 or [])

    def work() -> WatchlistUploaded:
        watchlist, report = enrol_upload(files, sheet, name, ctx.analyzer(), limits)
        if cohort is not None:  # before anything is stored: a refused calibration stores nothing
            scoring, signing = ctx.settings.match.normalisation, FileSigning.from_settings(ctx.settings)
            watchlist = calibrate_upload(watchlist, limits.cohort_dir, cohort, fpir, scoring, signing)
        view = ctx.deployments.set_watchlist(deployment_id, watchlist, who.actor, under_18=children)
        if cohort is not None:
            view = ctx.deployments.set_threshold(deployment_id, who.actor)  # the calibrated one
        lines = [
            EnrolmentLine(subject_id=a.subject_id, image=a.image, accepted=True, template_id=a.template_id)
            for a in report.accepted
        ]
        lines += [
            EnrolmentLine(subject_id=r.subject_id, image=r.image, accepted=False, reason=r.reason)
            for r in report.rejected
        ]
        return WatchlistUploaded(
            deployment_id=view.id,
            watchlist=watchlist.name,
            entries=len(view.entries),
            images=report.images,
            accepted=len(report.accepted),
            rejected=len(report.rejected),
            report=lines,
            calibrated=view.threshold_source == "calibrated",
            threshold=view.threshold,
        )

    return await anyio.to_thread.run_sync(work)


def _pair(spec: str) -> tuple[str, str]:
    subject, _, why = spec.partition("=")
    return subject.strip(), why.strip()


@router.post("/deployments/{deployment_id}/threshold", response_model=DeploymentView)
def set_threshold(deployment_id: str, body: ThresholdRequest, who: PrincipalDep, ctx: ContextDep) -> DeploymentView:
    """The watchlist's calibrated threshold (no ``value``), or one set by hand with a justification."""
    return ctx.deployments.set_threshold_from(deployment_id, body, who.actor)


@router.post("/deployments/{deployment_id}/authorise", response_model=DeploymentView)
def authorise(deployment_id: str, who: PrincipalDep, ctx: ContextDep) -> DeploymentView:
    """Authorise a draft (by a supervisor who did not create it)."""
    return ctx.deployments.authorise(deployment_id, who.actor)


@router.post("/deployments/{deployment_id}/start", response_model=DeploymentView)
def start(deployment_id: str, who: PrincipalDep, ctx: ContextDep) -> DeploymentView:
    """Go live (409 with every missing item in ``problems`` if not ready) and start its cameras."""
    view = ctx.deployments.start(deployment_id, who.actor)
    ctx.runner.launch(deployment_id, who.actor)
    return view


@router.post("/deployments/{deployment_id}/end", response_model=DeploymentView)
def end(deployment_id: str, who: PrincipalDep, ctx: ContextDep) -> DeploymentView:
    """Stop its cameras, end it and destroy its watchlist's templates and faces."""
    ctx.runner.stop(deployment_id)
    return ctx.deployments.end(deployment_id, who.actor)


@router.post("/deployments/{deployment_id}/close", response_model=DeploymentView)
def close(deployment_id: str, who: PrincipalDep, ctx: ContextDep) -> DeploymentView:
    """Make the record final."""
    return ctx.deployments.close(deployment_id, who.actor)


@router.post("/deployments/{deployment_id}/publish", response_model=DeploymentView)
def publish(
    deployment_id: str, who: PrincipalDep, ctx: ContextDep, body: PublishRequest | None = None
) -> DeploymentView:
    """Mark it for the public notice (``/public``: place, times, purpose, record; nothing about a person)."""
    return ctx.deployments.publish(deployment_id, who.actor, published=True if body is None else body.published)


@router.get("/deployments/{deployment_id}/report", response_model=list[DeploymentRecord])
def report(
    deployment_id: str, who: PrincipalDep, ctx: ContextDep, format: ExportFormat | None = None
) -> Response | list[DeploymentRecord]:
    """The deployment's published record (``?format=csv`` or ``json`` to download; the export is audited)."""
    return _records(ctx, who.actor, [deployment_id], format)


@router.get("/records", response_model=list[DeploymentRecord])
def all_records(
    who: PrincipalDep, ctx: ContextDep, format: Annotated[ExportFormat | None, Query()] = None
) -> Response | list[DeploymentRecord]:
    """Every deployment's published record (``?format=csv`` or ``json`` to download)."""
    return _records(ctx, who.actor, None, format)


def _records(
    ctx: ContextDep, actor: str, ids: list[str] | None, fmt: ExportFormat | None
) -> Response | list[DeploymentRecord]:
    if ids is not None:
        ctx.deployments.get(ids[0])  # 404 for an unknown id
    rows = records(ctx.store, ids)
    if fmt is None:
        return rows
    text = export(ctx.store, rows, fmt, actor)
    media = "text/csv" if fmt is ExportFormat.CSV else "application/json"
    name = f"lfr-records.{fmt.value}"
    return Response(text, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})
