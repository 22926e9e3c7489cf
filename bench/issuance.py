"""Issuance against bare WeasyPrint + bare pyHanko, measured in the same run (DESIGN §10).

Bar: issuance (statement, JWS, PDF, PAdES, storage, log) ≤ 1.3 × (bare render + bare signature).

Ours is what an issuer does for an approved revision that has no certificate yet: claim its
issuance, look up the active key, ``prepare`` (claims, JWS, QR check, PDF render, PAdES
signature, blob stored) and ``commit`` (certificate row, its event, audit event, supersession
check, issuance marked issued). The
review flow is not timed: the revisions are approved before any signing key exists, so the
approval's own issuance attempt fails and leaves them pending, as after a failed issuance.

The ceiling, in the same process and run, interleaved with ours: ``weasyprint.HTML(string=html)
.write_pdf()`` of the very HTML our renderer produced (captured on a warm-up issuance), then a
PAdES signature of that PDF by pyHanko's own ``SimpleSigner`` and ``PdfSigner`` with the same
key files, loaded once — no registry code. Figures are medians; ratio = ours / ceiling.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import io
import logging
import os
import pstats
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from bench.common import (
    Environment,
    argument_parser,
    database,
    environment,
    in_process_client,
    init_keys,
    median,
    ms,
    print_bar,
    print_configuration,
    seed_people,
)

BAR = 1.3


@dataclass
class Samples:
    """Seconds per run, for each part measured."""

    ours: list[float] = field(default_factory=list)
    ours_prepare: list[float] = field(default_factory=list)
    ours_commit: list[float] = field(default_factory=list)
    ceiling: list[float] = field(default_factory=list)
    ceiling_render: list[float] = field(default_factory=list)
    ceiling_sign: list[float] = field(default_factory=list)


async def _approve_pending(count: int) -> list[uuid.UUID]:
    """Approve ``count`` tiny-set dossiers while no key may sign; their approved revision ids."""
    from registry.tables import Certificate, Revision
    from tests.tiny_set import submit_tiny

    world = await seed_people()
    reviews_log = logging.getLogger("registry.issuance")
    async with in_process_client() as client:
        reviews_log.setLevel(logging.CRITICAL)  # each approval logs its expected failed issuance
        try:
            for n in range(count):
                await submit_tiny(client, world.supplier_a.headers, f"Bench product {n:05d}")
                for reviewer in (world.reviewer, world.reviewer_2):
                    claimed = await client.post("/v1/queue/claim", headers=reviewer.headers)
                    claimed.raise_for_status()
                    review_id = claimed.json()["id"]
                    scored = await client.put(
                        f"/v1/reviews/{review_id}/scores/C1.1",
                        json={"gate_pass": True},
                        headers=reviewer.headers,
                    )
                    scored.raise_for_status()
                    submitted = await client.post(
                        f"/v1/reviews/{review_id}/submit",
                        json={"recommendation": "approve", "summary": "Fine."},
                        headers=reviewer.headers,
                    )
                    submitted.raise_for_status()
        finally:
            reviews_log.setLevel(logging.NOTSET)
    rows = await Revision.select(Revision.id).where(
        (Revision.status == "approved")
        & Revision.id.not_in(Certificate.select(Certificate.revision))
    )
    if len(rows) != count:
        raise RuntimeError(f"expected {count} approved revisions without certificates, got {rows}")
    return [row["id"] for row in rows]


@contextlib.contextmanager
def _capturing_html(captured: list[str]) -> Iterator[None]:
    """Record the HTML our certificate renderer hands to WeasyPrint (for the bare renderer)."""
    import reports.certificate
    from reports.pdf import html_to_pdf

    def recording(html: str, attachments: Any = ()) -> bytes:
        captured.append(html)
        return html_to_pdf(html, attachments)

    with mock.patch.object(reports.certificate, "html_to_pdf", recording):
        yield


def _bare_signer(kid: str) -> Any:
    """pyHanko's own signer over the registry's key files (loaded once, outside any timing)."""
    from pyhanko.sign import signers

    from registry.services import keys

    files = keys.key_files()
    return signers.SimpleSigner.load(  # type: ignore[no-untyped-call]
        key_file=str(files.signing_key(kid)),
        cert_file=str(files.signing_certificate(kid)),
        ca_chain_files=(str(files.root_certificate),),
    )


def _ceiling_once(html: str, signer: Any) -> tuple[float, float, int]:
    """Bare WeasyPrint render, then a bare pyHanko PAdES signature: (render s, sign s, bytes)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from weasyprint import HTML

    start = time.perf_counter()
    pdf = HTML(string=html).write_pdf()
    rendered = time.perf_counter()
    metadata = signers.PdfSignatureMetadata(
        field_name="Signature", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES
    )
    output = signers.PdfSigner(metadata, signer).sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)))
    signed = time.perf_counter()
    return rendered - start, signed - rendered, len(output.getvalue())


async def _ours_once(revision_id: uuid.UUID) -> tuple[float, float, str]:
    """One pending revision's issuance, in its parts: (claim + prepare s, commit s, certificate)."""
    from registry import clock
    from registry.services import issuance, keys
    from registry.services.audit import SYSTEM

    start = time.perf_counter()
    claim = await issuance.claim(revision_id, ignore_backoff=True)
    if claim is None:
        raise RuntimeError(f"revision {revision_id} has no pending issuance to claim")
    key = await keys.active_key()
    prepared = await issuance.prepare(revision_id, key, clock.now())
    prepared_at = time.perf_counter()
    certificate_id = await issuance.commit(prepared, claim, SYSTEM)
    return prepared_at - start, time.perf_counter() - prepared_at, certificate_id


async def _ceiling_run(html: str, signer: Any, samples: Samples) -> int:
    # A worker thread, as ours renders and signs in one: the event loop must not be the difference.
    render, sign, size = await asyncio.to_thread(_ceiling_once, html, signer)
    samples.ceiling_render.append(render)
    samples.ceiling_sign.append(sign)
    samples.ceiling.append(render + sign)
    return size


async def _ours_run(revision_id: uuid.UUID, samples: Samples) -> str:
    prepare, commit, certificate_id = await _ours_once(revision_id)
    samples.ours_prepare.append(prepare)
    samples.ours_commit.append(commit)
    samples.ours.append(prepare + commit)
    return certificate_id


async def _profile(revision_id: uuid.UUID, top: int) -> None:
    """cProfile one issuance: the event loop's thread and the worker thread that renders."""
    import anyio.to_thread

    worker = cProfile.Profile()
    original = anyio.to_thread.run_sync

    def profiled(function: Any) -> Any:
        def call(*args: Any) -> Any:
            worker.enable()
            try:
                return function(*args)
            finally:
                worker.disable()

        return call

    async def run_sync(function: Any, *args: Any) -> Any:
        return await original(profiled(function), *args)

    loop_thread = cProfile.Profile()
    with mock.patch.object(anyio.to_thread, "run_sync", run_sync):
        loop_thread.enable()
        await _ours_once(revision_id)
        loop_thread.disable()
    out = io.StringIO()
    stats = pstats.Stats(loop_thread, stream=out)
    stats.add(worker)
    stats.sort_stats("cumulative").print_stats(top)
    print("\nprofile of one more issuance (cumulative; loop thread + rendering worker thread):")
    print(out.getvalue())


async def run(env: Environment, runs: int, warmup: int, max_seconds: float, profile: bool) -> None:
    """Seed, warm up, then time ours and the ceiling alternately."""
    from registry.blobs import blob_store
    from registry.services import keys
    from registry.tables import Certificate

    async with database():
        pending = await _approve_pending(warmup + runs + (1 if profile else 0))
        await init_keys()
        key = await keys.active_key()
        signer = _bare_signer(key.kid)
        print_configuration(
            "issuance: claim + prepare + commit vs bare WeasyPrint + bare pyHanko",
            {
                "engine": env.describe(),
                "data": f"{len(pending)} approved one-criterion (tiny set) revisions, one product "
                "each, issued in turn",
                "key": f"ECDSA P-256 signing key {key.kid[:12]}…",
                "runs": f"{runs} timed (+{warmup} warm-up), interleaved, bounded by {max_seconds}s",
                "ceiling": "HTML(string=<same HTML>).write_pdf() + PdfSigner(SimpleSigner)",
                "load average": "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg()),
            },
        )
        captured: list[str] = []
        with _capturing_html(captured):
            for revision_id in pending[:warmup]:
                await _ours_run(revision_id, Samples())
        html = captured[0]
        for _ in range(warmup):
            await _ceiling_run(html, signer, Samples())
        samples = Samples()
        deadline = time.monotonic() + max_seconds
        bare_size = 0
        timed = pending[warmup : warmup + runs]
        for n, revision_id in enumerate(timed):
            if time.monotonic() > deadline:
                print(f"  (time bound reached after {n} runs)")
                break
            # Alternate which goes first, so neither always runs on a warmer cache.
            if n % 2:
                await _ours_run(revision_id, samples)
                bare_size = await _ceiling_run(html, signer, samples)
            else:
                bare_size = await _ceiling_run(html, signer, samples)
                await _ours_run(revision_id, samples)
        issued = await Certificate.count()
        last = await Certificate.select(Certificate.pdf_sha256).first()
        ours_size = len(await blob_store().get(last["pdf_sha256"])) if last else 0
        if profile:
            await _profile(pending[-1], top=30)
    print(
        f"  certificates issued {issued}; certificate HTML {len(html)} characters; "
        f"signed PDF: ours {ours_size} bytes (with attached statement), bare {bare_size} bytes"
    )
    _report(samples)


def _report(samples: Samples) -> None:
    ours = median(samples.ours)
    ceiling = median(samples.ceiling)
    ratio = ours / ceiling
    print(f"figures (median of {len(samples.ours)} runs each):")
    print(f"  ours  issue (total)      {ms(ours)}")
    print(f"    prepare (sign, render, PAdES, store) {ms(median(samples.ours_prepare))}")
    print(f"    commit (one transaction)             {ms(median(samples.ours_commit))}")
    print(f"  ceiling (render + sign)  {ms(ceiling)}")
    print(f"    bare WeasyPrint render               {ms(median(samples.ceiling_render))}")
    print(f"    bare pyHanko signature               {ms(median(samples.ceiling_sign))}")
    print(f"  min ours / min ceiling   {min(samples.ours) / min(samples.ceiling):8.3f}")
    print(f"  load average at end      {'{:.2f} {:.2f} {:.2f}'.format(*os.getloadavg())}")
    print_bar("issuance ratio ours/ceiling", f"{ratio:.3f}", f"≤ {BAR}", ratio <= BAR)


def main() -> None:
    """Parse options, make the environment, run."""
    parser = argument_parser(__doc__.splitlines()[0] if __doc__ else "issuance benchmark")
    parser.add_argument("--runs", type=int, default=15, help="timed runs (default 15)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up runs (default 2)")
    parser.add_argument("--max-seconds", type=float, default=300, help="time bound (default 300)")
    parser.add_argument("--profile", action="store_true", help="cProfile one more issuance")
    args = parser.parse_args()
    with environment(args.postgres) as env:
        asyncio.run(run(env, args.runs, max(args.warmup, 1), args.max_seconds, args.profile))


if __name__ == "__main__":
    main()
