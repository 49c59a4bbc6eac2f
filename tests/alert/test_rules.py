"""The alert gate: one alert per pass, without letting a false alert hide the real person's pass."""

from __future__ import annotations

import numpy as np

from openlfr.alert.rules import AlertGate


def vec(x: float) -> np.ndarray:
    v = np.zeros(128, np.float32)
    v[0] = x
    return v


def test_one_alert_per_track_and_subject() -> None:
    gate = AlertGate(cooldown_s=30)
    assert gate.admit("ann", 1.0, set(), vec(0))
    assert not gate.admit("ann", 1.5, {"ann"}, vec(0))


def test_the_same_face_again_within_the_cooldown_is_the_same_pass() -> None:
    gate = AlertGate(cooldown_s=30)
    assert gate.admit("ann", 1.0, set(), vec(0))
    assert not gate.admit("ann", 5.0, set(), vec(0.1)), "a broken track of the same face"
    assert gate.admit("ann", 40.0, set(), vec(0.1)), "after the cooldown: a new pass"


def test_a_different_face_named_the_same_is_not_hidden_by_an_earlier_alert() -> None:
    gate = AlertGate(cooldown_s=30)
    assert gate.admit("ann", 1.0, set(), vec(0))  # say this one was a false alert on a stranger
    assert gate.admit("ann", 5.0, set(), vec(0.9)), "a different face: ann's real pass must still alert"
