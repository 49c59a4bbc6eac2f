"""The one place where errors become HTTP: ``OpenLFRError`` subclasses to status codes, one JSON shape.

Every error response is ``{"error": code, "message": text, "problems": [...]}``; clients match on
``error`` (the exception's ``code``) and list ``problems``, never parse ``message``. The most
specific class in the table wins (the table is searched along the exception's MRO).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from openlfr import errors as e

log = logging.getLogger("openlfr.api")

STATUS: dict[type[e.OpenLFRError], int] = {
    e.NotAuthenticatedError: 401,
    e.LoginFailedError: 401,
    e.AccountLockedError: 423,
    e.CsrfError: 403,
    e.PermissionDeniedError: 403,
    e.SeparationOfDutiesError: 403,
    e.AuthError: 403,
    e.DeploymentNotFoundError: 404,
    e.AlertNotFoundError: 404,
    e.HitNotFoundError: 404,
    e.TemplateRefusedError: 422,
    e.EdgeError: 422,
    e.DeploymentStateError: 409,
    e.DeploymentNotReadyError: 409,
    e.FusionNotStoredError: 422,
    e.DeploymentError: 422,
    e.ReviewError: 422,
    e.UserError: 422,
    e.RateLimitedError: 429,
    e.RequestLimitError: 413,
    e.UploadRefusedError: 422,
    e.ImageError: 422,
    e.GalleryNotFoundError: 404,
    e.GalleryEmbedderError: 409,
    e.GalleryIndexError: 503,
    e.GalleryError: 422,
    e.EnrolmentError: 422,
    e.WatchlistError: 422,
    e.UncalibratedError: 409,
    e.EmbedderMismatchError: 409,
    e.SigningKeyError: 503,
    e.ConfigError: 422,
    e.RetentionFloorError: 409,
    e.AlertFormatError: 422,
    e.ClusterError: 503,
    e.SourceError: 422,
    e.StoreKeyError: 503,
    e.AuditChainError: 503,
    e.StoreError: 503,
    e.ModelError: 503,
}


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: str
    message: str
    problems: list[str] = []


def status_of(exc: e.OpenLFRError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def _response(
    status: int, code: str, message: str, problems: list[str], headers: dict[str, str] | None = None
) -> JSONResponse:
    body = ErrorBody(error=code, message=message, problems=problems)
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


async def _openlfr(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, e.OpenLFRError)
    status = status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if isinstance(exc, e.AccountLockedError):
        headers = {"Retry-After": str(max(1, int((exc.until - datetime.now(UTC)).total_seconds())))}
    if status >= 500:
        log.error("%s %s: %s", request.method, request.url.path, exc)
    return _response(status, exc.code, exc.message or str(exc), list(exc.problems), headers)


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()]
    return _response(422, "invalid_request", "the request is not valid: " + "; ".join(problems), problems)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    codes = {404: "not_found", 405: "method_not_allowed", 413: "limit_exceeded"}
    return _response(exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail), [])


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("%s %s failed", request.method, request.url.path)
    return _response(500, "internal_error", "the server failed; the error is in its log", [])


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(e.OpenLFRError, _openlfr)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
