"""PDF verification against bare pyHanko validation, measured in the same run (DESIGN §10).

Bar: PDF verification ≤ 1.3 × bare pyHanko validation.

Ours is ``registry.services.verification.verify_pdf(bytes)`` — every check of DESIGN §5 for a
PDF: the PAdES signature against our root, coverage, the embedded statement's JWS and its match,
the key at the registry-recorded issuance time, and the registry's record and status. The
ceiling, in the same process and run, interleaved with ours: parse the same PDF with pyHanko's
``PdfFileReader``, take its one embedded signature and ``async_validate_pdf_signature`` it with a
fresh ``ValidationContext`` trusting the registry's root alone (pyHanko's defaults otherwise) —
no registry code. The PDF is a real issued certificate (tiny set, approved through the HTTP
flow). Figures are medians; ratio = ours / ceiling.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import os
import pstats
import time
from typing import Any

from bench.common import (
    Environment,
    argument_parser,
    database,
    environment,
    init_keys,
    issue_certificates,
    median,
    ms,
    print_bar,
    print_configuration,
    seed_people,
)

BAR = 1.3


async def _ours_once(pdf: bytes) -> float:
    from registry.services.verification import verify_pdf

    start = time.perf_counter()
    result = await verify_pdf(pdf)
    elapsed = time.perf_counter() - start
    if result.verdict != "good_to_go":
        raise RuntimeError(f"expected good_to_go for an issued certificate, got {result.verdict}")
    return elapsed


async def _ceiling_once(pdf: bytes, root: Any) -> float:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import async_validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    start = time.perf_counter()
    signature = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0]
    status = await async_validate_pdf_signature(signature, ValidationContext(trust_roots=[root]))
    elapsed = time.perf_counter() - start
    if not status.bottom_line:
        raise RuntimeError(f"expected bare pyHanko to accept the PDF: {status.summary()}")
    return elapsed


async def run(env: Environment, runs: int, warmup: int, max_seconds: float, profile: bool) -> None:
    """Issue one certificate, then time ours and the ceiling alternately on its PDF."""
    from pyhanko.keys import load_cert_from_pemder

    from registry.services import certificates, keys

    async with database():
        world = await seed_people()
        await init_keys()
        (certificate_id,) = await issue_certificates(1, world)
        pdf, _, _ = await certificates.pdf(certificate_id)
        root_path = str(keys.key_files().root_certificate)
        root = load_cert_from_pemder(root_path)  # type: ignore[no-untyped-call]
        print_configuration(
            "PDF verification: verify_pdf vs bare pyHanko validate_pdf_signature",
            {
                "engine": env.describe(),
                "data": f"1 issued certificate {certificate_id}, signed PDF {len(pdf)} bytes",
                "runs": f"{runs} timed (+{warmup} warm-up), interleaved, bounded by {max_seconds}s",
                "ceiling": "PdfFileReader + async_validate_pdf_signature, trusting the root",
                "load average": "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg()),
            },
        )
        for _ in range(warmup):
            await _ours_once(pdf)
            await _ceiling_once(pdf, root)
        ours: list[float] = []
        ceiling: list[float] = []
        deadline = time.monotonic() + max_seconds
        for n in range(runs):
            if time.monotonic() > deadline:
                print(f"  (time bound reached after {n} runs)")
                break
            # Alternate which goes first, so neither always runs on a warmer cache.
            if n % 2:
                ours.append(await _ours_once(pdf))
                ceiling.append(await _ceiling_once(pdf, root))
            else:
                ceiling.append(await _ceiling_once(pdf, root))
                ours.append(await _ours_once(pdf))
        if profile:
            profiler = cProfile.Profile()
            profiler.enable()
            await _ours_once(pdf)
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
            print("\nprofile of one more verify_pdf (cumulative):")
            print(out.getvalue())
    ratio = median(ours) / median(ceiling)
    print(f"figures (median of {len(ours)} runs each):")
    print(f"  ours  verify_pdf         {ms(median(ours))}")
    print(f"  ceiling bare pyHanko     {ms(median(ceiling))}")
    print(f"  min ours / min ceiling   {min(ours) / min(ceiling):8.3f}")
    print(f"  load average at end      {'{:.2f} {:.2f} {:.2f}'.format(*os.getloadavg())}")
    print_bar("PDF verification ratio ours/ceiling", f"{ratio:.3f}", f"≤ {BAR}", ratio <= BAR)


def main() -> None:
    """Parse options, make the environment, run."""
    parser = argument_parser("PDF verification against bare pyHanko validation")
    parser.add_argument("--runs", type=int, default=30, help="timed runs (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up runs (default 3)")
    parser.add_argument("--max-seconds", type=float, default=120, help="time bound (default 120)")
    parser.add_argument("--profile", action="store_true", help="cProfile one more verification")
    args = parser.parse_args()
    with environment(args.postgres) as env:
        asyncio.run(run(env, args.runs, args.warmup, args.max_seconds, args.profile))


if __name__ == "__main__":
    main()
