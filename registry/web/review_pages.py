"""The reviewer's workbench (issue #12): ``/review`` and ``/review/…`` for signed-in reviewers.

The pages call the same services as the reviewer API (``registry.services.queue``, ``reviews``,
``dossiers``, ``evidence``), never HTTP, so every rule — conflicts of interest, leases, what may be
scored how, who may moderate — is the API's. Every action is a plain form POST followed by a
redirect (post/redirect/get); script only saves a score as it is entered. The outcome of an
action is said on the next page from query flags the page words itself: a flag names a fact
(a revision status, a count, a certificate ID), never a sentence, so nobody can put words on a
reviewer's screen through a link.

Errors render as pages through the practice pages' handlers (the API's one mapping decides the
status); forms that fail validation come back as 422 with a GOV.UK-style error summary.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, PathParameter
from litestar.response import Redirect, Template

from registry import clock
from registry.domain import decision as rule
from registry.domain.certificate_id import MistypedCertificateId, normalise_certificate_id
from registry.domain.criteria import applicable_criteria
from registry.domain.criteria_document import CriteriaSetDocument, Criterion
from registry.domain.dates import as_date, working_days
from registry.domain.dossier import RevisionStatus
from registry.domain.identity import Principal, Role
from registry.domain.issuance import IssuanceState
from registry.domain.progress import Progress, next_step
from registry.domain.review import SlotStatus, section_of
from registry.errors import InvalidInput, NotFound, RegistryError
from registry.services import dossiers, evidence, queue, reviews
from registry.settings import get_settings
from registry.web import auth, pages
from schemas.dossier import DossierOut, EvidenceOut, RevisionDiff
from schemas.issuance import RevisionProgress
from schemas.review import (
    FinalScore,
    ModerationCaseOut,
    ModerationDecide,
    ReviewOut,
    ReviewSubmit,
    ScoreOut,
    ScorePut,
)

_FORM = Body(media_type=RequestEncodingType.URL_ENCODED)
FormData = Annotated[dict[str, str], _FORM]
Code = Annotated[str, PathParameter(max_length=32)]

RECOMMENDATIONS = {
    "approve": "Approve",
    "changes_requested": "Request changes",
    "reject": "Reject",
}
_INLINE = frozenset({"application/pdf", "image/png", "image/jpeg", "text/plain"})


# --- wording and small pure helpers ------------------------------------------------------------


def duration_words(seconds: int) -> str:
    """``3 hours 12 minutes``; ``less than a minute`` under 60 s."""
    if seconds < 60:
        return "less than a minute"
    hours, minutes = divmod(seconds // 60, 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if minutes:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return " ".join(parts)


def answer_words(value: object) -> str:
    """A supplier's answer as a reviewer reads it."""
    if value is None:
        return "Not answered"
    if value is True or value == "yes":
        return "Yes"
    if value is False or value == "no":
        return "No"
    if value == "na":
        return "Not applicable"
    return str(value)


def result_word(score: ScoreOut | FinalScore | None, criterion: Criterion) -> str:
    """One result in words: ``Pass``, ``Fail``, ``3 out of 4``, ``Not applicable``."""
    if score is None:
        return "Not scored"
    if score.not_applicable:
        return "Not applicable"
    if criterion.mode == "gate":
        return "Pass" if score.gate_pass else "Fail"
    return f"{score.score} out of {criterion.max_score}"


def choice_of(score: ScoreOut | FinalScore | None) -> str:
    """The form value of a stored result: ``pass``, ``fail``, ``na`` or the score's digits."""
    if score is None:
        return ""
    if score.not_applicable:
        return "na"
    if score.gate_pass is not None:
        return "pass" if score.gate_pass else "fail"
    return str(score.score) if score.score is not None else ""


def _parse_choice(criterion: Criterion, choice: str) -> tuple[bool | None, int | None, bool] | None:
    """A form value as (gate_pass, score, not_applicable); None when it is not one we offer."""
    if choice == "na":
        return None, None, True
    if criterion.mode == "gate":
        return {"pass": (True, None, False), "fail": (False, None, False)}.get(choice)
    if choice.isdigit() and 0 <= int(choice) <= (criterion.max_score or 0):
        return None, int(choice), False
    return None


def _text(data: dict[str, str], name: str, limit: int = 10_000) -> str:
    # Browsers send CRLF line ends; the stored text keeps LF (the schemas' MULTI_LINE allows it).
    return data.get(name, "").replace("\r\n", "\n").replace("\r", "\n")[:limit]


def anchor(code: str) -> str:
    """An HTML id fragment for a criterion or section code (``C1.2`` → ``C1-2``)."""
    return code.replace(".", "-")


# --- what the next page says after an action -------------------------------------------------


def outcome_flags(done: str, shown: RevisionProgress) -> dict[str, str]:
    """Query flags that let the next page word what an action led to (facts, not sentences)."""
    flags = {
        "done": done,
        "st": shown.status.value,
        "sub": str(shown.reviews_submitted),
        "req": str(shown.reviews_required),
    }
    if shown.in_moderation:
        flags["mod"] = "1"
    if shown.issuance is not None:
        flags["iss"] = shown.issuance.state.value
    if shown.certificate_id:
        flags["cert"] = shown.certificate_id
    return flags


_DONE = {
    "submitted": "Submitted.",
    "decided": "Decided.",
}
_PLAIN = {
    "claimed": "Claimed. The review is yours for the next 4 hours; renew it if you need longer.",
    "nothing": "There is nothing you can claim just now.",
    "released": "Released. The item is back in the queue and your scores on it were discarded.",
    "renewed": "Renewed. Your claim now lasts 4 hours from now.",
}


def _small_int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and len(text) < 4 else None


def outcome_message(query: dict[str, str]) -> str | None:
    """The sentence for the flags of ``outcome_flags`` (None when there are none, or bad ones)."""
    done = query.get("done", "")
    if done in _PLAIN:
        return _PLAIN[done]
    if done not in _DONE:
        return None
    try:
        status = RevisionStatus(query.get("st", ""))
        issuance = IssuanceState(query["iss"]) if query.get("iss") else None
        certificate = normalise_certificate_id(query["cert"]) if query.get("cert") else None
    except (ValueError, MistypedCertificateId):
        return None
    submitted, required = _small_int(query.get("sub")), _small_int(query.get("req"))
    if submitted is None or required is None:
        return None
    facts = Progress(
        status=status,
        reviews_submitted=submitted,
        reviews_required=required,
        in_moderation=query.get("mod") == "1",
        issuance=issuance,
        certificate_id=certificate,
        issuance_reason="the registry has recorded why"
        if issuance is IssuanceState.failed
        else None,
    )
    return f"{_DONE[done]} {next_step(facts)}"


def _query(request: Request[Any, Any, Any]) -> dict[str, str]:
    return {key: str(request.query_params.get(key, "")) for key in request.query_params}


# --- responses ---------------------------------------------------------------------------------


asset = pages.asset


def _headers(*, script: bool) -> dict[str, str]:
    return pages.secure_headers(
        styles=("site.css", "review.css"), scripts=("review.js",) if script else ()
    )


def _page(name: str, status: int = 200, *, script: bool = False, **context: Any) -> Template:
    context.setdefault("message", None)
    return Template(
        template_name=name,
        context={
            **context,
            "review_css": asset("review.css").text,
            "review_script": asset("review.js").text if script else "",
            "recommendations": RECOMMENDATIONS,
            "anchor": anchor,
            "result_word": result_word,
            "answer_words": answer_words,
        },
        status_code=status,
        headers=_headers(script=script),
    )


def _see_other(path: str, flags: dict[str, str] | None = None, fragment: str = "") -> Redirect:
    query = f"?{urlencode(flags)}" if flags else ""
    return Redirect(f"{path}{query}{fragment}", status_code=303)


_LEAD = {"principal": Provide(auth.signed_in_as(Role.lead_reviewer))}
_REVIEW_PAGE = "/review/{review_id}"  # where a form post comes back to after sign-in


# --- the queue and my reviews ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One queue item as the page shows it."""

    product: str
    product_version: str
    supplier: str
    criteria_set: str
    revision: int
    queued_at: dt.datetime
    age_days: int
    overdue_by: int
    reviews_needed: int
    reviews_in_progress: int
    reviews_submitted: int


@get("/", name="review-queue")
async def queue_page(
    request: Request[Any, Any, Any], principal: NamedDependency[Principal]
) -> Template:
    """Items waiting for review, oldest first, with their age against the target."""
    target = get_settings().review_target_working_days
    today = as_date(clock.now())
    waiting = await queue.waiting(principal)
    rows = []
    for item in waiting.items:
        age = working_days(item.queued_at.astimezone(dt.UTC).date(), today)
        rows.append(
            QueueRow(
                product=item.product,
                product_version=item.product_version,
                supplier=item.supplier,
                criteria_set=item.criteria_set,
                revision=item.revision,
                queued_at=item.queued_at,
                age_days=age,
                overdue_by=max(0, age - target),
                reviews_needed=item.reviews_needed,
                reviews_in_progress=item.reviews_in_progress,
                reviews_submitted=item.reviews_submitted,
            )
        )
    return _page(
        "review_queue.html",
        rows=rows,
        target=target,
        overdue=sum(1 for r in rows if r.overdue_by),
        message=outcome_message(_query(request)),
        lead=principal.has_role(Role.lead_reviewer),
    )


@post("/claim", name="review-claim", status_code=303, opt={"page": "/review"})
async def claim_next(principal: NamedDependency[Principal]) -> Redirect:
    """Claim the oldest eligible item and open it."""
    claimed = await reviews.claim(principal)
    if claimed is None:
        return _see_other("/review", {"done": "nothing"})
    return _see_other(f"/review/{claimed.id}", {"done": "claimed"})


@get("/mine", name="review-mine")
async def mine(request: Request[Any, Any, Any], principal: NamedDependency[Principal]) -> Template:
    """Open reviews with their lease time left, then submitted ones."""
    page = await reviews.list_reviews(principal, None, None, 200)
    open_reviews = sorted(
        (r for r in page.items if r.status is SlotStatus.claimed),
        key=lambda r: r.lease_seconds_left or 0,
    )
    submitted = [r for r in page.items if r.status is SlotStatus.submitted]
    return _page(
        "review_mine.html",
        open_reviews=open_reviews,
        submitted=submitted,
        duration=duration_words,
        message=outcome_message(_query(request)),
        lead=principal.has_role(Role.lead_reviewer),
    )


@post("/{review_id:str}/renew", name="review-renew", status_code=303, opt={"page": "/review/mine"})
async def renew(review_id: FromPath[str], principal: NamedDependency[Principal]) -> Redirect:
    """Extend a live claim by a full lease."""
    await queue.renew(principal, review_id)
    return _see_other("/review/mine", {"done": "renewed"})


@post(
    "/{review_id:str}/release",
    name="review-release",
    status_code=303,
    opt={"page": "/review/mine"},
)
async def release(review_id: FromPath[str], principal: NamedDependency[Principal]) -> Redirect:
    """Give a claim back to the queue."""
    await queue.release(principal, review_id)
    return _see_other("/review/mine", {"done": "released"})


# --- the review page ---------------------------------------------------------------------------


@dataclass
class Item:
    """One criterion on the review page: what was asked, answered and given, and its result."""

    criterion: Criterion
    answer: object
    evidence: list[EvidenceOut]
    score: ScoreOut | None
    choice: str
    rationale: str
    error: str | None = None

    @property
    def na_allowed(self) -> bool:
        """Not applicable is offered only where the supplier answered "na" (domain/review.py)."""
        return self.answer == "na"

    @property
    def options(self) -> list[tuple[str, str]]:
        """The radio options: (value, words)."""
        if self.criterion.mode == "gate":
            found = [("pass", "Pass"), ("fail", "Fail")]
        else:
            top = self.criterion.max_score or 0
            found = [(str(n), f"{n}") for n in range(top + 1)]
        return [*found, ("na", "Not applicable")] if self.na_allowed else found


@dataclass
class SectionView:
    """One section of the criteria set, with the applicable criteria in it."""

    code: str
    title: str
    threshold_percent: int
    items: list[Item] = field(default_factory=list)

    @property
    def scored(self) -> int:
        """How many of its criteria have a stored result."""
        return sum(1 for i in self.items if i.score is not None)


@dataclass
class Workbench:
    """Everything the review page shows."""

    review: ReviewOut
    dossier: DossierOut | None
    document: CriteriaSetDocument | None
    profile: dict[str, object]
    intended_purpose: str
    sections: list[SectionView]
    diff: RevisionDiff | None
    lead: bool = False  # shows the Moderation link

    @property
    def scored(self) -> int:
        """Criteria with a stored result."""
        return len(self.review.scores)

    @property
    def total(self) -> int:
        """Criteria to score."""
        return len(self.review.criteria)

    @property
    def missing(self) -> list[Item]:
        """Criteria still without a result, in page order."""
        return [i for s in self.sections for i in s.items if i.score is None]

    @property
    def live(self) -> bool:
        """True while the review can still be worked on."""
        return self.review.status is SlotStatus.claimed


_PROFILE_WORDS = {
    "esf_tier": "NICE ESF tier",
    "medical_device_class": "Medical device class",
    "processes_personal_data": "Processes personal data",
    "integrates_with_clinical_systems": "Integrates with clinical systems",
    "patient_facing": "Patient facing",
}


async def _workbench(principal: Principal, review_id: str) -> Workbench:
    review = await reviews.get_review(principal, review_id)
    loaded: dossiers.Loaded | None
    dossier: DossierOut | None
    try:
        loaded = await dossiers.load_for_read(principal, review.dossier_id)
        dossier = await dossiers.get_dossier(principal, review.dossier_id)
    except NotFound:
        loaded = dossier = None  # a submitted review whose dossier moved on to a new draft
    if loaded is None or dossier is None or dossier.revision != review.revision:
        return Workbench(
            review, None, None, {}, "", [], None, principal.has_role(Role.lead_reviewer)
        )
    answers = {a.code: a.value for a in dossier.answers}
    scores = {s.code: s for s in review.scores}
    wanted = set(review.criteria)
    sections = []
    for section in loaded.document.sections:
        shown = SectionView(section.code, section.title, section.threshold_percent)
        for criterion in section.criteria:
            if criterion.code not in wanted:
                continue
            score = scores.get(criterion.code)
            shown.items.append(
                Item(
                    criterion=criterion,
                    answer=answers.get(criterion.code),
                    evidence=[e for e in dossier.evidence if criterion.code in e.criteria],
                    score=score,
                    choice=choice_of(score),
                    rationale=score.rationale if score else "",
                )
            )
        if shown.items:
            sections.append(shown)
    diff = None
    if review.revision > 1:
        try:
            diff = await dossiers.revision_diff(principal, review.dossier_id, review.revision)
        except NotFound:
            diff = None
    profile = msgspec.to_builtins(loaded.profile)
    return Workbench(
        review=review,
        dossier=dossier,
        document=loaded.document,
        profile={_PROFILE_WORDS.get(k, k): answer_words(v) for k, v in profile.items()},
        intended_purpose=loaded.product.intended_purpose,
        sections=sections,
        diff=diff,
        lead=principal.has_role(Role.lead_reviewer),
    )


def _review_page(
    bench: Workbench,
    status: int = 200,
    *,
    message: str | None = None,
    errors: list[tuple[str, str]] | None = None,
    submit_values: dict[str, str] | None = None,
) -> Template:
    return _page(
        "review_page.html",
        status,
        script=bench.live,
        bench=bench,
        message=message,
        errors=errors or [],
        submit_values=submit_values or {"recommendation": "", "summary": ""},
        lead=bench.lead,
    )


@get("/{review_id:str}", name="review-page")
async def review_page(
    request: Request[Any, Any, Any], review_id: FromPath[str], principal: NamedDependency[Principal]
) -> Template:
    """One of the caller's reviews, section by section."""
    bench = await _workbench(principal, review_id)
    query = _query(request)
    message = outcome_message(query)
    saved = query.get("saved", "")
    if not message and saved:
        titles = {s.code: s.title for s in bench.sections}
        if saved in titles:
            message = f"Saved your scores for {saved} {titles[saved]}."
    return _review_page(bench, message=message)


async def _save_one(
    principal: Principal, review_id: str, item: Item, choice: str, rationale: str
) -> str | None:
    """Store one criterion's result; the words of what was wrong, or None when it was saved."""
    parsed = _parse_choice(item.criterion, choice)
    if parsed is None:
        return f"Choose a result for {item.criterion.code} from the options shown"
    gate_pass, score, not_applicable = parsed
    try:
        await reviews.put_score(
            principal,
            review_id,
            item.criterion.code,
            ScorePut(
                gate_pass=gate_pass,
                score=score,
                not_applicable=not_applicable,
                rationale=rationale,
            ),
        )
    except InvalidInput as e:
        return _sentence(e.detail)
    return None


def _sentence(detail: str) -> str:
    # Domain messages are written for API clients ("C1.2: a failed gate needs a rationale").
    text = detail.replace("send gate_pass true or false, no score", "choose pass or fail")
    return text[:1].upper() + text[1:]


@post(
    "/{review_id:str}/sections/{section_code:str}",
    name="review-save-section",
    status_code=303,
    opt={"page": _REVIEW_PAGE},
)
async def save_section(
    review_id: FromPath[str],
    section_code: Annotated[str, PathParameter(max_length=32)],
    data: FormData,
    principal: NamedDependency[Principal],
) -> Response[Any]:
    """Save one section's results (the form without script); back to that section."""
    bench = await _workbench(principal, review_id)
    section = next((s for s in bench.sections if s.code == section_code), None)
    if section is None:
        raise NotFound(f"no section {section_code!r} to score in this review")
    errors: list[tuple[str, str]] = []
    typed: dict[str, tuple[str, str, str | None]] = {}  # kept when the page comes back
    for item in section.items:
        code = item.criterion.code
        choice = data.get(f"result-{code}", "")
        rationale = _text(data, f"rationale-{code}")
        if not choice and item.score is None:
            typed[code] = ("", rationale, None)
            continue  # left for later: submitting lists what is missing
        # No choice sent with a stored result: the rationale was edited on its own.
        problem = await _save_one(principal, review_id, item, choice or item.choice, rationale)
        if problem:
            typed[code] = (choice, rationale, problem)
            errors.append((f"result-{anchor(code)}-0", problem))
    if errors:
        fresh = await _workbench(principal, review_id)
        for shown in fresh.sections:
            for item in shown.items:
                if item.criterion.code in typed:
                    item.choice, item.rationale, item.error = typed[item.criterion.code]
        return _review_page(fresh, 422, errors=errors)
    return _see_other(
        f"/review/{review_id}", {"saved": section_code}, f"#section-{anchor(section_code)}"
    )


@post(
    "/{review_id:str}/scores/{criterion_code:str}",
    name="review-save-score",
    status_code=200,
    opt={"page": _REVIEW_PAGE},
)
async def save_score(
    review_id: FromPath[str],
    criterion_code: Code,
    data: FormData,
    principal: NamedDependency[Principal],
) -> Response[dict[str, object]]:
    """Save one result as it is entered (the page's script); JSON with the new count."""
    bench = await _workbench(principal, review_id)
    item = next(
        (i for s in bench.sections for i in s.items if i.criterion.code == criterion_code), None
    )
    if item is None:
        return Response(
            {"error": f"No criterion {criterion_code} in this review."}, status_code=404
        )
    choice = data.get("result", "") or item.choice
    if not choice:
        return Response({"error": "Choose a result first."}, status_code=422)
    try:
        problem = await _save_one(principal, review_id, item, choice, _text(data, "rationale"))
    except RegistryError as e:
        return Response({"error": _sentence(e.detail)}, status_code=409)
    if problem:
        return Response({"error": f"Not saved yet: {problem}."}, status_code=422)
    review = await reviews.get_review(principal, review_id)
    return Response(
        {
            "saved": True,
            "scored": len(review.scores),
            "total": len(review.criteria),
            "result": result_word(
                next(s for s in review.scores if s.code == criterion_code), item.criterion
            ),
        }
    )


@post("/{review_id:str}/submit", name="review-submit", status_code=303, opt={"page": _REVIEW_PAGE})
async def submit(
    review_id: FromPath[str], data: FormData, principal: NamedDependency[Principal]
) -> Response[Any]:
    """Submit the review with a recommendation and a summary; refused with what is missing."""
    bench = await _workbench(principal, review_id)
    recommendation = data.get("recommendation", "")
    summary = _text(data, "summary").strip()
    errors = [
        (f"result-{anchor(i.criterion.code)}-0", f"Score {i.criterion.code} {i.criterion.title}")
        for i in bench.missing
    ]
    if recommendation not in RECOMMENDATIONS:
        errors.append(("recommendation-0", "Choose a recommendation"))
    if not summary:
        errors.append(("summary", "Write a summary of your review"))
    if not errors:
        try:
            done = await reviews.submit_review(
                principal,
                review_id,
                ReviewSubmit(recommendation=recommendation, summary=summary),  # type: ignore[arg-type]
            )
        except InvalidInput as e:
            errors.append(("summary", _sentence(e.detail)))
        else:
            if done.progress is None:  # submit_review always says what followed
                return _see_other("/review/mine")
            return _see_other("/review/mine", outcome_flags("submitted", done.progress))
    return _review_page(
        bench,
        422,
        errors=errors,
        submit_values={"recommendation": recommendation, "summary": summary},
    )


@get("/{review_id:str}/evidence/{evidence_id:str}", name="review-evidence")
async def evidence_file(
    request: Request[Any, Any, Any],
    review_id: FromPath[str],
    evidence_id: FromPath[str],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """An evidence file of the review's dossier: inline in the browser's own viewer (PDF, images,
    plain text) or, with ``?download=1`` and for other types, as a download."""
    review = await reviews.get_review(principal, review_id)
    record, content = await evidence.download(principal, review.dossier_id, evidence_id)
    filename = "".join(c if c.isalnum() or c in "._-" else "_" for c in record.label)[:100]
    inline = record.media_type in _INLINE and request.query_params.get("download") != "1"
    headers = {
        "ETag": f'"{record.sha256}"',
        "X-Content-SHA256": record.sha256,
        "Content-Disposition": f"{'inline' if inline else 'attachment'}; "
        f'filename="{filename or "evidence"}"',
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "private, no-store",
    }
    if record.media_type != "application/pdf":
        # A sandbox breaks the browser's PDF viewer; everything else gets no script at all.
        headers["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'"
    return Response(content, media_type=record.media_type, headers=headers)


# --- moderation ----------------------------------------------------------------------------------


@dataclass
class Compared:
    """One criterion across the reviews, and the lead's final result."""

    criterion: Criterion
    section: str
    results: list[ScoreOut | None]
    choice: str
    rationale: str
    error: str | None = None

    @property
    def words(self) -> list[str]:
        """Each reviewer's result in words."""
        return [result_word(r, self.criterion) for r in self.results]

    @property
    def agree(self) -> bool:
        """Whether every review gave the same result."""
        return len({choice_of(r) for r in self.results}) == 1

    @property
    def options(self) -> list[tuple[str, str]]:
        """The radio options for the final result."""
        if self.criterion.mode == "gate":
            found = [("pass", "Pass"), ("fail", "Fail")]
        else:
            found = [(str(n), str(n)) for n in range(int(self.criterion.max_score or 0) + 1)]
        if any(r is not None and r.not_applicable for r in self.results):
            found.append(("na", "Not applicable"))
        return found


@dataclass
class SectionCompared:
    """A section's percentage in each review, and whether they differ beyond the tolerance."""

    code: str
    title: str
    threshold_percent: int
    percentages: list[int | None]
    apart: bool


@dataclass
class CaseView:
    """A moderation case as the page shows it."""

    case: ModerationCaseOut
    product: str
    product_version: str
    supplier_summary: str
    criteria_set: str
    tolerance: int
    rows: list[Compared]
    sections: list[SectionCompared]

    @property
    def recommendations_agree(self) -> bool:
        """Whether every review recommended the same."""
        return len({r.recommendation for r in self.case.reviews}) == 1


async def _case(principal: Principal, case_id: str) -> CaseView:
    cases = await reviews.list_moderation(principal)
    case = next((c for c in cases.items if c.id == case_id), None)
    if case is None:
        raise NotFound(f"no open moderation case {case_id!r} for you")
    loaded = await dossiers.load_for_read(principal, case.dossier_id)
    document = loaded.document
    applicable = applicable_criteria(document, loaded.profile)
    by_reviewer = [{s.code: s for s in r.scores} for r in case.reviews]
    rows = []
    for criterion in applicable:
        results = [scores.get(criterion.code) for scores in by_reviewer]
        agreed = len({choice_of(r) for r in results}) == 1
        rows.append(
            Compared(
                criterion=criterion,
                section=section_of(document, criterion.code),
                results=results,
                choice=choice_of(results[0]) if agreed and results else "",
                rationale="Both reviewers agreed." if agreed else "",
            )
        )
    rules = [
        rule.CriterionRule(
            code=c.code,
            section=section_of(document, c.code),
            mode=c.mode,
            max_score=c.max_score,
            weight=c.weight,
        )
        for c in applicable
    ]
    section_rules = [rule.SectionRule(s.code, s.threshold_percent) for s in document.sections]
    per_review = [
        rule.section_percentages(
            rules,
            section_rules,
            {c: rule.Score(c, s.gate_pass, s.score, s.not_applicable) for c, s in scores.items()},
        )
        for scores in by_reviewer
    ]
    tolerance = document.review_policy.tolerance_points
    sections = []
    for s in document.sections:
        shown = [p.get(s.code) for p in per_review]
        if all(v is None for v in shown):
            continue
        known = [v for v in shown if v is not None]
        sections.append(
            SectionCompared(
                s.code,
                s.title,
                s.threshold_percent,
                shown,
                apart=bool(known) and max(known) - min(known) > tolerance,
            )
        )
    return CaseView(
        case=case,
        product=loaded.product.name,
        product_version=loaded.dossier.product_version,
        supplier_summary=loaded.dossier.summary,
        criteria_set=f"{document.title} ({document.key}/{document.version})",
        tolerance=tolerance,
        rows=rows,
        sections=sections,
    )


@get("/moderation", name="moderation-list", dependencies=_LEAD)
async def moderation_list(
    request: Request[Any, Any, Any], principal: NamedDependency[Principal]
) -> Template:
    """Open cases this lead may moderate, oldest first, with what sent each one here."""
    cases = await reviews.list_moderation(principal)
    labels = {}
    for case in cases.items:
        loaded = await dossiers.load_for_read(principal, case.dossier_id)
        labels[case.id] = f"{loaded.product.name} {loaded.dossier.product_version}"
    return _page(
        "moderation.html",
        cases=cases.items,
        labels=labels,
        message=outcome_message(_query(request)),
        lead=True,
    )


def _case_page(
    view: CaseView,
    status: int = 200,
    *,
    errors: list[tuple[str, str]] | None = None,
    values: dict[str, str] | None = None,
) -> Template:
    agreed = view.case.reviews[0].recommendation if view.recommendations_agree else ""
    return _page(
        "moderation_case.html",
        status,
        view=view,
        errors=errors or [],
        values=values or {"recommendation": agreed, "summary": ""},
        lead=True,
    )


@get("/moderation/{case_id:str}", name="moderation-case", dependencies=_LEAD)
async def moderation_case(
    case_id: FromPath[str], principal: NamedDependency[Principal]
) -> Template:
    """Both reviews side by side, differences marked, final results prefilled where they agree."""
    return _case_page(await _case(principal, case_id))


@post("/moderation/{case_id:str}", name="moderation-decide", status_code=303, dependencies=_LEAD)
async def moderation_decide(
    case_id: FromPath[str], data: FormData, principal: NamedDependency[Principal]
) -> Response[Any]:
    """Record the lead's final results and recommendation; the outcome is computed."""
    view = await _case(principal, case_id)
    errors: list[tuple[str, str]] = []
    finals: dict[str, FinalScore] = {}
    for row in view.rows:
        code = row.criterion.code
        row.choice = data.get(f"final-{code}", "")
        row.rationale = _text(data, f"rationale-{code}").strip()
        parsed = _parse_choice(row.criterion, row.choice)
        if parsed is None:
            row.error = f"Choose the final result for {code}"
        elif not row.rationale:
            row.error = f"Give your rationale for {code}"
        if row.error:
            errors.append((f"final-{anchor(code)}-0", row.error))
            continue
        assert parsed is not None
        gate_pass, score, not_applicable = parsed
        finals[code] = FinalScore(
            gate_pass=gate_pass, score=score, not_applicable=not_applicable, rationale=row.rationale
        )
    recommendation = data.get("recommendation", "")
    summary = _text(data, "summary").strip()
    if recommendation not in RECOMMENDATIONS:
        errors.append(("recommendation-0", "Choose the final recommendation"))
    if not summary:
        errors.append(("summary", "Write a summary of your decision"))
    if not errors:
        try:
            result = await reviews.decide_moderation(
                principal,
                case_id,
                ModerationDecide(
                    recommendation=recommendation,  # type: ignore[arg-type]
                    summary=summary,
                    scores=finals,
                ),
            )
        except InvalidInput as e:
            errors.append(("recommendation-0", _sentence(e.detail)))
        else:
            return _see_other("/review/moderation", outcome_flags("decided", result.progress))
    return _case_page(
        view, 422, errors=errors, values={"recommendation": recommendation, "summary": summary}
    )


router = Router(
    path="/review",
    route_handlers=[
        queue_page,
        claim_next,
        mine,
        moderation_list,
        moderation_case,
        moderation_decide,
        review_page,
        renew,
        release,
        save_section,
        save_score,
        submit,
        evidence_file,
    ],
    dependencies={"principal": Provide(auth.signed_in_as(Role.reviewer))},
    include_in_schema=False,
    # The practice pages' error pages, and the sign-in redirect before their catch-all.
    exception_handlers={**pages.router.exception_handlers, **auth.EXCEPTION_HANDLERS},
)
