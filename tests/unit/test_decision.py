"""The review decision rule (DESIGN §2), as tables of cases a reviewer could read aloud.

Fixture: section C1 holds two gates (threshold 0); D1 two scored criteria 0..5, weight 1 each
(threshold 60, so percentages move in steps of 10); E1 two scored criteria 0..4 with weights 1 and 3
(threshold 70, denominator 16). Two reviews are required; section scores may differ by 12 points.
The baseline review passes both gates and scores D1 at 80% and E1 at 81% (13/16).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest

from registry.domain.decision import (
    CriterionRule,
    Decision,
    Outcome,
    Policy,
    Recommendation,
    Review,
    Score,
    SectionRule,
    computed_outcome,
    contradiction,
    decide,
    gates_pass,
    moderated_outcome,
    section_percentages,
)
from registry.errors import InvalidInput

SECTIONS = [
    SectionRule("C1", threshold_percent=0),
    SectionRule("D1", threshold_percent=60),
    SectionRule("E1", threshold_percent=70),
]
CRITERIA = [
    CriterionRule("C1.1", "C1", "gate", max_score=None, weight=None),
    CriterionRule("C1.2", "C1", "gate", max_score=None, weight=None),
    CriterionRule("D1.1", "D1", "scored", max_score=5, weight=1),
    CriterionRule("D1.2", "D1", "scored", max_score=5, weight=1),
    CriterionRule("E1.1", "E1", "scored", max_score=4, weight=1),
    CriterionRule("E1.2", "E1", "scored", max_score=4, weight=3),
]
POLICY = Policy(required_reviews=2, tolerance_points=12)

NA = "not applicable"
Value = bool | int | str  # a gate's pass/fail, a score, or NA
BASELINE: dict[str, Value] = {
    "C1.1": True,
    "C1.2": True,
    "D1.1": 4,
    "D1.2": 4,
    "E1.1": 4,
    "E1.2": 3,
}


def scores_of(overrides: Mapping[str, Value]) -> dict[str, Score]:
    """The baseline scores with some criteria changed."""
    result: dict[str, Score] = {}
    for code, value in {**BASELINE, **overrides}.items():
        if value == NA:
            result[code] = Score(code, gate_pass=None, score=None, not_applicable=True)
        elif isinstance(value, bool):
            result[code] = Score(code, gate_pass=value, score=None)
        else:
            assert isinstance(value, int)
            result[code] = Score(code, gate_pass=None, score=value)
    return result


def name_of(case: object) -> str:
    return str(getattr(case, "name", case))


# --- section percentages -------------------------------------------------------------------


@dataclass(frozen=True)
class PercentageCase:
    name: str
    scores: Mapping[str, Value]
    expected: Mapping[str, int | None]


PERCENTAGE_CASES = [
    PercentageCase(
        "baseline: gate-only C1 has no percentage, D1 8/10, E1 13/16 rounds to 81",
        {},
        {"C1": None, "D1": 80, "E1": 81},
    ),
    PercentageCase(
        "full marks on E1.1 alone count for a quarter of E1",
        {"E1.1": 4, "E1.2": 0},
        {"C1": None, "D1": 80, "E1": 25},
    ),
    PercentageCase(
        "full marks on E1.2 alone count for three quarters of E1",
        {"E1.1": 0, "E1.2": 4},
        {"C1": None, "D1": 80, "E1": 75},
    ),
    PercentageCase(
        "E1 at 2/16, which is 12.5%, rounds half up to 13",
        {"E1.1": 2, "E1.2": 0},
        {"C1": None, "D1": 80, "E1": 13},
    ),
    PercentageCase(
        "E1 at 11/16, which is 68.75%, rounds to 69",
        {"E1.1": 2, "E1.2": 3},
        {"C1": None, "D1": 80, "E1": 69},
    ),
    PercentageCase(
        "D1.2 marked not applicable is left out: D1 is D1.1 alone, 3/5",
        {"D1.1": 3, "D1.2": NA},
        {"C1": None, "D1": 60, "E1": 81},
    ),
    PercentageCase(
        "all of D1 marked not applicable: D1 has no percentage",
        {"D1.1": NA, "D1.2": NA},
        {"C1": None, "D1": None, "E1": 81},
    ),
    PercentageCase(
        "a gate marked not applicable changes no percentage",
        {"C1.1": NA},
        {"C1": None, "D1": 80, "E1": 81},
    ),
]


@pytest.mark.parametrize("case", PERCENTAGE_CASES, ids=name_of)
def test_section_percentages(case: PercentageCase) -> None:
    assert section_percentages(CRITERIA, SECTIONS, scores_of(case.scores)) == case.expected


@dataclass(frozen=True)
class RoundingCase:
    name: str
    score: int
    max_score: int
    expected: int


ROUNDING_CASES = [
    RoundingCase("2/3 is 66.67%, rounds to 67", 2, 3, 67),
    RoundingCase("1/3 is 33.33%, rounds to 33", 1, 3, 33),
    RoundingCase("1/8 is 12.5%, rounds half up to 13", 1, 8, 13),
    RoundingCase("139/200 is 69.5%, rounds half up to 70", 139, 200, 70),
    RoundingCase("138/200 is 69%, stays 69", 138, 200, 69),
    RoundingCase("1/200 is 0.5%, rounds half up to 1", 1, 200, 1),
    RoundingCase("0/7 is 0%", 0, 7, 0),
    RoundingCase("7/7 is 100%", 7, 7, 100),
]


@pytest.mark.parametrize("case", ROUNDING_CASES, ids=name_of)
def test_percentages_are_whole_and_round_half_up(case: RoundingCase) -> None:
    criteria = [CriterionRule("X.1", "X", "scored", max_score=case.max_score, weight=2)]
    sections = [SectionRule("X", threshold_percent=50)]
    scores = {"X.1": Score("X.1", gate_pass=None, score=case.score)}
    assert section_percentages(criteria, sections, scores) == {"X": case.expected}


# --- gates ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class GateCase:
    name: str
    scores: Mapping[str, Value]
    expected: Mapping[str, bool]


GATE_CASES = [
    GateCase("both gates pass", {}, {"C1.1": True, "C1.2": True}),
    GateCase("C1.2 fails", {"C1.2": False}, {"C1.1": True, "C1.2": False}),
    GateCase("C1.1 marked not applicable is left out", {"C1.1": NA}, {"C1.2": True}),
]


@pytest.mark.parametrize("case", GATE_CASES, ids=name_of)
def test_gates_pass(case: GateCase) -> None:
    assert gates_pass(CRITERIA, scores_of(case.scores)) == case.expected


# --- the computed rule ---------------------------------------------------------------------


@dataclass(frozen=True)
class RuleCase:
    name: str
    scores: Mapping[str, Value]
    recommendation: Recommendation
    expected: Outcome


RULE_CASES = [
    RuleCase("everything holds: approved", {}, "approve", Outcome.approved),
    RuleCase(
        "everything holds though the reviewer recommends reject: still approved",
        {},
        "reject",
        Outcome.approved,
    ),
    RuleCase(
        "D1 exactly at its 60% threshold passes",
        {"D1.1": 3, "D1.2": 3},
        "approve",
        Outcome.approved,
    ),
    RuleCase(
        "D1 one step below its threshold, 50%, with changes requested",
        {"D1.1": 3, "D1.2": 2},
        "changes_requested",
        Outcome.changes_requested,
    ),
    RuleCase(
        "E1 at 69% (11/16) is below its 70% threshold, with reject",
        {"E1.1": 2, "E1.2": 3},
        "reject",
        Outcome.rejected,
    ),
    RuleCase(
        "a failed gate with an approve recommendation is changes requested",
        {"C1.1": False},
        "approve",
        Outcome.changes_requested,
    ),
    RuleCase("a failed gate with reject is rejected", {"C1.2": False}, "reject", Outcome.rejected),
    RuleCase(
        "a gate marked not applicable does not fail", {"C1.2": NA}, "approve", Outcome.approved
    ),
    RuleCase(
        "D1 all not applicable: it has no percentage and its threshold is not applied",
        {"D1.1": NA, "D1.2": NA},
        "approve",
        Outcome.approved,
    ),
    RuleCase(
        "full marks everywhere: approved",
        {"D1.1": 5, "D1.2": 5, "E1.1": 4, "E1.2": 4},
        "approve",
        Outcome.approved,
    ),
]


@pytest.mark.parametrize("case", RULE_CASES, ids=name_of)
def test_computed_outcome(case: RuleCase) -> None:
    outcome = computed_outcome(CRITERIA, SECTIONS, scores_of(case.scores), case.recommendation)
    assert outcome is case.expected


@dataclass(frozen=True)
class ThresholdEdgeCase:
    name: str
    score: int
    expected: Outcome


THRESHOLD_EDGE_CASES = [
    ThresholdEdgeCase("140/200 is 70%, exactly the threshold: approved", 140, Outcome.approved),
    ThresholdEdgeCase("139/200 is 69.5%, rounds to 70: approved", 139, Outcome.approved),
    ThresholdEdgeCase(
        "138/200 is 69%, one below: changes requested", 138, Outcome.changes_requested
    ),
]


@pytest.mark.parametrize("case", THRESHOLD_EDGE_CASES, ids=name_of)
def test_threshold_edges(case: ThresholdEdgeCase) -> None:
    criteria = [CriterionRule("X.1", "X", "scored", max_score=200, weight=1)]
    sections = [SectionRule("X", threshold_percent=70)]
    scores = {"X.1": Score("X.1", gate_pass=None, score=case.score)}
    assert computed_outcome(criteria, sections, scores, "changes_requested") is case.expected


# --- two independent reviews ---------------------------------------------------------------


@dataclass(frozen=True)
class DecideCase:
    name: str
    alice: Mapping[str, Value]
    alice_recommends: Recommendation
    bob: Mapping[str, Value]
    bob_recommends: Recommendation
    outcome: Outcome
    reasons: tuple[str, ...]
    percentages: Mapping[str, int | None] = field(default_factory=dict)


ALL_HOLD = "every applicable gate passes and every section reaches its threshold"

DECIDE_CASES = [
    DecideCase(
        "both approve and everything holds: approved",
        {},
        "approve",
        {"D1.1": 3},
        "approve",
        Outcome.approved,
        (ALL_HOLD,),
        {"C1": None, "D1": 80, "E1": 81},
    ),
    DecideCase(
        "both reject and C1.2 failed for both: rejected",
        {"C1.2": False},
        "reject",
        {"C1.2": False},
        "reject",
        Outcome.rejected,
        ("gate C1.2 failed", "both reviewers recommend reject"),
        {"C1": None, "D1": 80, "E1": 81},
    ),
    DecideCase(
        "both request changes and D1 is at 50% for both: changes requested",
        {"D1.1": 3, "D1.2": 2},
        "changes_requested",
        {"D1.1": 2, "D1.2": 3},
        "changes_requested",
        Outcome.changes_requested,
        (
            "section D1 scored 50%, below its threshold of 60%",
            "both reviewers recommend changes_requested",
        ),
        {"C1": None, "D1": 50, "E1": 81},
    ),
    DecideCase(
        "both reject and D1 is at 50% for both: rejected",
        {"D1.1": 3, "D1.2": 2},
        "reject",
        {"D1.1": 2, "D1.2": 3},
        "reject",
        Outcome.rejected,
        (
            "section D1 scored 50%, below its threshold of 60%",
            "both reviewers recommend reject",
        ),
        {"C1": None, "D1": 50, "E1": 81},
    ),
    DecideCase(
        "both request changes and gate C1.1 failed for both: changes requested",
        {"C1.1": False},
        "changes_requested",
        {"C1.1": False, "E1.1": 3},
        "changes_requested",
        Outcome.changes_requested,
        ("gate C1.1 failed", "both reviewers recommend changes_requested"),
        {"C1": None, "D1": 80, "E1": 81},
    ),
    DecideCase(
        "both request changes while gates and thresholds hold: moderation, the rule would approve",
        {},
        "changes_requested",
        {"E1.1": 3},
        "changes_requested",
        Outcome.moderation,
        (f"both reviewers recommend changes_requested but {ALL_HOLD}, so the rule would approve",),
    ),
    DecideCase(
        "both reject while gates and thresholds hold: moderation, the rule would approve",
        {},
        "reject",
        {},
        "reject",
        Outcome.moderation,
        (f"both reviewers recommend reject but {ALL_HOLD}, so the rule would approve",),
    ),
    DecideCase(
        "both request changes with D1 exactly at its 60% threshold: moderation, it is reached",
        {"D1.1": 3, "D1.2": 3},
        "changes_requested",
        {"D1.1": 3, "D1.2": 3},
        "changes_requested",
        Outcome.moderation,
        (f"both reviewers recommend changes_requested but {ALL_HOLD}, so the rule would approve",),
    ),
    DecideCase(
        "both reject, D1 all not applicable and the rest holds: moderation, the rule would approve",
        {"D1.1": NA, "D1.2": NA},
        "reject",
        {"D1.1": NA, "D1.2": NA},
        "reject",
        Outcome.moderation,
        (f"both reviewers recommend reject but {ALL_HOLD}, so the rule would approve",),
    ),
    DecideCase(
        "both request changes with passing scores and disagree on gate C1.2: both reasons",
        {},
        "changes_requested",
        {"C1.2": NA},
        "changes_requested",
        Outcome.moderation,
        (
            "reviewers disagree on gate C1.2 (alice: pass, bob: not applicable)",
            f"both reviewers recommend changes_requested but {ALL_HOLD}, so the rule would approve",
        ),
    ),
    DecideCase(
        "both reject with passing scores and E1 beyond the tolerance: both reasons",
        {"E1.1": 4, "E1.2": 4},
        "reject",
        {"E1.1": 0, "E1.2": 4},
        "reject",
        Outcome.moderation,
        (
            "section E1 scores differ by 25 points, tolerance 12",
            f"both reviewers recommend reject but {ALL_HOLD}, so the rule would approve",
        ),
    ),
    DecideCase(
        "both reject, D1 passes for alice only, within tolerance: moderation on the threshold",
        {"D1.1": 3, "D1.2": 3},
        "reject",
        {"D1.1": 3, "D1.2": 2},
        "reject",
        Outcome.moderation,
        (
            "reviewers' scores put section D1 on both sides of its threshold of 60% "
            "(alice: 60%, bob: 50%)",
        ),
    ),
    DecideCase(
        "one approves, the other requests changes: moderation",
        {},
        "approve",
        {},
        "changes_requested",
        Outcome.moderation,
        (
            "reviewers disagree on the recommendation: "
            "alice recommends approve, bob recommends changes_requested",
        ),
    ),
    DecideCase(
        "both approve but disagree on gate C1.1: moderation",
        {},
        "approve",
        {"C1.1": False},
        "approve",
        Outcome.moderation,
        ("reviewers disagree on gate C1.1 (alice: pass, bob: fail)",),
    ),
    DecideCase(
        "both request changes, one marks gate C1.2 not applicable: moderation",
        {"D1.1": 0},
        "changes_requested",
        {"D1.1": 0, "C1.2": NA},
        "changes_requested",
        Outcome.moderation,
        ("reviewers disagree on gate C1.2 (alice: pass, bob: not applicable)",),
    ),
    DecideCase(
        "both mark gate C1.2 not applicable and approve: approved",
        {"C1.2": NA},
        "approve",
        {"C1.2": NA},
        "approve",
        Outcome.approved,
        (ALL_HOLD,),
    ),
    DecideCase(
        "E1 at 100% and 88% differ by exactly the tolerance of 12: approved",
        {"E1.1": 4, "E1.2": 4},
        "approve",
        {"E1.1": 2, "E1.2": 4},
        "approve",
        Outcome.approved,
        (ALL_HOLD,),
        {"C1": None, "D1": 80, "E1": 100},
    ),
    DecideCase(
        "E1 at 88% and 75% differ by 13, one over the tolerance: moderation",
        {"E1.1": 2, "E1.2": 4},
        "approve",
        {"E1.1": 0, "E1.2": 4},
        "approve",
        Outcome.moderation,
        ("section E1 scores differ by 13 points, tolerance 12",),
    ),
    DecideCase(
        "D1 scored by one reviewer and all not applicable for the other: moderation",
        {},
        "approve",
        {"D1.1": NA, "D1.2": NA},
        "approve",
        Outcome.moderation,
        (
            "section D1 is scored by some reviewers and not applicable for others "
            "(alice: 80%, bob: no score)",
        ),
    ),
    DecideCase(
        "both mark all of D1 not applicable: its threshold is not applied, approved",
        {"D1.1": NA, "D1.2": NA},
        "approve",
        {"D1.1": NA, "D1.2": NA},
        "approve",
        Outcome.approved,
        (ALL_HOLD,),
        {"C1": None, "D1": None, "E1": 81},
    ),
    DecideCase(
        "both mark D1.2 not applicable and give D1.1 3/5: D1 is 60%, approved",
        {"D1.1": 3, "D1.2": NA},
        "approve",
        {"D1.1": 3, "D1.2": NA},
        "approve",
        Outcome.approved,
        (ALL_HOLD,),
        {"C1": None, "D1": 60, "E1": 81},
    ),
    DecideCase(
        "both approve but gate C1.2 failed for both: moderation",
        {"C1.2": False},
        "approve",
        {"C1.2": False},
        "approve",
        Outcome.moderation,
        ("both reviewers recommend approve but gate C1.2 failed",),
    ),
    DecideCase(
        "both approve but D1 is below its threshold for both: moderation",
        {"D1.1": 3, "D1.2": 2},
        "approve",
        {"D1.1": 2, "D1.2": 3},
        "approve",
        Outcome.moderation,
        (
            "both reviewers recommend approve but section D1 is below its threshold of 60% "
            "(alice: 50%, bob: 50%)",
        ),
    ),
    DecideCase(
        "both approve, D1 within tolerance but below its threshold for bob: moderation",
        {"D1.1": 3, "D1.2": 3},
        "approve",
        {"D1.1": 3, "D1.2": 2},
        "approve",
        Outcome.moderation,
        (
            "both reviewers recommend approve but section D1 is below its threshold of 60% "
            "(bob: 50%)",
        ),
    ),
    DecideCase(
        "both request changes, D1 within tolerance on both sides of its threshold: moderation",
        {"D1.1": 3, "D1.2": 3},
        "changes_requested",
        {"D1.1": 3, "D1.2": 2},
        "changes_requested",
        Outcome.moderation,
        (
            "reviewers' scores put section D1 on both sides of its threshold of 60% "
            "(alice: 60%, bob: 50%)",
        ),
    ),
    DecideCase(
        "both request changes, E1 at 69% for both (11/16): changes requested",
        {"E1.1": 2, "E1.2": 3},
        "changes_requested",
        {"E1.1": 2, "E1.2": 3},
        "changes_requested",
        Outcome.changes_requested,
        (
            "section E1 scored 69%, below its threshold of 70%",
            "both reviewers recommend changes_requested",
        ),
        {"C1": None, "D1": 80, "E1": 69},
    ),
    DecideCase(
        "recommendations, a gate and a section all disagree: every reason is listed",
        {},
        "approve",
        {"C1.1": False, "D1.1": 1, "D1.2": 1},
        "reject",
        Outcome.moderation,
        (
            "reviewers disagree on the recommendation: alice recommends approve, "
            "bob recommends reject",
            "reviewers disagree on gate C1.1 (alice: pass, bob: fail)",
            "section D1 scores differ by 60 points, tolerance 12",
        ),
    ),
]


def reviews_for(case: DecideCase) -> list[Review]:
    return [
        Review("alice", case.alice_recommends, scores_of(case.alice)),
        Review("bob", case.bob_recommends, scores_of(case.bob)),
    ]


@pytest.mark.parametrize("case", DECIDE_CASES, ids=name_of)
def test_decide(case: DecideCase) -> None:
    decision = decide(CRITERIA, SECTIONS, POLICY, reviews_for(case))
    assert decision.outcome is case.outcome
    assert decision.reasons == list(case.reasons)
    if case.percentages:
        assert decision.section_percentages == case.percentages
    if decision.outcome is Outcome.moderation:
        assert decision.section_percentages == {}
        assert decision.failed_gates == []
        assert decision.sections_below_threshold == []


@pytest.mark.parametrize("case", DECIDE_CASES, ids=name_of)
def test_decide_does_not_depend_on_review_order(case: DecideCase) -> None:
    forwards = decide(CRITERIA, SECTIONS, POLICY, reviews_for(case))
    backwards = decide(CRITERIA, SECTIONS, POLICY, reviews_for(case)[::-1])
    assert backwards.outcome is forwards.outcome
    assert backwards.failed_gates == forwards.failed_gates
    assert backwards.sections_below_threshold == forwards.sections_below_threshold


def test_decide_reports_failed_gates_and_sections_below_threshold() -> None:
    reviews = [
        Review("alice", "reject", scores_of({"C1.1": False, "D1.1": 2, "D1.2": 3})),
        Review("bob", "reject", scores_of({"C1.1": False, "D1.1": 3, "D1.2": 2})),
    ]
    assert decide(CRITERIA, SECTIONS, POLICY, reviews) == Decision(
        outcome=Outcome.rejected,
        reasons=[
            "gate C1.1 failed",
            "section D1 scored 50%, below its threshold of 60%",
            "both reviewers recommend reject",
        ],
        section_percentages={"C1": None, "D1": 50, "E1": 81},
        failed_gates=["C1.1"],
        sections_below_threshold=["D1"],
    )


def test_more_reviews_than_required_are_all_compared() -> None:
    reviews = [
        Review("alice", "approve", scores_of({})),
        Review("bob", "approve", scores_of({})),
        Review("carol", "approve", scores_of({"C1.2": False})),
    ]
    decision = decide(CRITERIA, SECTIONS, POLICY, reviews)
    assert decision.outcome is Outcome.moderation
    assert decision.reasons == [
        "reviewers disagree on gate C1.2 (alice: pass, bob: pass, carol: fail)"
    ]


@dataclass(frozen=True)
class ThreeReviewsCase:
    name: str
    scores: tuple[Mapping[str, Value], Mapping[str, Value], Mapping[str, Value]]
    recommendation: Recommendation
    outcome: Outcome
    reasons: tuple[str, ...]


THREE_REVIEWS_CASES = [
    ThreeReviewsCase(
        "all three approve and everything holds: approved",
        ({}, {"D1.1": 3}, {"E1.1": 3}),
        "approve",
        Outcome.approved,
        (ALL_HOLD,),
    ),
    ThreeReviewsCase(
        "all three request changes while gates and thresholds hold: moderation",
        ({}, {"D1.1": 3}, {"E1.1": 3}),
        "changes_requested",
        Outcome.moderation,
        (f"all 3 reviewers recommend changes_requested but {ALL_HOLD}, so the rule would approve",),
    ),
    ThreeReviewsCase(
        "all three reject and gate C1.1 failed for all: rejected",
        ({"C1.1": False}, {"C1.1": False}, {"C1.1": False}),
        "reject",
        Outcome.rejected,
        ("gate C1.1 failed", "all 3 reviewers recommend reject"),
    ),
    ThreeReviewsCase(
        "all three approve, D1 within tolerance but below its threshold for carol: moderation",
        ({"D1.1": 3, "D1.2": 3}, {"D1.1": 3, "D1.2": 3}, {"D1.1": 3, "D1.2": 2}),
        "approve",
        Outcome.moderation,
        (
            "all 3 reviewers recommend approve but section D1 is below its threshold of 60% "
            "(carol: 50%)",
        ),
    ),
]


@pytest.mark.parametrize("case", THREE_REVIEWS_CASES, ids=name_of)
def test_decide_with_three_reviews(case: ThreeReviewsCase) -> None:
    reviews = [
        Review(who, case.recommendation, scores_of(scores))
        for who, scores in zip(("alice", "bob", "carol"), case.scores, strict=True)
    ]
    decision = decide(CRITERIA, SECTIONS, POLICY, reviews)
    assert decision.outcome is case.outcome
    assert decision.reasons == list(case.reasons)
    assert decide(CRITERIA, SECTIONS, POLICY, reviews[::-1]).outcome is case.outcome


# --- display names in moderation reasons ---------------------------------------------------

ALICE_ID = str(uuid.UUID(int=1))
BOB_ID = str(uuid.UUID(int=2))


@pytest.mark.parametrize("case", DECIDE_CASES, ids=name_of)
def test_reasons_name_reviewers_by_display_name_never_by_id(case: DecideCase) -> None:
    named = [
        Review(ALICE_ID, case.alice_recommends, scores_of(case.alice), name="alice"),
        Review(BOB_ID, case.bob_recommends, scores_of(case.bob), name="bob"),
    ]
    decision = decide(CRITERIA, SECTIONS, POLICY, named)
    assert decision == decide(CRITERIA, SECTIONS, POLICY, reviews_for(case))
    assert not [r for r in decision.reasons if ALICE_ID in r or BOB_ID in r]


@dataclass(frozen=True)
class NameCase:
    name: str
    alice: Mapping[str, Value]
    alice_recommends: Recommendation
    bob: Mapping[str, Value]
    bob_recommends: Recommendation
    reasons: tuple[str, ...]


NAME_CASES = [
    NameCase(
        "recommendations differ",
        {},
        "approve",
        {},
        "reject",
        (
            "reviewers disagree on the recommendation: Alice Adams recommends approve, "
            "Bob Brown recommends reject",
        ),
    ),
    NameCase(
        "a gate differs",
        {},
        "approve",
        {"C1.1": False},
        "approve",
        ("reviewers disagree on gate C1.1 (Alice Adams: pass, Bob Brown: fail)",),
    ),
    NameCase(
        "a section is scored by one and not applicable for the other",
        {},
        "approve",
        {"D1.1": NA, "D1.2": NA},
        "approve",
        (
            "section D1 is scored by some reviewers and not applicable for others "
            "(Alice Adams: 80%, Bob Brown: no score)",
        ),
    ),
    NameCase(
        "both approve but a section is below its threshold for one",
        {"D1.1": 3, "D1.2": 3},
        "approve",
        {"D1.1": 3, "D1.2": 2},
        "approve",
        (
            "both reviewers recommend approve but section D1 is below its threshold of 60% "
            "(Bob Brown: 50%)",
        ),
    ),
    NameCase(
        "both request changes with a section on both sides of its threshold",
        {"D1.1": 3, "D1.2": 3},
        "changes_requested",
        {"D1.1": 3, "D1.2": 2},
        "changes_requested",
        (
            "reviewers' scores put section D1 on both sides of its threshold of 60% "
            "(Alice Adams: 60%, Bob Brown: 50%)",
        ),
    ),
]


@pytest.mark.parametrize("case", NAME_CASES, ids=name_of)
def test_moderation_reasons_use_display_names(case: NameCase) -> None:
    reviews = [
        Review(ALICE_ID, case.alice_recommends, scores_of(case.alice), name="Alice Adams"),
        Review(BOB_ID, case.bob_recommends, scores_of(case.bob), name="Bob Brown"),
    ]
    decision = decide(CRITERIA, SECTIONS, POLICY, reviews)
    assert decision.outcome is Outcome.moderation
    assert decision.reasons == list(case.reasons)


def test_an_empty_display_name_falls_back_to_the_reviewer_id() -> None:
    reviews = [
        Review(ALICE_ID, "approve", scores_of({}), name="Alice Adams"),
        Review(BOB_ID, "reject", scores_of({}), name="  "),
    ]
    assert decide(CRITERIA, SECTIONS, POLICY, reviews).reasons == [
        f"reviewers disagree on the recommendation: Alice Adams recommends approve, "
        f"{BOB_ID} recommends reject"
    ]


def test_distinct_reviewers_are_told_apart_by_id_not_by_name() -> None:
    same_name = [
        Review(ALICE_ID, "approve", scores_of({}), name="A. Reviewer"),
        Review(BOB_ID, "approve", scores_of({}), name="A. Reviewer"),
    ]
    assert decide(CRITERIA, SECTIONS, POLICY, same_name).outcome is Outcome.approved
    same_id = [
        Review(ALICE_ID, "approve", scores_of({}), name="Alice Adams"),
        Review(ALICE_ID, "approve", scores_of({}), name="Bob Brown"),
    ]
    with pytest.raises(InvalidInput, match="expected reviews from distinct reviewers"):
        decide(CRITERIA, SECTIONS, POLICY, same_id)


# --- moderation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ModerationCase:
    name: str
    final_scores: Mapping[str, Value]
    recommendation: Recommendation
    outcome: Outcome
    reasons: tuple[str, ...]


MODERATION_CASES = [
    ModerationCase(
        "lead's final scores hold and the lead approves: approved",
        {},
        "approve",
        Outcome.approved,
        (ALL_HOLD,),
    ),
    ModerationCase(
        "lead requests changes but the final scores hold: approved, never moderation again",
        {},
        "changes_requested",
        Outcome.approved,
        (
            ALL_HOLD,
            "the lead reviewer recommends changes_requested, but the final scores decide: "
            "the rule approves",
        ),
    ),
    ModerationCase(
        "lead fails gate C1.1 and rejects: rejected",
        {"C1.1": False},
        "reject",
        Outcome.rejected,
        ("gate C1.1 failed", "the lead reviewer recommends reject"),
    ),
    ModerationCase(
        "lead puts E1 at 69% and requests changes: changes requested",
        {"E1.1": 2, "E1.2": 3},
        "changes_requested",
        Outcome.changes_requested,
        (
            "section E1 scored 69%, below its threshold of 70%",
            "the lead reviewer recommends changes_requested",
        ),
    ),
    ModerationCase(
        "lead approves but a gate failed: changes requested, never moderation again",
        {"C1.2": False},
        "approve",
        Outcome.changes_requested,
        ("gate C1.2 failed", "the lead reviewer recommends approve"),
    ),
]


@pytest.mark.parametrize("case", MODERATION_CASES, ids=name_of)
def test_moderated_outcome(case: ModerationCase) -> None:
    decision = moderated_outcome(
        CRITERIA, SECTIONS, scores_of(case.final_scores), case.recommendation
    )
    assert decision.outcome is case.outcome
    assert decision.reasons == list(case.reasons)
    assert decision.section_percentages == section_percentages(
        CRITERIA, SECTIONS, scores_of(case.final_scores)
    )


@pytest.mark.parametrize("case", MODERATION_CASES, ids=name_of)
def test_moderated_outcome_is_never_moderation(case: ModerationCase) -> None:
    decision = moderated_outcome(
        CRITERIA, SECTIONS, scores_of(case.final_scores), case.recommendation
    )
    assert decision.outcome is not Outcome.moderation


@dataclass(frozen=True)
class ContradictionCase:
    name: str
    final_scores: Mapping[str, Value]
    recommendation: Recommendation
    expected: str | None


RULE_APPROVES = (
    "your final scores pass every applicable gate and reach every section threshold, "
    "so the rule approves; fail the gates or lower the scores of what must change, "
    "or recommend approve"
)
RULE_DOES_NOT_APPROVE = "your final scores do not let the rule approve: "
WHAT_TO_DO = (
    ". Pass those gates and raise those sections to their thresholds if the dossier meets them, "
    "or recommend changes_requested or reject"
)

CONTRADICTION_CASES = [
    ContradictionCase(
        "lead approves and the final scores hold: no contradiction", {}, "approve", None
    ),
    ContradictionCase(
        "lead approves with a gate and all of D1 not applicable, the rest holds: none",
        {"C1.1": NA, "D1.1": NA, "D1.2": NA},
        "approve",
        None,
    ),
    ContradictionCase(
        "lead requests changes and gate C1.2 failed: no contradiction",
        {"C1.2": False},
        "changes_requested",
        None,
    ),
    ContradictionCase(
        "lead rejects and E1 is at 69%: no contradiction",
        {"E1.1": 2, "E1.2": 3},
        "reject",
        None,
    ),
    ContradictionCase(
        "lead requests changes but the final scores hold: the rule would approve",
        {},
        "changes_requested",
        f"you recommend changes_requested, but {RULE_APPROVES}",
    ),
    ContradictionCase(
        "lead rejects but D1 is exactly at its threshold and the rest holds: the rule approves",
        {"D1.1": 3, "D1.2": 3},
        "reject",
        f"you recommend reject, but {RULE_APPROVES}",
    ),
    ContradictionCase(
        "lead approves but gate C1.2 failed: named",
        {"C1.2": False},
        "approve",
        f"you recommend approve, but {RULE_DOES_NOT_APPROVE}gate C1.2 failed{WHAT_TO_DO}",
    ),
    ContradictionCase(
        "lead approves but D1 is at 50%: named with its threshold",
        {"D1.1": 3, "D1.2": 2},
        "approve",
        f"you recommend approve, but {RULE_DOES_NOT_APPROVE}"
        f"section D1 scored 50%, below its threshold of 60%{WHAT_TO_DO}",
    ),
    ContradictionCase(
        "lead approves but gate C1.1 failed and E1 is at 69%: both named",
        {"C1.1": False, "E1.1": 2, "E1.2": 3},
        "approve",
        f"you recommend approve, but {RULE_DOES_NOT_APPROVE}gate C1.1 failed; "
        f"section E1 scored 69%, below its threshold of 70%{WHAT_TO_DO}",
    ),
]


@pytest.mark.parametrize("case", CONTRADICTION_CASES, ids=name_of)
def test_contradiction(case: ContradictionCase) -> None:
    found = contradiction(CRITERIA, SECTIONS, scores_of(case.final_scores), case.recommendation)
    assert found == case.expected


@pytest.mark.parametrize("case", CONTRADICTION_CASES, ids=name_of)
def test_no_contradiction_means_the_rule_agrees_with_the_lead(case: ContradictionCase) -> None:
    decision = moderated_outcome(
        CRITERIA, SECTIONS, scores_of(case.final_scores), case.recommendation
    )
    agrees = (decision.outcome is Outcome.approved) == (case.recommendation == "approve")
    assert agrees == (case.expected is None)


def test_contradiction_checks_the_lead_reviewers_scores() -> None:
    with pytest.raises(InvalidInput) as raised:
        contradiction(CRITERIA, SECTIONS, scores_of({"D1.1": 6}), "approve")
    assert raised.value.detail == "expected the lead reviewer's criterion D1.1 score 0..5, got 6"


# --- caller errors -------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorCase:
    name: str
    reviews: tuple[Review, ...]
    message: str


ERROR_CASES = [
    ErrorCase(
        "only one review when two are required",
        (Review("alice", "approve", scores_of({})),),
        "expected 2 reviews before deciding, got 1",
    ),
    ErrorCase("no reviews at all", (), "expected 2 reviews before deciding, got 0"),
    ErrorCase(
        "the same reviewer twice",
        (Review("alice", "approve", scores_of({})), Review("alice", "reject", scores_of({}))),
        "expected reviews from distinct reviewers, got two from alice",
    ),
    ErrorCase(
        "a review that leaves criterion E1.2 unscored",
        (
            Review("alice", "approve", scores_of({})),
            Review(
                "bob",
                "approve",
                {k: v for k, v in scores_of({}).items() if k != "E1.2"},
            ),
        ),
        "expected bob's scores to cover criterion E1.2, found none",
    ),
    ErrorCase(
        "a score above the criterion's maximum",
        (
            Review("alice", "approve", scores_of({"D1.1": 6})),
            Review("bob", "approve", scores_of({})),
        ),
        "expected alice's criterion D1.1 score 0..5, got 6",
    ),
    ErrorCase(
        "a gate given a score instead of pass or fail",
        (
            Review("alice", "approve", scores_of({"C1.1": 1})),
            Review("bob", "approve", scores_of({})),
        ),
        "expected alice's gate C1.1 to be pass or fail, with no score",
    ),
]


@pytest.mark.parametrize("case", ERROR_CASES, ids=name_of)
def test_decide_rejects_caller_errors(case: ErrorCase) -> None:
    with pytest.raises(InvalidInput) as raised:
        decide(CRITERIA, SECTIONS, POLICY, list(case.reviews))
    assert raised.value.detail == case.message


def test_criterion_in_an_unknown_section_is_an_error() -> None:
    criteria = [*CRITERIA, CriterionRule("F1.1", "F1", "scored", max_score=4, weight=1)]
    with pytest.raises(InvalidInput, match="names section F1, which is not in the set"):
        section_percentages(criteria, SECTIONS, scores_of({"F1.1": 2}))
