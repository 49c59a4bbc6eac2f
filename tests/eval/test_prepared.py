"""What the ``lfr eval`` commands share in the library: the normalisation a name asks for, and a display
that shows nothing (scripts and tests run the evaluations without a terminal)."""

from __future__ import annotations

import pytest

from openlfr.config import Settings
from openlfr.eval.prepared import NORMALISATIONS, scoring_config
from openlfr.eval.report import SILENT, Table


@pytest.mark.parametrize(
    ("name", "top_k", "fair", "method", "expected_top_k", "expected_fair"),
    [
        ("config", None, None, "zt", 400, 25),
        ("z", None, None, "z", 400, 25),
        ("t", 5, 2, "t", 5, 2),
        ("cosine", 0, 0, "cosine", None, 0),  # --cohort-top-k 0: every cohort score
    ],
)
def test_a_normalisation_name_and_its_overrides_give_the_scoring(
    name: str, top_k: int | None, fair: int | None, method: str, expected_top_k: int | None, expected_fair: int
) -> None:
    config = scoring_config(Settings(), name, top_k, fair)
    assert config is not None
    assert (config.method, config.top_k, config.fair_clusters) == (method, expected_top_k, expected_fair)


def test_none_is_no_normalisation_and_an_unknown_name_is_refused() -> None:
    assert scoring_config(Settings(), "none", 5, 2) is None
    with pytest.raises(ValueError, match="takes none, config, cosine, z, t or zt, got 'zz'"):
        scoring_config(Settings(), "zz", None, None)
    assert set(NORMALISATIONS) == {"none", "config", "cosine", "z", "t", "zt"}


def test_the_silent_display_takes_everything_and_shows_nothing() -> None:
    SILENT.line("a line")
    SILENT.table("title", Table(["a"], [[1]]), "note")
    with SILENT.progress("embedding", 3) as advance:
        advance(3)
