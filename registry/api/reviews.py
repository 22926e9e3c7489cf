"""The review queue, reviews, conflicts of interest (reviewers) and moderation (lead reviewers)."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, Response, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
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

    @get(
        operation_id="listQueue",
        summary="List the review queue",
        responses=problems(401, 403),
    )
    async def waiting(self, principal: NamedDependency[Principal]) -> QueueList:
        """Items waiting for review, oldest first, with their age, round and how many reviews each
        still needs (reviewers and lead reviewers). Suppliers you declared a conflict of interest
        with are left out.
        """
        return await queue.waiting(principal)

    @post(
        "/claim",
        status_code=200,
        operation_id="claimNextReview",
        summary="Claim the next review",
        responses={
            # The 200 carries a review, never null: "nothing" is the 204 (the annotation's None).
            200: ResponseSpec(
                data_container=ReviewOut,
                description="The review you claimed, with its criteria",
                generate_examples=False,
            ),
            204: ResponseSpec(
                data_container=None, description="Nothing is eligible for you to claim now"
            ),
            **problems(401, 403),
        },
    )
    async def claim(self, principal: NamedDependency[Principal]) -> Response[ReviewOut | None]:
        """Claim the oldest item you are eligible for under a 4-hour lease, and get the review to
        work on. Items of suppliers you declared a conflict of interest with, and revisions you
        hold or held a review of, are never offered. When nothing is eligible the answer is 204
        with no body.
        """
        review = await reviews.claim(principal)
        return Response(review, status_code=200 if review else 204)


class ReviewController(Controller):
    """A reviewer's own reviews."""

    path = "/v1/reviews"
    tags = ["reviews"]
    guards = [requires(Role.reviewer)]
    dependencies = _PRINCIPAL
    security = SECURITY

    @get(
        operation_id="listReviews",
        summary="List your reviews",
        responses=problems(400, 401, 403, 422),
    )
    async def mine(
        self,
        principal: NamedDependency[Principal],
        review_state: ReviewState = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> ReviewPage:
        """Your own reviews, most recently claimed first: open ones (a claim you hold now, with the
        lease time left) and submitted ones; `state` picks one kind. Follow `next_cursor` for the
        next page; a cursor this API did not issue is refused with 422.
        """
        return await reviews.list_reviews(principal, review_state, cursor, limit)

    @get(
        "/{review_id:str}",
        operation_id="getReview",
        summary="Read a review",
        responses=problems(400, 401, 403, 404),
    )
    async def read(
        self, review_id: FromPath[str], principal: NamedDependency[Principal]
    ) -> ReviewOut:
        """One of your reviews: its lease, the codes of the criteria to score and your scores so
        far. Another reviewer's review is 404, as if it did not exist.
        """
        return await reviews.get_review(principal, review_id)

    @post(
        "/{review_id:str}/renew",
        status_code=200,
        operation_id="renewReview",
        summary="Renew a review's lease",
        responses=problems(400, 401, 403, 404, 409),
    )
    async def renew(
        self, review_id: FromPath[str], principal: NamedDependency[Principal]
    ) -> ReviewOut:
        """Extend a claim you hold by a full lease from now. A claim whose lease has run out, or a
        submitted review, cannot be renewed (409): claim the next item again.
        """
        return await reviews.review_out(await queue.renew(principal, review_id))

    @post(
        "/{review_id:str}/release",
        status_code=204,
        operation_id="releaseReview",
        summary="Release a review",
        responses=problems(400, 401, 403, 404, 409),
    )
    async def release(
        self, review_id: FromPath[str], principal: NamedDependency[Principal]
    ) -> None:
        """Give a claimed item back to the queue; your scores on it so far are discarded. A
        submitted review cannot be released (409).
        """
        await queue.release(principal, review_id)

    @put(
        "/{review_id:str}/scores/{criterion_code:str}",
        operation_id="putScore",
        summary="Score one criterion",
        responses=problems(400, 401, 403, 404, 409, 413, 422),
    )
    async def score(
        self,
        review_id: FromPath[str],
        criterion_code: Annotated[str, PathParameter(max_length=32)],
        data: JSONBody[ScorePut],
        principal: NamedDependency[Principal],
    ) -> ScoreOut:
        """Record (or replace) your result for one criterion that applies to the product: pass or
        fail for a gate, a score for a scored criterion, or not applicable. A failed gate or a
        low score needs a rationale (422 says what is missing). You must hold a live claim on the
        review (409 otherwise); a criterion not in the set is 404.
        """
        return await reviews.put_score(principal, review_id, criterion_code, data)

    @post(
        "/{review_id:str}/submit",
        status_code=200,
        operation_id="submitReview",
        summary="Submit a review",
        responses=problems(400, 401, 403, 404, 409, 413, 422),
    )
    async def submit(
        self,
        review_id: FromPath[str],
        data: JSONBody[ReviewSubmit],
        principal: NamedDependency[Principal],
    ) -> ReviewOut:
        """Submit your review with a recommendation and summary. Every applicable criterion must be
        scored first: 422 lists the ones that are not.

        The answer's `progress` says what followed: another review awaited, moderation, the
        decision, and after an approval the certificate ID or the state of its issuance.
        """
        return await reviews.submit_review(principal, review_id, data)


class InterestController(Controller):
    """Conflicts of interest."""

    path = "/v1/reviewers/me/interests"
    tags = ["reviews"]
    guards = [requires(Role.reviewer)]
    dependencies = _PRINCIPAL
    security = SECURITY

    @post(
        status_code=200,
        operation_id="declareInterests",
        summary="Declare conflicts of interest",
        responses=problems(400, 401, 403, 413, 422),
    )
    async def declare(
        self, data: JSONBody[InterestsPut], principal: NamedDependency[Principal]
    ) -> InterestsOut:
        """Declare supplier organisations whose dossiers you must never review; earlier declarations
        are kept, and the answer lists all of yours. An id that is not a supplier organisation is
        refused with 422.
        """
        return await reviews.declare_interests(principal, data)


class ModerationController(Controller):
    """Disagreements for lead reviewers to settle."""

    path = "/v1/moderation"
    tags = ["reviews"]
    guards = [requires(Role.lead_reviewer)]
    dependencies = _PRINCIPAL
    security = SECURITY

    @get(
        operation_id="listModerationCases",
        summary="List open moderation cases",
        responses=problems(401, 403),
    )
    async def open_cases(self, principal: NamedDependency[Principal]) -> ModerationList:
        """Open cases where reviewers disagreed, oldest first, with the reasons and each review
        (lead reviewers only). Cases you reviewed yourself, or whose supplier you declared a
        conflict with, are not listed.
        """
        return await reviews.list_moderation(principal)

    @post(
        "/{case_id:str}/decide",
        status_code=200,
        operation_id="decideModeration",
        summary="Decide a moderation case",
        responses=problems(400, 401, 403, 404, 409, 413, 422),
    )
    async def decide(
        self,
        case_id: FromPath[str],
        data: JSONBody[ModerationDecide],
        principal: NamedDependency[Principal],
    ) -> ModerationResult:
        """Record final scores for exactly the applicable criteria, with rationale, and a
        recommendation; the outcome is computed from the scores. A recommendation your own final
        scores contradict is refused with 422, never silently overridden; a case already decided
        is 409.

        The answer's `progress` says what followed (the certificate ID, or the state of its
        issuance).
        """
        return await reviews.decide_moderation(principal, case_id, data)
