"""The alert gate: one alert per (track, subject), and per camera one per subject within the cooldown."""

from __future__ import annotations

from openlfr.alert.rules import AlertGate


def test_one_alert_per_track_and_subject() -> None:
    gate = AlertGate(cooldown_s=30)
    assert gate.admit("ann", 1.0, set())
    assert not gate.admit("ann", 1.5, {"ann"})


def test_one_alert_per_subject_within_the_cooldown_then_again() -> None:
    gate = AlertGate(cooldown_s=30)
    assert gate.admit("ann", 1.0, set())
    assert not gate.admit("ann", 5.0, set()), "a broken track, or a cut to another shot of the same pass"
    assert gate.admit("bob", 5.0, set()), "other subjects are not held back"
    assert gate.admit("ann", 40.0, set()), "after the cooldown: a new pass"
