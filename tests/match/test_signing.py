"""Signed watchlist and cohort files (issue 16, item 1): a file edited behind the program's back, unsigned,
or signed with another key is refused in one line, unless trusted, which is logged."""

from __future__ import annotations

import base64
import io
import json
import logging
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from pydantic import SecretStr

from openlfr.config import SigningConfig, StoreConfig
from openlfr.errors import FileSignatureError, SigningKeyError, WatchlistFormatError
from openlfr.match.cohort import Cohort
from openlfr.match.signing import SIGNATURE_MEMBER, FileSigning, SigningKey, load_key
from openlfr.match.watchlist import Watchlist

Members = dict[str, bytes]


def _rezip(path: Path, out: Path, edit: Callable[[Members], None]) -> Path:
    """``path`` re-zipped after ``edit`` changed its members, as a hostile or careless editor would."""
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    edit(members)
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def _swap_rows(members: Members) -> None:
    vectors = np.load(io.BytesIO(members["vectors.npy"]))
    members["vectors.npy"] = _npy(vectors[[1, 0, *range(2, len(vectors))]])


def _threshold_zero(members: Members) -> None:
    manifest = json.loads(members["manifest.json"])
    manifest["threshold"] = 0.0
    members["manifest.json"] = json.dumps(manifest).encode()


def _unsign(members: Members) -> None:
    del members[SIGNATURE_MEMBER]


@pytest.fixture
def signed(demo_watchlist: Watchlist, tmp_path: Path) -> Path:
    return demo_watchlist.save(tmp_path / "w.lfrw")


@pytest.fixture
def cohort(demo_watchlist: Watchlist, tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    vectors = rng.normal(0, 1, (50, demo_watchlist.vectors.shape[1]))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    made = Cohort(vectors.astype(np.float32), demo_watchlist.embedder, "synthetic", datetime.now(UTC))
    return made.save(tmp_path / "c.lfrc")


def test_a_signed_watchlist_and_cohort_load_and_name_the_key(
    signed: Path, cohort: Path, demo_watchlist: Watchlist, signing_key: SigningKey
) -> None:
    loaded = Watchlist.load(signed)
    assert np.array_equal(loaded.vectors, demo_watchlist.vectors)
    assert loaded.threshold == demo_watchlist.threshold
    record = json.loads(zipfile.ZipFile(signed).read(SIGNATURE_MEMBER))
    assert record["key_id"] == signing_key.key_id and record["format"] == "openlfr-watchlist"
    assert sorted(record["members"]) == sorted(n for n in zipfile.ZipFile(signed).namelist() if n != SIGNATURE_MEMBER)
    assert len(Cohort.load(cohort).vectors) == 50


@pytest.mark.parametrize(
    ("edit", "why"),
    [
        (_swap_rows, r"altered after it was signed \(vectors\.npy changed\)"),  # names Obama as Biden
        (_threshold_zero, r"altered after it was signed \(manifest\.json changed\)"),  # everyone a match
        (lambda m: m.update({"faces/extra.jpg": b"x"}), r"faces/extra\.jpg added"),
        (lambda m: m.update({"faces/\x1b[2Jx.jpg": b"x"}), r"faces/\\x1b\[2Jx\.jpg added"),  # escaped
        (lambda m: m.pop(sorted(n for n in m if n.startswith("faces/"))[0]), r"faces/\S+ removed"),
    ],
    ids=["rows-swapped", "threshold-0", "member-added", "escape-in-name", "member-removed"],
)
def test_an_edited_watchlist_is_refused(
    signed: Path, tmp_path: Path, edit: Callable[[Members], None], why: str
) -> None:
    edited = _rezip(signed, tmp_path / "edited.lfrw", edit)
    with pytest.raises(FileSignatureError, match=why) as caught:
        Watchlist.load(edited)
    assert caught.value.reason == "altered"


def test_a_forged_signature_is_refused(signed: Path, tmp_path: Path, signing_key: SigningKey) -> None:
    # the editor re-signs the edited file with a key of their own and claims this machine's key id
    forger = FileSigning(SigningKey.generate())

    def forge(members: Members) -> None:
        _threshold_zero(members)
        record = json.loads(forger.sign({n: b for n, b in members.items() if n != SIGNATURE_MEMBER}, "x", 2))
        record.update(key_id=signing_key.key_id, format="openlfr-watchlist")
        members[SIGNATURE_MEMBER] = json.dumps(record).encode()

    with pytest.raises(FileSignatureError, match="its signature was altered"):
        Watchlist.load(_rezip(signed, tmp_path / "forged.lfrw", forge))


def test_an_unsigned_watchlist_is_refused_unless_trusted_and_trusting_is_logged(
    signed: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    unsigned = _rezip(signed, tmp_path / "unsigned.lfrw", _unsign)
    with pytest.raises(FileSignatureError, match="is not signed: refused") as caught:
        Watchlist.load(unsigned)
    assert caught.value.reason == "unsigned"
    with caplog.at_level(logging.WARNING, logger="openlfr.match"):
        Watchlist.load(unsigned, signing=FileSigning(None, trust_unsigned=True))
    assert any("UNVERIFIED FILE TRUSTED" in r.message and "unsigned.lfrw" in r.message for r in caplog.records)


def test_a_file_signed_with_another_key_names_both_keys(signed: Path, cohort: Path, signing_key: SigningKey) -> None:
    other = FileSigning(SigningKey.generate())
    assert other.key is not None
    for load in (lambda: Watchlist.load(signed, signing=other), lambda: Cohort.load(cohort, signing=other)):
        with pytest.raises(FileSignatureError) as caught:
            load()
        assert caught.value.reason == "wrong_key"
        assert f"signed with key {signing_key.key_id}, this machine holds key {other.key.key_id}" in str(caught.value)


def test_an_edited_or_unsigned_cohort_is_refused(cohort: Path, tmp_path: Path) -> None:
    def relabel(members: Members) -> None:
        meta = json.loads(members["cohort.json"])
        meta["embedder"] = "another-model"
        members["cohort.json"] = json.dumps(meta).encode()

    def shrink(members: Members) -> None:
        members["vectors.npy"] = _npy(np.load(io.BytesIO(members["vectors.npy"]))[:10])

    for name, edit, why in [("relabel", relabel, "cohort.json changed"), ("shrink", shrink, "vectors.npy changed")]:
        with pytest.raises(FileSignatureError, match=why):
            Cohort.load(_rezip(cohort, tmp_path / f"{name}.lfrc", edit))
    with pytest.raises(FileSignatureError, match="is not signed"):
        Cohort.load(_rezip(cohort, tmp_path / "unsigned.lfrc", _unsign))


def test_a_watchlist_signature_does_not_pass_a_cohort(signed: Path) -> None:
    with pytest.raises(FileSignatureError, match="signed as an openlfr-watchlist file, not an openlfr-cohort"):
        Cohort.load(signed)


def test_a_member_held_twice_is_refused(signed: Path, tmp_path: Path) -> None:
    # zipfile reads the last of two same-named members: the one checked must be the one read
    out = tmp_path / "twice.lfrw"
    with zipfile.ZipFile(signed) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, src.read(name))
        with pytest.warns(UserWarning, match="Duplicate name"):
            dst.writestr("manifest.json", b"{}")
    with pytest.raises(WatchlistFormatError, match=r"holds member 'manifest\.json' twice"):
        Watchlist.load(out)


def test_without_a_key_nothing_is_written_and_nothing_read_unless_trusted(
    demo_watchlist: Watchlist, signed: Path, tmp_path: Path
) -> None:
    nobody = FileSigning(None)
    with pytest.raises(SigningKeyError, match="no signing key"):
        demo_watchlist.save(tmp_path / "new.lfrw", signing=nobody)
    assert not (tmp_path / "new.lfrw").exists()
    with pytest.raises(SigningKeyError, match="cannot verify"):
        Watchlist.load(signed, signing=nobody)


def test_the_key_comes_from_the_settings_and_dev_mode_only_beside_a_dev_store(tmp_path: Path) -> None:
    key = SigningKey.generate()
    text = base64.urlsafe_b64encode(key.secret).decode()
    assert load_key(SigningConfig(key=SecretStr(text)), StoreConfig()) == key
    (tmp_path / "k").write_text(text + "\n")
    assert load_key(SigningConfig(key_file=tmp_path / "k"), StoreConfig()) == key
    with pytest.raises(SigningKeyError, match="is 3 bytes"):
        load_key(SigningConfig(key=SecretStr("abcd")), StoreConfig())
    assert load_key(SigningConfig(), StoreConfig(data_dir=tmp_path / "prod")) is None
    dev = StoreConfig(data_dir=tmp_path / "dev", dev_mode=True)
    first = load_key(SigningConfig(), dev)
    assert first is not None and load_key(SigningConfig(), dev) == first  # made once, then kept
