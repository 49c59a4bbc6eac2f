"""A probe photo uploaded to either search route is read and checked the one way (``api.uploads``): past
``[api] max_upload_bytes`` refused before it is decoded (413), not an image refused (422), nothing searched."""

from __future__ import annotations

from pathlib import Path

import pytest

from openlfr.auth.roles import Role
from serving import ServedApp

from .conftest import UPLOAD_LIMIT

ROUTES = {
    "gallery": ("/api/v1/galleries/custody/search", {}),
    "watchlist": ("/api/v1/search", {"deployment_id": "no-such-deployment"}),
}


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_a_photo_too_large_or_not_an_image_is_refused_by_both_search_routes(
    offering: ServedApp, demo: Path, route: str
) -> None:
    url, form = ROUTES[route]
    offering.add_user("op", Role.OPERATOR)
    op = offering.client("op")
    data = {"reason": "case 42: photo from the investigation", **form}
    photo = (demo / "probes" / "obama_congress_2009.jpg").read_bytes()
    padded = photo + b"\0" * (UPLOAD_LIMIT + 1 - len(photo))

    big = op.post(url, files={"image": ("probe.jpg", padded, "image/jpeg")}, data=data)
    assert big.status_code == 413 and big.json()["error"] == "limit_exceeded", big.text
    assert str(UPLOAD_LIMIT) in big.json()["message"]

    junk = op.post(url, files={"image": ("../../notes.jpg", b"not an image at all", "image/jpeg")}, data=data)
    assert junk.status_code == 422, junk.text
    assert "notes.jpg" in junk.json()["message"] and "../" not in junk.json()["message"]
