"""deploy.upload: a zip of enrolment images is read as untrusted data."""

from __future__ import annotations

import pytest

from fuzzing_inputs import zip_of
from openlfr.config import ApiConfig
from openlfr.deploy.upload import UploadedFile, unpack_zip
from openlfr.errors import UploadRefusedError


def test_a_member_with_no_name_is_refused_not_a_server_error() -> None:
    archive = UploadedFile("faces.zip", zip_of({"a.jpg": b"not read", "": b"crafted"}))
    with pytest.raises(UploadRefusedError, match="no name"):
        unpack_zip(archive, ApiConfig())


def test_folders_are_skipped_and_files_read() -> None:
    files = unpack_zip(UploadedFile("faces.zip", zip_of({"people/": b"", "people/a.jpg": b"jpeg"})), ApiConfig())
    assert [(f.name, f.data) for f in files] == [("people/a.jpg", b"jpeg")]
