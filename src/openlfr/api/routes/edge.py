"""Edge devices (``lfr edge``): a device token submits its templates to its own live deployment, and
the face crop of a hit. The service matches; a face that raised no alert never arrives as an image."""

from __future__ import annotations

import anyio.to_thread
from fastapi import APIRouter, Request

from openlfr.api.deps import ContextDep, PrincipalDep
from openlfr.auth.principal import Principal
from openlfr.edge.wire import MAX_CROP_BYTES, CropStored, HitOut, TemplateIn
from openlfr.errors import PermissionDeniedError, RequestLimitError, UploadRefusedError

router = APIRouter(prefix="/api/v1/deployments/{deployment_id}", tags=["edge"])


@router.post("/templates", response_model=HitOut)
def submit_template(deployment_id: str, body: TemplateIn, who: PrincipalDep, ctx: ContextDep) -> HitOut:
    """Match one track's template against the deployment's watchlist: ``{"hit": true, "hit_id": ...}``
    asks for the face crop (``POST .../hits/{hit_id}/crop``) within a minute; no hit, no image."""
    return ctx.edge.submit(deployment_id, _device(who, deployment_id), body)


@router.post("/hits/{hit_id}/crop", response_model=CropStored, status_code=201)
async def submit_crop(
    deployment_id: str, hit_id: str, request: Request, who: PrincipalDep, ctx: ContextDep
) -> CropStored:
    """The hit's face crop (JPEG, as the body or a multipart file ``crop``): the alert is made, stored,
    and sent to the deployment's operators."""
    _device(who, deployment_id)
    data = await _crop_bytes(request)
    alert = await anyio.to_thread.run_sync(ctx.edge.crop, deployment_id, hit_id, data)
    ctx.feed.notify(deployment_id)  # stored first; now the operators' streams
    return CropStored(alert_id=alert.alert_id)


def _device(who: Principal, deployment_id: str) -> str:
    """The device's name; a device token submits only to the deployment it is bound to."""
    if who.deployment_id != deployment_id:
        raise PermissionDeniedError(f"this device token is not bound to deployment {deployment_id}")
    return who.actor.removeprefix("token:")


async def _crop_bytes(request: Request) -> bytes:
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=0)
        upload = form.get("crop")
        if upload is None or isinstance(upload, str):
            raise UploadRefusedError("the multipart body must hold the face crop as the file 'crop'")
        data = await upload.read(MAX_CROP_BYTES + 1)
    else:
        data = b""
        async for chunk in request.stream():
            data += chunk
            if len(data) > MAX_CROP_BYTES:
                break
    if len(data) > MAX_CROP_BYTES:
        raise RequestLimitError(f"the crop is larger than {MAX_CROP_BYTES} bytes")
    return data
