"""The review queue, reviews, conflicts of interest (reviewers) and moderation (lead reviewers)."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, Response, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, PathParameter, QueryParameter

from registry.api.auth import SECURITY, provide_principal, requires
from registry.api.problems import problems
from registry.domain.identity import Principal, Role
from registry.services import queue, reviews
from schemas.review import (
    InterestsOut,
    InterestsPut,
    ModerationDecide,
    ModerationList,
    ModerationResult,
    QueueList,
    ReviewOut,
    ReviewPage,
    ReviewSubmit,
    ScoreOut,
    ScorePut,
)

_PRINCIPAL = {"principal": Provide(provide_principal, sync_to_thread=False)}
Limit = Annotated[int, QueryParameter(ge=1, le=200)]
Cursor = Annotated[str | None, QueryParameter(max_length=200)]
ReviewState = Annotated[
    Literal["open", "submitted"] | None,
    QueryParameter(
        name="state",  # ``state`` is a name Litestar reserves for the application state
        description="open: claims you hold now; submitted: reviews you finished",
    ),
]


class QueueController(Controller):
    """Items waiting for review, and claiming the next one."""

    path = "/v1/queue"
    tags = ["reviews"]
    guards = [requires(Role.reviewer)]
    dependencies = _PRINCIPAL
    security = SECURITY

    @get(responses=problems(401, 403))
    async def waiting(self, principal: NamedDependency[Principal]) -> QueueList:
        """Waiting items, oldest first, with age, round and reviews still needed."""
        return await queue.waiting(principal)

    @post("/claim", status_code=200, responses=problems(401, 403))
    async def claim(self, principal: NamedDependency[Principal]) -> Response[ReviewOut | None]:
        """Claim the next eligible item under a 4-hour lease; 204 when none is eligible."""
        review = await reviews.claim(principal)
        return Response(review, status_code=200 if review else 204)


class ReviewController(Controller):
    """A reviewer's own reviews."""

    path = "/v1/reviews"
    tags = ["reviews"]
    guards = [requires(Role.reviewer)]
    dependencies = _PRINCIPAL
    security = SECURITY

    @get(responses=problems(400, 401, 403, 422))
    async def mine(
        self,
        principal: NamedDependency[Principal],
        review_state: ReviewState = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> ReviewPage:
        """Your own reviews, most recently claimed first, with the lease time left on open ones."""
        return await reviews.list_reviews(principal, review_state, cursor, limit)

    @get("/{review_id:str}", responses=problems(401, 403, 404))
    async def read(
        self, review_id: FromPath[str], principal: NamedDependency[Principal]
    ) -> ReviewOut:
        """One of the caller's reviews, with the criteria to score and the scores so far."""
        return await reviews.get_review(principal, review_id)

    @post("/{review_id:str}/renew", status_code=200, responses=problems(401, 403, 404, 409))
    async def renew(
        self, review_id: FromPath[str], principal: NamedDependency[Principal]
    ) -> ReviewOut:
        """Extend a live claim by a full lease."""
        return await reviews.review_out(await queue.renew(principal, review_id))

    @post("/{review_id:str}/release", status_code=204, responses=problems(401, 403, 404, 409))
    async def release(
        self, review_id: FromPath[str], principal: NamedDependency[Principal]
    ) -> None:
        """Give the item back to the queue."""
        await queue.release(principal, review_id)

    @put(
        "/{review_id:str}/scores/{criterion_code:str}",
        responses=problems(400, 401, 403, 404, 409, 422),
    )
    async def score(
        self,
        review_id: FromPath[str],
        criterion_code: Annotated[str, PathParameter(max_length=32)],
        data: JSONBody[ScorePut],
        principal: NamedDependency[Principal],
    ) -> ScoreOut:
        """Score one applicable criterion (rationale required for a failed gate or a low score)."""
        return await reviews.put_score(principal, review_id, criterion_code, data)

    @post(
        "/{review_id:str}/submit", status_code=200, responses=problems(400, 401, 403, 404, 409, 422)
    )
    async def submit(
        self,
        review_id: FromPath[str],
        data: JSONBody[ReviewSubmit],
        principal: NamedDependency[Principal],
    ) -> ReviewOut:
        """Submit with a recommendation; 422 lists criteria not yet scored.

        The answer's ``progress`` says what followed: another review awaited, moderation, the
        decision, the certificate ID or the state of its issuance.
        """
        return await reviews.submit_review(principal, review_id, data)


class InterestController(Controller):
    """Conflicts of interest."""

    path = "/v1/reviewers/me/interests"
    tags = ["reviews"]
    guards = [requires(Role.reviewer)]
    dependencies = _PRINCIPAL
    security = SECURITY

    @post(status_code=200, responses=problems(400, 401, 403, 422))
    async def declare(
        self, data: JSONBody[InterestsPut], principal: NamedDependency[Principal]
    ) -> InterestsOut:
        """Declare supplier organisations you must never review; returns all you declared."""
        return await reviews.declare_interests(principal, data)


class ModerationController(Controller):
    """Disagreements for lead reviewers to settle."""

    path = "/v1/moderation"
    tags = ["reviews"]
    guards = [requires(Role.lead_reviewer)]
    dependencies = _PRINCIPAL
    security = SECURITY

    @get(responses=problems(401, 403))
    async def open_cases(self, principal: NamedDependency[Principal]) -> ModerationList:
        """Open cases, oldest first, with the reasons and each review."""
        return await reviews.list_moderation(principal)

    @post(
        "/{case_id:str}/decide", status_code=200, responses=problems(400, 401, 403, 404, 409, 422)
    )
    async def decide(
        self,
        case_id: FromPath[str],
        data: JSONBody[ModerationDecide],
        principal: NamedDependency[Principal],
    ) -> ModerationResult:
        """Record final scores with rationale; the outcome is computed from them.

        A recommendation your own final scores contradict is refused with 422. The answer's
        ``progress`` says what followed (the certificate ID, or the state of its issuance).
        """
        return await reviews.decide_moderation(principal, case_id, data)
