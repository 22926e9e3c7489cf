"""The review decision rule (DESIGN §2): computed from the scores, never typed.

Rules enforced here:
- Only criteria that apply to the dossier are passed in; a review must score every one of them
  (a gate with pass/fail, a scored criterion with an integer 0..max) or mark it not applicable.
  Scores for criteria that were not passed in are ignored. Criteria and sections are validated:
  unique codes, every criterion in a known section, scored criteria with max ≥ 1 and weight ≥ 1,
  thresholds 0..100.
- A section's percentage is ``Σ(weight × score) / Σ(weight × max)`` over its scored criteria that
  are not marked not applicable, as a whole percentage rounded half up, in integer arithmetic only:
  ``(200 × num + den) // (2 × den)`` (so 2/3 → 67, 1/8 = 12.5 → 13). A section with no such
  criteria has no percentage (None) and its threshold is not applied.
- A gate marked not applicable is left out; every other gate must pass.
- The rule (``computed_outcome``): **approved** iff every applicable gate passes and every section
  with a percentage reaches its threshold (percentage ≥ threshold); otherwise **rejected** if the
  recommendation is ``reject``, else **changes_requested**.
- ``decide`` needs at least ``required_reviews`` reviews, each from a distinct ``reviewer``
  (otherwise ``InvalidInput``, a caller bug). It sends the revision to **moderation** when:
  the recommendations differ; any gate result differs (pass, fail, or not applicable); any section
  percentage differs by more than ``tolerance_points`` (None against a number counts as differing);
  all reviewers recommend ``approve`` while the rule does not approve under some review's scores
  (a gate fails or a section is below its threshold); all reviewers recommend
  ``changes_requested``, or all recommend ``reject``, while the rule approves under every review's
  scores; or, beyond the cases DESIGN lists, the reviews' scores (within tolerance) fall on both
  sides of a section's threshold, so that the outcome would depend on whose scores were used.
  Moderation reasons name each reviewer by ``Review.name``, or by ``reviewer`` when it is blank.
- Otherwise the outcome is the rule applied to the agreed recommendation, and it agrees with that
  recommendation: **approved** for ``approve``, else **changes_requested** or **rejected**. Since
  no case above holds, every review's scores give the same outcome, failed gates and sections
  below threshold, and the first review's section percentages are reported.
- ``moderated_outcome`` applies the rule to the lead reviewer's final scores and recommendation;
  it never returns moderation. ``contradiction`` explains, for the lead to act on, when that
  recommendation contradicts what the rule computes from the same final scores (``approve``
  while the rule does not approve, or ``changes_requested``/``reject`` while it approves), and
  returns None otherwise; the caller refuses such a moderation decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from registry.errors import InvalidInput

Recommendation = Literal["approve", "changes_requested", "reject"]
RECOMMENDATIONS: tuple[Recommendation, ...] = ("approve", "changes_requested", "reject")
_ALL_HOLD = "every applicable gate passes and every section reaches its threshold"


class Outcome(StrEnum):
    """What a set of reviews decides for a dossier revision."""

    approved = "approved"
    changes_requested = "changes_requested"
    rejected = "rejected"
    moderation = "moderation"


@dataclass(frozen=True, slots=True)
class CriterionRule:
    """One criterion that applies to the dossier: a gate, or scored 0..max_score with a weight."""

    code: str
    section: str
    mode: Literal["gate", "scored"]
    max_score: int | None
    weight: int | None


@dataclass(frozen=True, slots=True)
class SectionRule:
    """A section and the whole percentage its scored criteria must reach."""

    code: str
    threshold_percent: int


@dataclass(frozen=True, slots=True)
class Policy:
    """How many independent reviews a revision needs and how far section scores may differ."""

    required_reviews: int
    tolerance_points: int


@dataclass(frozen=True, slots=True)
class Score:
    """One reviewer's result for one criterion; ``not_applicable`` leaves it out entirely."""

    code: str
    gate_pass: bool | None
    score: int | None
    not_applicable: bool = False


@dataclass(frozen=True, slots=True)
class Review:
    """One reviewer's submitted scores (keyed by criterion code) and recommendation.

    ``reviewer`` identifies the reviewer (reviews must come from distinct ones); ``name`` is only
    for the words of moderation reasons, which fall back to ``reviewer`` when it is blank.
    """

    reviewer: str
    recommendation: Recommendation
    scores: Mapping[str, Score]
    name: str = ""


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome with its plain-language reasons; the figures are empty under moderation."""

    outcome: Outcome
    reasons: list[str]
    section_percentages: dict[str, int | None]
    failed_gates: list[str]
    sections_below_threshold: list[str]


@dataclass(frozen=True, slots=True)
class _Assessment:
    """What the rule finds in one set of scores."""

    percentages: dict[str, int | None]
    gate_results: dict[str, str]  # "pass" | "fail" | "not applicable", every gate passed in
    failed_gates: list[str]
    sections_below_threshold: list[str]

    @property
    def holds(self) -> bool:
        return not self.failed_gates and not self.sections_below_threshold


def section_percentages(
    criteria: Sequence[CriterionRule], sections: Sequence[SectionRule], scores: Mapping[str, Score]
) -> dict[str, int | None]:
    """Each section's whole percentage (rounded half up), or None when it has nothing scored."""
    _check_rules(criteria, sections)
    _check_scores(criteria, scores, whose="")
    return _percentages(criteria, sections, scores)


def gates_pass(criteria: Sequence[CriterionRule], scores: Mapping[str, Score]) -> dict[str, bool]:
    """Pass/fail per gate criterion, leaving out gates marked not applicable."""
    _check_criteria(criteria, known_sections=None)
    _check_scores(criteria, scores, whose="")
    return {
        rule.code: scores[rule.code].gate_pass is True
        for rule in criteria
        if rule.mode == "gate" and not scores[rule.code].not_applicable
    }


def computed_outcome(
    criteria: Sequence[CriterionRule],
    sections: Sequence[SectionRule],
    scores: Mapping[str, Score],
    recommendation: Recommendation,
) -> Outcome:
    """Approved iff all applicable gates pass and all thresholds are met; else by recommendation."""
    _check_rules(criteria, sections)
    _check_recommendation(recommendation, whose="the")
    _check_scores(criteria, scores, whose="")
    return _rule_outcome(_assess(criteria, sections, scores), recommendation)


def decide(
    criteria: Sequence[CriterionRule],
    sections: Sequence[SectionRule],
    policy: Policy,
    reviews: Sequence[Review],
) -> Decision:
    """Decide from independent reviews, or send the revision to moderation (see module rules)."""
    _check_rules(criteria, sections)
    _check_policy(policy)
    if len(reviews) < policy.required_reviews:
        raise InvalidInput(
            f"expected {policy.required_reviews} reviews before deciding, got {len(reviews)}",
            field="reviews",
        )
    seen: set[str] = set()
    for review in reviews:
        if review.reviewer in seen:
            raise InvalidInput(
                f"expected reviews from distinct reviewers, got two from {review.reviewer}",
                field="reviews",
            )
        seen.add(review.reviewer)
        _check_recommendation(review.recommendation, whose=f"{review.reviewer}'s")
        _check_scores(criteria, review.scores, whose=f"{review.reviewer}'s ")

    assessments = [_assess(criteria, sections, review.scores) for review in reviews]
    reasons: list[str] = []

    recommendations = {review.recommendation for review in reviews}
    if len(recommendations) > 1:
        said = ", ".join(f"{_label(r)} recommends {r.recommendation}" for r in reviews)
        reasons.append(f"reviewers disagree on the recommendation: {said}")

    disputed_gates: set[str] = set()
    for rule in criteria:
        if rule.mode != "gate":
            continue
        results = [a.gate_results[rule.code] for a in assessments]
        if len(set(results)) > 1:
            disputed_gates.add(rule.code)
            said = ", ".join(
                f"{_label(r)}: {result}" for r, result in zip(reviews, results, strict=True)
            )
            reasons.append(f"reviewers disagree on gate {rule.code} ({said})")

    disputed_sections: set[str] = set()
    for section in sections:
        values = [a.percentages[section.code] for a in assessments]
        numbers = [v for v in values if v is not None]
        if len(numbers) not in (0, len(values)):
            disputed_sections.add(section.code)
            said = ", ".join(
                f"{_label(r)}: {'no score' if v is None else f'{v}%'}"
                for r, v in zip(reviews, values, strict=True)
            )
            reasons.append(
                f"section {section.code} is scored by some reviewers and not applicable "
                f"for others ({said})"
            )
        elif numbers and max(numbers) - min(numbers) > policy.tolerance_points:
            disputed_sections.add(section.code)
            reasons.append(
                f"section {section.code} scores differ by {max(numbers) - min(numbers)} points, "
                f"tolerance {policy.tolerance_points}"
            )

    everyone = _everyone(len(reviews))
    unanimous: Recommendation | None = (
        reviews[0].recommendation if len(recommendations) == 1 else None
    )
    if unanimous == "approve":
        # Undisputed gates have the same result in every review.
        reasons.extend(
            f"{everyone} recommend approve but gate {code} failed"
            for code in assessments[0].failed_gates
            if code not in disputed_gates
        )
    for section in sections:
        if section.code in disputed_sections:
            continue
        below = [
            (_label(review), assessment.percentages[section.code])
            for review, assessment in zip(reviews, assessments, strict=True)
            if section.code in assessment.sections_below_threshold
        ]
        if not below:
            continue
        if unanimous == "approve":
            said = ", ".join(f"{who}: {pct}%" for who, pct in below)
            reasons.append(
                f"{everyone} recommend approve but section {section.code} is below its "
                f"threshold of {section.threshold_percent}% ({said})"
            )
        elif len(below) < len(reviews):
            said = ", ".join(
                f"{_label(r)}: {a.percentages[section.code]}%"
                for r, a in zip(reviews, assessments, strict=True)
            )
            reasons.append(
                f"reviewers' scores put section {section.code} on both sides of its threshold "
                f"of {section.threshold_percent}% ({said})"
            )
    if unanimous is not None and unanimous != "approve" and all(a.holds for a in assessments):
        reasons.append(
            f"{everyone} recommend {unanimous} but {_ALL_HOLD}, so the rule would approve"
        )

    if reasons or unanimous is None:
        return Decision(
            outcome=Outcome.moderation,
            reasons=reasons,
            section_percentages={},
            failed_gates=[],
            sections_below_threshold=[],
        )
    # No reason above holds, so the rule agrees with the unanimous recommendation.
    return _decision(sections, assessments[0], unanimous, who=everyone)


def moderated_outcome(
    criteria: Sequence[CriterionRule],
    sections: Sequence[SectionRule],
    final_scores: Mapping[str, Score],
    recommendation: Recommendation,
) -> Decision:
    """The lead reviewer's final scores and recommendation decide by the rule; never moderation.

    Callers refuse a recommendation that ``contradiction`` objects to before deciding; given one
    anyway, the rule still decides from the final scores.
    """
    _check_rules(criteria, sections)
    _check_recommendation(recommendation, whose="the lead reviewer's")
    _check_scores(criteria, final_scores, whose="the lead reviewer's ")
    assessment = _assess(criteria, sections, final_scores)
    return _decision(sections, assessment, recommendation, who="the lead reviewer")


def contradiction(
    criteria: Sequence[CriterionRule],
    sections: Sequence[SectionRule],
    final_scores: Mapping[str, Score],
    recommendation: Recommendation,
) -> str | None:
    """What the lead reviewer must change when the recommendation contradicts the final scores.

    None when the rule, applied to the final scores, agrees with the recommendation: it approves
    for ``approve`` and does not approve for ``changes_requested`` or ``reject``.
    """
    _check_rules(criteria, sections)
    _check_recommendation(recommendation, whose="the lead reviewer's")
    _check_scores(criteria, final_scores, whose="the lead reviewer's ")
    assessment = _assess(criteria, sections, final_scores)
    if recommendation == "approve":
        if assessment.holds:
            return None
        return (
            "you recommend approve, but your final scores do not let the rule approve: "
            f"{'; '.join(_shortfalls(sections, assessment))}. Pass those gates and raise those "
            "sections to their thresholds if the dossier meets them, "
            "or recommend changes_requested or reject"
        )
    if not assessment.holds:
        return None
    return (
        f"you recommend {recommendation}, but your final scores pass every applicable gate and "
        "reach every section threshold, so the rule approves; fail the gates or lower the scores "
        "of what must change, or recommend approve"
    )


def _decision(
    sections: Sequence[SectionRule],
    assessment: _Assessment,
    recommendation: Recommendation,
    *,
    who: str,
) -> Decision:
    outcome = _rule_outcome(assessment, recommendation)
    verb = "recommends" if who == "the lead reviewer" else "recommend"
    reasons: list[str] = []
    if outcome is Outcome.approved:
        reasons.append(_ALL_HOLD)
        if recommendation != "approve":
            # Only moderated_outcome gets here: decide sends this case to moderation.
            reasons.append(
                f"{who} {verb} {recommendation}, but the final scores decide: the rule approves"
            )
    else:
        reasons.extend(_shortfalls(sections, assessment))
        reasons.append(f"{who} {verb} {recommendation}")
    return Decision(
        outcome=outcome,
        reasons=reasons,
        section_percentages=dict(assessment.percentages),
        failed_gates=list(assessment.failed_gates),
        sections_below_threshold=list(assessment.sections_below_threshold),
    )


def _shortfalls(sections: Sequence[SectionRule], assessment: _Assessment) -> list[str]:
    """Why the rule does not approve: each failed gate, then each section below threshold."""
    thresholds = {s.code: s.threshold_percent for s in sections}
    return [f"gate {code} failed" for code in assessment.failed_gates] + [
        f"section {code} scored {assessment.percentages[code]}%, "
        f"below its threshold of {thresholds[code]}%"
        for code in assessment.sections_below_threshold
    ]


def _rule_outcome(assessment: _Assessment, recommendation: Recommendation) -> Outcome:
    if assessment.holds:
        return Outcome.approved
    if recommendation == "reject":
        return Outcome.rejected
    return Outcome.changes_requested


def _assess(
    criteria: Sequence[CriterionRule], sections: Sequence[SectionRule], scores: Mapping[str, Score]
) -> _Assessment:
    percentages = _percentages(criteria, sections, scores)
    gate_results: dict[str, str] = {}
    for rule in criteria:
        if rule.mode == "gate":
            score = scores[rule.code]
            if score.not_applicable:
                gate_results[rule.code] = "not applicable"
            else:
                gate_results[rule.code] = "pass" if score.gate_pass else "fail"
    below = [
        s.code
        for s in sections
        if (pct := percentages[s.code]) is not None and pct < s.threshold_percent
    ]
    return _Assessment(
        percentages=percentages,
        gate_results=gate_results,
        failed_gates=[code for code, result in gate_results.items() if result == "fail"],
        sections_below_threshold=below,
    )


def _percentages(
    criteria: Sequence[CriterionRule], sections: Sequence[SectionRule], scores: Mapping[str, Score]
) -> dict[str, int | None]:
    sums: dict[str, tuple[int, int]] = {s.code: (0, 0) for s in sections}
    for rule in criteria:
        score = scores[rule.code]
        if rule.mode != "scored" or score.not_applicable:
            continue
        # Checked by _check_criteria and _check_scores before any sum is taken.
        assert rule.weight is not None
        assert rule.max_score is not None
        assert score.score is not None
        num, den = sums[rule.section]
        sums[rule.section] = (num + rule.weight * score.score, den + rule.weight * rule.max_score)
    # Round half up to a whole percentage in integers: floats would make the edge cases drift.
    return {
        code: None if den == 0 else (200 * num + den) // (2 * den)
        for code, (num, den) in sums.items()
    }


def _label(review: Review) -> str:
    """How moderation reasons name a reviewer: the display name, else the reviewer id."""
    return review.name.strip() or review.reviewer


def _everyone(count: int) -> str:
    if count == 1:
        return "the reviewer"
    if count == 2:
        return "both reviewers"
    return f"all {count} reviewers"


def _check_policy(policy: Policy) -> None:
    if policy.required_reviews < 1:
        raise InvalidInput(
            f"expected at least 1 required review, got {policy.required_reviews}",
            field="required_reviews",
        )
    if policy.tolerance_points < 0:
        raise InvalidInput(
            f"expected a tolerance of 0 or more points, got {policy.tolerance_points}",
            field="tolerance_points",
        )


def _check_rules(criteria: Sequence[CriterionRule], sections: Sequence[SectionRule]) -> None:
    codes: set[str] = set()
    for section in sections:
        if section.code in codes:
            raise InvalidInput(f"expected unique section codes, got {section.code} twice")
        codes.add(section.code)
        if not 0 <= section.threshold_percent <= 100:
            raise InvalidInput(
                f"expected section {section.code} threshold 0..100, "
                f"got {section.threshold_percent}",
                field=section.code,
            )
    _check_criteria(criteria, known_sections=codes)


def _check_criteria(criteria: Sequence[CriterionRule], known_sections: set[str] | None) -> None:
    codes: set[str] = set()
    for rule in criteria:
        if rule.code in codes:
            raise InvalidInput(f"expected unique criterion codes, got {rule.code} twice")
        codes.add(rule.code)
        if known_sections is not None and rule.section not in known_sections:
            raise InvalidInput(
                f"criterion {rule.code} names section {rule.section}, which is not in the set",
                field=rule.code,
            )
        if rule.mode == "scored":
            if rule.max_score is None or rule.max_score < 1:
                raise InvalidInput(
                    f"expected scored criterion {rule.code} to have a maximum of 1 or more, "
                    f"got {rule.max_score}",
                    field=rule.code,
                )
            if rule.weight is None or rule.weight < 1:
                raise InvalidInput(
                    f"expected scored criterion {rule.code} to have a weight of 1 or more, "
                    f"got {rule.weight}",
                    field=rule.code,
                )
        elif rule.mode != "gate":
            raise InvalidInput(
                f"expected criterion {rule.code} mode gate or scored, got {rule.mode}",
                field=rule.code,
            )


def _check_recommendation(recommendation: str, *, whose: str) -> None:
    if recommendation not in RECOMMENDATIONS:
        raise InvalidInput(
            f"expected {whose} recommendation to be one of {', '.join(RECOMMENDATIONS)}, "
            f"got {recommendation}",
            field="recommendation",
        )


def _check_scores(
    criteria: Sequence[CriterionRule], scores: Mapping[str, Score], *, whose: str
) -> None:
    for rule in criteria:
        score = scores.get(rule.code)
        if score is None:
            raise InvalidInput(
                f"expected {whose}scores to cover criterion {rule.code}, found none",
                field=rule.code,
            )
        if score.code != rule.code:
            raise InvalidInput(
                f"expected {whose}score under {rule.code} to be for {rule.code}, "
                f"got one for {score.code}",
                field=rule.code,
            )
        if score.not_applicable:
            if score.gate_pass is not None or score.score is not None:
                raise InvalidInput(
                    f"{whose}criterion {rule.code} is marked not applicable but also has a result",
                    field=rule.code,
                )
        elif rule.mode == "gate":
            if score.gate_pass is None or score.score is not None:
                raise InvalidInput(
                    f"expected {whose}gate {rule.code} to be pass or fail, with no score",
                    field=rule.code,
                )
        else:
            assert rule.max_score is not None
            if score.gate_pass is not None or score.score is None:
                raise InvalidInput(
                    f"expected {whose}criterion {rule.code} to have a score, not pass/fail",
                    field=rule.code,
                )
            if not 0 <= score.score <= rule.max_score:
                raise InvalidInput(
                    f"expected {whose}criterion {rule.code} score 0..{rule.max_score}, "
                    f"got {score.score}",
                    field=rule.code,
                )
