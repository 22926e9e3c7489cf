"""The ``registry`` command: serve, migrate, bootstrap, tokens, audit."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click

from registry.blobs import close_blob_store
from registry.settings import get_settings

T = TypeVar("T")


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    async def run_then_close() -> T:
        try:
            return await coroutine
        finally:
            # An S3 client belongs to this command's event loop: close it before the loop ends.
            await close_blob_store()

    return asyncio.run(run_then_close())


def write_secret_file(path: Path, secret: str) -> None:
    """Write ``secret`` to a new file readable by its owner only (0600 from creation)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    os.chmod(path, 0o600)


class Unreachable(click.ClickException):
    """The registry server did not answer: exit 3, never confused with a verdict (0, 1, 2)."""

    exit_code = 3


@click.group()
@click.version_option(package_name="kitemark-registry", prog_name="registry")
def main() -> None:
    """Kitemark Registry: assessed health technology, signed certificates anyone can verify."""


@main.command()
@click.option("--host", default=None, help="Address to bind (default REGISTRY_HOST or 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default REGISTRY_PORT or 8000).")
@click.option("--workers", default=1, show_default=True, help="Worker processes.")
def serve(host: str | None, port: int | None, workers: int) -> None:
    """Serve the API and pages with uvicorn."""
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "registry.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        proxy_headers=False,
    )


@main.group()
def db() -> None:
    """Database schema."""


@db.command()
def upgrade() -> None:
    """Apply every Piccolo migration not yet applied."""
    from registry.migrations import upgrade as run_upgrade

    _run(run_upgrade())
    click.echo("database is up to date")


@main.group()
def admin() -> None:
    """Administrator accounts."""


@admin.command()
@click.option("--email", default="admin@registry.local", show_default=True)
@click.option("--name", default="Registry administrator", show_default=True)
def bootstrap(email: str, name: str) -> None:
    """On first run, create the admin user and token (token written to a 0600 file)."""
    from registry.services.identity import bootstrap_admin

    settings = get_settings()
    created = _run(bootstrap_admin(email, name))
    if created is None:
        click.echo(f"an admin already exists; its first token file is {settings.admin_token_path}")
        return
    write_secret_file(settings.admin_token_path, created.token)
    click.echo(f"admin token written to {settings.admin_token_path} (mode 0600)")


@main.group()
def token() -> None:
    """API tokens."""


@token.command("create")
@click.option("--email", required=True, help="The user the token acts as.")
@click.option("--label", default="cli", show_default=True)
@click.option("--days", type=click.IntRange(1, 730), default=None, help="Days until it expires.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the token to this file (0600) instead of standard output.",
)
def token_create(email: str, label: str, days: int | None, out: Path | None) -> None:
    """Issue a token for a user; shown once."""
    from registry.services.identity import create_token_for_email
    from schemas.identity import TokenCreate

    try:
        created = _run(
            create_token_for_email(email, TokenCreate(label=label, expires_in_days=days))
        )
    except LookupError as e:
        raise click.ClickException(str(e)) from e
    if out is not None:
        write_secret_file(out, created.token)
        click.echo(f"token {created.details.prefix}… written to {out} (mode 0600)")
    else:
        click.echo(created.token)


@main.group()
def criteria() -> None:
    """Criteria sets."""


@criteria.command("publish")
@click.argument(
    "file", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=False
)
@click.option("--builtin", is_flag=True, help="Publish the built-in kitemark-core/1 set.")
def criteria_publish(file: Path | None, builtin: bool) -> None:
    """Publish a criteria set document (idempotent for identical content)."""
    import msgspec

    from registry.errors import RegistryError
    from registry.services import criteria as service
    from registry.services.audit import Actor

    if (file is None) == (not builtin):
        raise click.UsageError("give either FILE or --builtin")
    try:
        document = (
            service.builtin_document()
            if builtin
            else service.decode_document(
                file.read_bytes()  # type: ignore[union-attr]
            )
        )
        published, created = _run(service.publish(Actor("cli"), document))
    except (msgspec.ValidationError, msgspec.DecodeError) as e:
        raise click.ClickException(f"not a valid criteria set document: {e}") from e
    except RegistryError as e:
        where = f" (at {e.field})" if e.field else ""
        raise click.ClickException(f"{e.detail}{where}") from e
    state = "published" if created else "already published"
    click.echo(f"{published.key}/{published.version} {state}, sha256 {published.sha256}")


@main.group()
def keys() -> None:
    """Signing keys: the root CA and the keys that sign certificates."""


@keys.command("init")
def keys_init() -> None:
    """First run: create the root CA and a first signing key (files 0600 in the key directory)."""
    from registry.services import keys as service
    from registry.services.audit import Actor

    created = _run(service.init_keys(Actor("cli")))
    where = get_settings().key_dir
    if created is None:
        click.echo(f"signing keys already exist in {where}")
    else:
        click.echo(f"root CA and signing key {created.kid} created in {where}")


@keys.command("rotate")
def keys_rotate() -> None:
    """Retire the signing key in use and make a new one; what the old one signed still verifies."""
    from registry.services import keys as service
    from registry.services.audit import Actor

    created = _run(service.rotate(Actor("cli")))
    click.echo(f"new signing key {created.kid}; the previous key is retired")


@keys.command("revoke")
@click.argument("kid")
@click.option(
    "--from",
    "from_",
    required=True,
    help="When the key was compromised: ISO time (2026-11-01T09:00:00Z) or UTC seconds.",
)
def keys_revoke(kid: str, from_: str) -> None:
    """Mark key KID compromised from a time: what it signed from then on fails verification."""
    import datetime as dt

    from registry.errors import RegistryError
    from registry.services import keys as service
    from registry.services.audit import Actor

    try:
        moment = (
            int(from_)
            if from_.isdigit()
            else int(dt.datetime.fromisoformat(from_.replace("Z", "+00:00")).timestamp())
        )
    except ValueError as e:
        raise click.BadParameter(f"not a time: {from_!r}", param_hint="--from") from e
    try:
        record = _run(service.revoke(Actor("cli"), kid, moment))
    except RegistryError as e:
        raise click.ClickException(e.detail) from e
    click.echo(f"key {record.kid} revoked from {record.revoked_from}")


@main.group()
def certificates() -> None:
    """Certificates."""


@certificates.command("issue-pending")
def certificates_issue_pending() -> None:
    """Try every pending certificate issuance now, backoff or not; one line per failure.

    Exits 1 when any attempt failed, so that a script or an operator notices.
    """
    from registry.domain.issuance import IssuanceState
    from registry.services.issuance import issue_pending

    attempts = _run(issue_pending(ignore_backoff=True))
    issued = [a.certificate_id for a in attempts if a.certificate_id]
    click.echo(f"issued {len(issued)} certificate(s): {', '.join(issued) or '-'}")
    failed = [a for a in attempts if a.state is not IssuanceState.issued]
    for attempt in failed:
        click.echo(f"revision {attempt.revision_id}: {attempt.state.value}: {attempt.reason}")
    if failed:
        raise SystemExit(1)


@main.group()
def blobs() -> None:
    """Stored evidence files and PDFs."""


@blobs.command("sweep")
@click.option("--grace", default=3600, show_default=True, help="Keep blobs younger than this (s).")
def blobs_sweep(grace: int) -> None:
    """Delete stored files that nothing refers to, and writes a crash left unfinished."""
    from registry.services.blob_sweep import sweep

    report = _run(sweep(grace))
    click.echo(f"removed {len(report.blobs)} unreferenced blob(s)")
    click.echo(f"removed {len(report.incomplete)} unfinished write(s)")


@main.group()
def trust() -> None:
    """The signed trust bundle, for offline verification."""


def _default_trust_file() -> Path:
    return get_settings().data_dir / "trust.json"


@trust.command("fetch")
@click.option("--server", default=None, help="Registry base URL (default REGISTRY_BASE_URL).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--root-sha256", default=None, help="Refuse a bundle not signed by this root.")
def trust_fetch(server: str | None, out: Path | None, root_sha256: str | None) -> None:
    """Download the registry's signed trust bundle, verify it, and save it for offline use."""
    import json

    import httpx

    from registry import clock
    from registry.errors import RegistryError
    from registry.services.verification import load_bundle

    base = (server or get_settings().base_url).rstrip("/")
    try:
        response = httpx.get(f"{base}/v1/trust", timeout=30)
    except httpx.TransportError as e:
        raise Unreachable(f"could not reach {base}: {e}") from e
    try:
        response.raise_for_status()
        saved = {**response.json(), "fetched_at": clock.now(), "server": base}
        bundle = load_bundle(saved, root_sha256=root_sha256)
    except (httpx.HTTPError, ValueError) as e:
        raise click.ClickException(f"could not fetch the trust bundle from {base}: {e}") from e
    except RegistryError as e:
        raise click.ClickException(f"the trust bundle does not verify: {e.detail}") from e
    target = out or _default_trust_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(saved, indent=2))
    root = saved["document"]["root"]["sha256"]
    click.echo(f"saved {len(bundle.trust.keys)} key(s) to {target}; root sha256 {root}")


@main.command()
@click.argument("subject")
@click.option("--server", default=None, help="Registry base URL (default REGISTRY_BASE_URL).")
@click.option(
    "--trust",
    "trust_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Saved trust bundle for --offline (default DATA_DIR/trust.json).",
)
@click.option("--offline", is_flag=True, help="Verify with the saved trust bundle only.")
@click.option("--max-age", type=int, default=None, help="Oldest trust bundle (s) that counts.")
@click.option("--json", "as_json", is_flag=True, help="Print the full answer as JSON.")
def verify(
    subject: str,
    server: str | None,
    trust_file: Path | None,
    offline: bool,
    max_age: int | None,
    as_json: bool,
) -> None:
    """Verify a certificate: SUBJECT is a PDF file, a certificate ID, or a QR code's text.

    Exit status: 0 good to go, 1 not good to go, 2 unknown, 3 the server could not be reached.
    """
    import json

    import msgspec

    from registry.errors import RegistryError

    pdf = _read_pdf(subject)
    try:
        if offline:
            result = _verify_offline(subject, pdf, trust_file, max_age)
        else:
            result = _verify_online(subject, pdf, server)
    except RegistryError as e:
        raise click.ClickException(e.detail) from e
    if as_json:
        click.echo(json.dumps(msgspec.to_builtins(result), indent=2))
    else:
        _print_verdict(result)
    sys.exit({"good_to_go": 0, "not_good_to_go": 1}.get(result.verdict, 2))


def _read_pdf(subject: str) -> bytes | None:
    """The file's bytes if SUBJECT names a file; None for an ID, a statement or a URL."""
    if len(subject) > 4096 or subject.startswith(("http://", "https://")):
        return None
    try:
        path = Path(subject)
        return path.read_bytes() if path.is_file() else None
    except OSError:  # not a usable path (too long, bad characters): it is text
        return None


def _verify_online(subject: str, pdf: bytes | None, server: str | None) -> Any:
    import httpx
    import msgspec

    from schemas.verification import VerificationOut

    base = (server or get_settings().base_url).rstrip("/")
    try:
        if pdf is not None:
            files = {"file": ("certificate.pdf", pdf, "application/pdf")}
            response = httpx.post(f"{base}/v1/verify/pdf", files=files, timeout=60)
        elif "." in subject or "/" in subject:
            response = httpx.post(f"{base}/v1/verify/statement", json={"text": subject}, timeout=30)
        else:
            response = httpx.get(f"{base}/v1/verify/{subject}", timeout=30)
    except httpx.TransportError as e:
        raise Unreachable(f"could not reach {base}: {e}") from e
    except httpx.HTTPError as e:
        raise click.ClickException(f"could not verify at {base}: {e}") from e
    if response.status_code != 200:
        detail = response.json().get("detail", response.text) if response.content else ""
        raise click.ClickException(f"{response.status_code}: {detail}")
    try:
        return msgspec.json.decode(response.content, type=VerificationOut)
    except (msgspec.ValidationError, msgspec.DecodeError) as e:
        # e.g. a server older than this CLI (times as integer seconds, not RFC 3339)
        raise click.ClickException(f"{base} did not answer with a verification: {e}") from e


def _verify_offline(
    subject: str, pdf: bytes | None, trust_file: Path | None, max_age: int | None
) -> Any:
    import json

    from registry.services.verification import load_bundle, verify_offline

    path = trust_file or _default_trust_file()
    if not path.is_file():
        raise click.ClickException(f"no saved trust bundle at {path}: run `registry trust fetch`")
    bundle = load_bundle(json.loads(path.read_text()))
    limit = max_age if max_age is not None else get_settings().trust_max_age_seconds
    return _run(verify_offline(pdf if pdf is not None else subject, bundle, limit))


def _print_verdict(result: Any) -> None:
    marks = {"passed": "ok ", "failed": "NO ", "not_checked": " - "}
    click.echo(f"{result.headline.upper()}")
    if result.certificate:
        c = result.certificate
        click.echo(
            f"  {c.product_name} {c.product_version} by {c.supplier_name} ({c.certificate_id})"
        )
    click.echo(f"  {result.advice}")
    if result.mode == "offline":
        age = result.trust_age_seconds or 0
        click.echo(f"  Offline: live status was NOT checked; trust bundle is {age // 3600} h old.")
    for check in result.checks:
        click.echo(f"  {marks[check.outcome]} {check.number}. {check.name}: {check.explanation}")


@main.group()
def audit() -> None:
    """The hash-chained audit trail."""


@audit.command("verify")
def audit_verify() -> None:
    """Recompute the chain; exit 1 naming the first bad position if it is broken."""
    from registry.services.audit import verify

    report = _run(verify())
    if report.intact:
        click.echo(f"audit chain intact: {report.checked} events verified")
        return
    click.echo(
        f"audit chain BROKEN at position {report.first_bad_position}: {report.reason} "
        f"({report.checked} events verified before it)",
        err=True,
    )
    sys.exit(1)


@main.command()
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("openapi/openapi.json"),
    show_default=True,
)
def openapi(out: Path) -> None:
    """Write the OpenAPI document the app generates (committed; a test checks it)."""
    from registry.openapi import render_openapi

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(render_openapi())
    click.echo(f"wrote {out}")


if __name__ == "__main__":
    main()
