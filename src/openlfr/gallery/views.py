"""What a gallery search asks and answers, shared by ``lfr gallery search`` and ``/api/v1/galleries``.

``GallerySearchRequest`` is the request both check (the reason is required and audited); ``ProbeView``
is one probe's answer (``lfr gallery search --format jsonl`` writes one per line, the API returns them
in ``GallerySearchResponse``): every face, each with its ranked candidates for review.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from openlfr.gallery.search import ProbeResult


class GallerySearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000, description="Why this search is made (audited).")
    top: int = Field(20, ge=1, le=1000, description="Candidates per face.")
    threshold: float | None = Field(None, description="Mark candidates at or above this score (no decision).")


class CandidateView(BaseModel):
    rank: int
    score: float
    cosine: float | None
    subject_id: str
    record_id: str
    date: str | None
    source: str | None
    above_threshold: bool | None


class FaceView(BaseModel):
    index: int
    box: tuple[int, int, int, int]
    quality: float
    candidates: list[CandidateView]


class ProbeView(BaseModel):
    source: str
    faces: list[FaceView]
    error: str | None = None
    error_reason: str | None = None

    @classmethod
    def of(cls, result: ProbeResult) -> ProbeView:
        return cls.model_validate(result.to_json())


class GallerySearchResponse(BaseModel):
    gallery: str
    size: int
    scoring: str = Field(description="cosine, or the normalisation and cohort the scores come from.")
    results: list[ProbeView]
