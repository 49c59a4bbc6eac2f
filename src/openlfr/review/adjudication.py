"""Adjudication as a series of events: the rules, and the state they add up to (pure functions).

An alert is adjudicated in three stages, in order::

    operator     match | no_match | cannot_tell             (is the person on camera the person listed?)
    engagement   engaged_confirmed_true | engaged_confirmed_false | not_engaged   (only after "match")
    outcome      arrest | other_action | none                (only after an engagement decision)

Nothing is edited in place: each decision is an event, and a correction is a new event that
``supersedes`` the one it corrects and says why in its note. An alert's current state is, per stage,
its latest event that no other supersedes; a stage counts only while the stage before it allows it
(an operator's "match" corrected to "no_match" voids the engagement and outcome that followed it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from openlfr.errors import ReviewError
from openlfr.text import same_name


class Stage(StrEnum):
    OPERATOR = "operator"
    ENGAGEMENT = "engagement"
    OUTCOME = "outcome"


class OperatorDecision(StrEnum):
    MATCH = "match"
    NO_MATCH = "no_match"
    CANNOT_TELL = "cannot_tell"


class EngagementDecision(StrEnum):
    ENGAGED_CONFIRMED_TRUE = "engaged_confirmed_true"
    ENGAGED_CONFIRMED_FALSE = "engaged_confirmed_false"
    NOT_ENGAGED = "not_engaged"


class Outcome(StrEnum):
    ARREST = "arrest"
    OTHER_ACTION = "other_action"
    NONE = "none"


_SEPARATE: dict[Stage, Stage] = {Stage.OPERATOR: Stage.ENGAGEMENT, Stage.ENGAGEMENT: Stage.OPERATOR}
"""The two stages one person may not both decide (separation of duties)."""

DECISIONS: dict[Stage, tuple[str, ...]] = {
    Stage.OPERATOR: tuple(OperatorDecision),
    Stage.ENGAGEMENT: tuple(EngagementDecision),
    Stage.OUTCOME: tuple(Outcome),
}


class AlertStatus(StrEnum):
    """Where an alert's adjudication stands."""

    UNADJUDICATED = "unadjudicated"
    AWAITING_ENGAGEMENT = "awaiting_engagement"
    AWAITING_OUTCOME = "awaiting_outcome"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class AdjudicationEvent:
    id: int
    alert_id: str
    stage: Stage
    decision: str
    actor: str
    at: datetime
    note: str
    supersedes: int | None


@dataclass(frozen=True, slots=True)
class AlertState:
    """The current decision of each stage (None: not decided, or voided by the stage before)."""

    operator: OperatorDecision | None = None
    engagement: EngagementDecision | None = None
    outcome: Outcome | None = None

    @property
    def status(self) -> AlertStatus:
        if self.operator is None:
            return AlertStatus.UNADJUDICATED
        if self.operator is not OperatorDecision.MATCH:
            return AlertStatus.DONE
        if self.engagement is None:
            return AlertStatus.AWAITING_ENGAGEMENT
        return AlertStatus.AWAITING_OUTCOME if self.outcome is None else AlertStatus.DONE

    @property
    def is_true_alert(self) -> bool:
        """Engaged, and confirmed to be the person listed."""
        return self.engagement is EngagementDecision.ENGAGED_CONFIRMED_TRUE

    @property
    def is_false_alert(self) -> bool:
        """Found not to be the person listed: by the operator (no match), or on engagement."""
        return (
            self.operator is OperatorDecision.NO_MATCH or self.engagement is EngagementDecision.ENGAGED_CONFIRMED_FALSE
        )

    @property
    def is_engagement(self) -> bool:
        return self.engagement in (
            EngagementDecision.ENGAGED_CONFIRMED_TRUE,
            EngagementDecision.ENGAGED_CONFIRMED_FALSE,
        )


def current(events: Sequence[AdjudicationEvent]) -> dict[Stage, AdjudicationEvent]:
    """Per stage, the latest event that no other event supersedes."""
    superseded = {e.supersedes for e in events if e.supersedes is not None}
    found: dict[Stage, AdjudicationEvent] = {}
    for event in sorted(events, key=lambda e: e.id):
        if event.id not in superseded:
            found[event.stage] = event
    return found


def derive(events: Sequence[AdjudicationEvent]) -> AlertState:
    """The alert's state from its events, each stage gated by the one before."""
    now = current(events)
    op = now.get(Stage.OPERATOR)
    operator = OperatorDecision(op.decision) if op else None
    eng = now.get(Stage.ENGAGEMENT)
    engagement = EngagementDecision(eng.decision) if eng and operator is OperatorDecision.MATCH else None
    out = now.get(Stage.OUTCOME)
    outcome = Outcome(out.decision) if out and engagement is not None else None
    return AlertState(operator, engagement, outcome)


def check(
    alert_id: str,
    events: Sequence[AdjudicationEvent],
    stage: Stage,
    decision: str,
    supersedes: int | None,
    note: str,
    *,
    actor: str = "",
    separate_stages: bool = False,
) -> None:
    """Raise ``ReviewError`` (saying what is needed) unless this event may be recorded now; with
    ``separate_stages``, the operator and engagement decisions must come from two people."""
    if decision not in DECISIONS[stage]:
        raise ReviewError(f"'{decision}' is not a {stage.value} decision; one of: {', '.join(DECISIONS[stage])}")
    by_id = {e.id: e for e in events}
    if supersedes is not None:
        target = by_id.get(supersedes)
        if target is None:
            raise ReviewError(f"event {supersedes} is not an adjudication of alert {alert_id}")
        if target.stage is not stage:
            raise ReviewError(f"event {supersedes} is a {target.stage.value} decision, not a {stage.value} one")
        later = [e.id for e in events if e.supersedes == supersedes]
        if later:
            raise ReviewError(f"event {supersedes} was already corrected by event {later[0]}; correct that one")
        if not note.strip():
            raise ReviewError("a correction needs a note saying why the earlier decision was wrong")
    else:
        existing = current(events).get(stage)
        if existing is not None:
            raise ReviewError(
                f"alert {alert_id} already has a {stage.value} decision (event {existing.id}: {existing.decision}); "
                f"to correct it, record a new decision that supersedes event {existing.id}, with a note"
            )
    state = derive(events)
    if stage is Stage.ENGAGEMENT and state.operator is not OperatorDecision.MATCH:
        was = state.operator.value if state.operator else "not yet given"
        raise ReviewError(
            f"alert {alert_id}: the engagement decision needs the operator's 'match' first (the operator's is {was})"
        )
    if separate_stages and stage in _SEPARATE:
        other = _SEPARATE[stage]
        theirs = current(events).get(other)
        if theirs is not None and same_name(theirs.actor, actor):
            raise ReviewError(
                f"alert {alert_id}: {actor} recorded its {other.value} decision (event {theirs.id}); the "
                f"{stage.value} decision must be another officer's (separation of duties)"
            )
    if stage is Stage.OUTCOME and state.engagement is None:
        raise ReviewError(f"alert {alert_id}: the outcome needs the engagement officer's decision first")
