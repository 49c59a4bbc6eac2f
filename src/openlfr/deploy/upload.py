"""A watchlist uploaded by a client (images and a CSV manifest), checked whole before anything is kept.

Client file names are data, never paths: each image is matched to the manifest's ``image`` column by
its plain name, written under a name of our own in a private temporary folder, and the folder is
removed afterwards. The upload is refused whole, naming every offending file or row, when it breaks
a limit (files, bytes, rows), names a path (``../x.jpg``, ``/etc/x``, ``a/b.jpg``), holds a file
that is not an image or one the manifest does not name, or a manifest row names an image that was
not sent. Only then are the images enrolled; an image that is an image but unusable (no face, too
small...) is reported with its reason, as ``lfr enrol`` does.
"""

from __future__ import annotations

import csv
import io
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from openlfr.analysis import FaceAnalyzer
from openlfr.config import ApiConfig, ScoringConfig
from openlfr.errors import EnrolmentError, ImageError, RequestLimitError, UploadRefusedError
from openlfr.ingest.images import IMAGE_SUFFIXES, decode_image
from openlfr.match import sources
from openlfr.match.archive import member_files
from openlfr.match.calibrate import apply, calibrate, normalise
from openlfr.match.cohort import Cohort
from openlfr.match.enrol import EnrolmentReport, enrol
from openlfr.match.signing import FileSigning
from openlfr.match.watchlist import Watchlist


@dataclass(frozen=True, slots=True)
class UploadedFile:
    name: str
    data: bytes


def unpack_zip(archive: UploadedFile, limits: ApiConfig) -> list[UploadedFile]:
    """The images inside a zip, read only after its directory passes the limits (no zip bombs)."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(archive.data))
    except zipfile.BadZipFile as exc:
        raise UploadRefusedError(f"{archive.name}: not a zip archive", problems=[f"{archive.name}: not a zip"]) from exc
    with zf:
        members = member_files(zf)
        if any(not m.filename for m in members):
            raise UploadRefusedError(
                f"{archive.name}: a member has no name (a damaged or crafted archive)",
                problems=[f"{archive.name}: a member with no name"],
            )
        if len(members) > limits.max_upload_files:
            raise RequestLimitError(
                f"{archive.name} holds {len(members)} files; at most {limits.max_upload_files} may be uploaded",
                problems=[f"{archive.name}: {len(members)} files > {limits.max_upload_files}"],
            )
        total = sum(m.file_size for m in members)
        if total > limits.max_upload_bytes:
            raise RequestLimitError(
                f"{archive.name} unpacks to {total} bytes; at most {limits.max_upload_bytes} may be uploaded",
                problems=[f"{archive.name}: {total} bytes unpacked > {limits.max_upload_bytes}"],
            )
        out = []
        for m in members:
            data = zf.read(m)
            if len(data) != m.file_size:  # a lying directory
                raise UploadRefusedError(f"{archive.name}: {m.filename} is not the size its directory says")
            out.append(UploadedFile(m.filename, data))
        return out


def check_upload(
    images: list[UploadedFile], manifest: UploadedFile, limits: ApiConfig, max_pixels: int
) -> list[dict[str, str]]:
    """The manifest's rows, once the whole upload passes every check; RequestLimitError naming each problem."""
    problems: list[str] = []
    if len(images) > limits.max_upload_files:
        raise RequestLimitError(
            f"{len(images)} images uploaded; at most {limits.max_upload_files}",
            problems=[f"{len(images)} files > {limits.max_upload_files}"],
        )
    rows = _manifest_rows(manifest, limits)
    names: dict[str, int] = {}
    for f in images:
        if not _plain_name(f.name):
            problems.append(f"{f.name!r}: a file name must be a plain name, without folders or '..'")
        names[f.name] = names.get(f.name, 0) + 1
    problems += [f"{n!r}: sent {c} times" for n, c in names.items() if c > 1]
    wanted = {(row.get("image") or "").strip() for row in rows}
    for line, row in enumerate(rows, start=2):
        image = (row.get("image") or "").strip()
        if not _plain_name(image):
            problems.append(f"{manifest.name} line {line}: image {image!r} must be the plain name of an uploaded file")
        elif image not in names:
            problems.append(f"{manifest.name} line {line}: image {image!r} was not uploaded")
    problems += [f"{n!r}: uploaded but not named in the manifest" for n in names if n not in wanted]
    for f in images:
        if not _plain_name(f.name):
            continue
        try:
            decode_image(f.data, f.name, max_pixels=max_pixels)
        except ImageError as exc:
            problems.append(f"{f.name!r}: {exc.reason}: {exc}")
    if problems:
        raise UploadRefusedError(
            f"the upload was refused, nothing was stored: {'; '.join(problems[:5])}", problems=problems
        )
    return rows


def enrol_upload(
    images: list[UploadedFile], manifest: UploadedFile, name: str, analyzer: FaceAnalyzer, limits: ApiConfig
) -> tuple[Watchlist, EnrolmentReport]:
    """Check the upload whole, then enrol it from a private temporary folder (removed afterwards)."""
    check_upload(images, manifest, limits, analyzer.settings.images.max_pixels)
    with tempfile.TemporaryDirectory(prefix="lfr-upload-") as tmp:
        folder = Path(tmp)
        local: dict[str, str] = {}
        for i, f in enumerate(images):
            suffix = Path(f.name).suffix.lower()
            ours = f"image-{i:05d}{suffix if suffix in IMAGE_SUFFIXES else '.img'}"
            (folder / ours).write_bytes(f.data)
            local[f.name] = ours
        text = _rewrite_manifest(manifest, local)
        (folder / "manifest.csv").write_text(text, encoding="utf-8")
        items = sources.from_csv(folder / "manifest.csv")
        watchlist, report = enrol(items, analyzer, name)
        ours_to_theirs = {v: k for k, v in local.items()}
        for i, r in enumerate(report.rejected):  # report the client's names, never our paths
            report.rejected[i] = type(r)(r.subject_id, ours_to_theirs.get(Path(r.image).name, r.image), r.reason)
        for i, a in enumerate(report.accepted):
            image = ours_to_theirs.get(Path(a.image).name, a.image)
            report.accepted[i] = type(a)(a.subject_id, image, a.template_id, a.quality_score)
        return watchlist, report


def _manifest_rows(manifest: UploadedFile, limits: ApiConfig) -> list[dict[str, str]]:
    try:
        text = manifest.data.decode("utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(text)))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise EnrolmentError(f"{manifest.name}: not a UTF-8 CSV manifest ({exc})") from exc
    if len(rows) > limits.max_manifest_rows:
        raise RequestLimitError(
            f"{manifest.name} has {len(rows)} rows; at most {limits.max_manifest_rows}",
            problems=[f"{manifest.name}: {len(rows)} rows > {limits.max_manifest_rows}"],
        )
    missing = [c for c in sources.REQUIRED_COLUMNS if not rows or c not in rows[0]]
    if missing:
        raise EnrolmentError(
            f"{manifest.name}: a manifest needs the columns {', '.join(sources.REQUIRED_COLUMNS)}; missing: "
            f"{', '.join(missing)}",
            problems=[f"missing column {c}" for c in missing],
        )
    return rows


def _rewrite_manifest(manifest: UploadedFile, local: Mapping[str, str]) -> str:
    rows = list(csv.DictReader(io.StringIO(manifest.data.decode("utf-8-sig"))))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0].keys()))
    writer.writeheader()
    for row in rows:
        row["image"] = local[(row.get("image") or "").strip()]
        writer.writerow(row)
    return out.getvalue()


def _plain_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and "/" not in name and "\\" not in name and "\x00" not in name


def calibrate_upload(
    watchlist: Watchlist,
    cohort_dir: Path | None,
    name: str,
    fpir: float,
    scoring: ScoringConfig,
    signing: FileSigning,
) -> Watchlist:
    """``watchlist`` normalised against the server's cohort file ``name`` and calibrated for ``fpir``
    at its real size (as ``lfr watchlist calibrate`` does). The name is a plain file name in
    ``cohort_dir``, never a path; the file must verify under the server's signing key (``signing``)."""
    if cohort_dir is None:
        raise UploadRefusedError(
            "this server offers no calibration cohort ([api] cohort_dir is not set): set the threshold by hand",
            problems=["cohort: none offered"],
        )
    offered = sorted(p.name for p in cohort_dir.glob("*.lfrc") if p.is_file())
    if not _plain_name(name) or name not in offered:
        raise UploadRefusedError(
            f"no cohort named {name!r} on this server; offered: {', '.join(offered) or 'none'}",
            problems=[f"cohort: {name!r} is not one of {', '.join(offered) or 'none'}"],
        )
    cohort = Cohort.load(cohort_dir / name, signing)
    normalised = normalise(watchlist, cohort, scoring)
    return apply(normalised, calibrate(normalised, cohort, fpir))
