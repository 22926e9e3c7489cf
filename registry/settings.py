"""One settings Struct, read from the environment once per process."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import msgspec

MIB = 1024 * 1024


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Every knob the registry reads from its environment (prefix ``REGISTRY_``)."""

    data_dir: Path
    database_url: str | None
    host: str
    port: int
    base_url: str
    max_body_bytes: int
    sqlite_busy_timeout_seconds: float
    token_default_days: int
    token_touch_interval_seconds: int
    evidence_max_file_bytes: int
    evidence_max_dossier_bytes: int
    evidence_min_remaining_days: int
    issuance_retry_base_seconds: int
    issuance_retry_max_seconds: int
    issuance_lease_seconds: int
    lease_sweep_interval_seconds: float
    blob_sweep_interval_seconds: float
    blob_sweep_grace_seconds: int
    key_dir: Path
    key_rotation_days: int
    certificate_validity_days: int
    trust_max_age_seconds: int
    public_rate_per_minute: int
    trusted_proxies: tuple[str, ...]
    rate_limit_exempt: tuple[str, ...]
    tsa_url: str | None
    # Blob storage: files under the data directory unless blob_url is s3://bucket/prefix.
    blob_url: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    # Unset means botocore's usual credential chain (environment, profile, instance role).
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    # People signing in to the pages: idle and absolute session lifetimes, the longest API
    # token a person may give themselves, and the Redis that counts failed sign-ins.
    session_idle_seconds: int = 30 * 60
    session_max_seconds: int = 12 * 3600
    token_max_days: int = 365
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_key_prefix: str = "kitemark:"
    # Signs the CSRF cookie; unset means a random secret kept in the data directory (mode 0600).
    csrf_secret: str | None = None
    # The reviewers' queue colours an item overdue after this many working days (Mon–Fri).
    review_target_working_days: int = 10

    @property
    def sqlite_path(self) -> Path:
        """Where the SQLite database lives when no database URL is set."""
        return self.data_dir / "registry.sqlite3"

    @property
    def blob_dir(self) -> Path:
        """Where evidence files and PDFs are stored, by SHA-256."""
        return self.data_dir / "blobs"

    @property
    def secure_cookies(self) -> bool:
        """Cookies are ``Secure`` when the registry is served over HTTPS."""
        return self.base_url.startswith("https://")

    @property
    def csrf_secret_path(self) -> Path:
        """Where the generated CSRF secret is kept when REGISTRY_CSRF_SECRET is unset."""
        return self.data_dir / "csrf-secret"

    @property
    def admin_token_path(self) -> Path:
        """Where the first run writes the bootstrap admin token (mode 0600)."""
        return self.data_dir / "admin-token"


def _env(name: str, default: str) -> str:
    return os.environ.get(f"REGISTRY_{name}", default)


def _addresses(name: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in _env(name, "").split(",") if p.strip())


def _blob_url() -> str | None:
    url = os.environ.get("REGISTRY_BLOB_URL") or None
    if url is not None and not (url.startswith("s3://") and len(url) > len("s3://")):
        # Refuse at start-up rather than at the first upload.
        raise ValueError(f"REGISTRY_BLOB_URL must look like s3://bucket/prefix, got {url!r}")
    return url


def load_settings() -> Settings:
    """Read the settings from the environment (no caching: tests call this directly)."""
    host = _env("HOST", "127.0.0.1")
    port = int(_env("PORT", "8000"))
    data_dir = Path(_env("DATA_DIR", "var")).resolve()
    return Settings(
        data_dir=data_dir,
        database_url=os.environ.get("REGISTRY_DATABASE_URL") or None,
        host=host,
        port=port,
        base_url=_env("BASE_URL", f"http://{host}:{port}").rstrip("/"),
        max_body_bytes=int(_env("MAX_BODY_BYTES", str(1024 * 1024))),
        sqlite_busy_timeout_seconds=float(_env("SQLITE_BUSY_TIMEOUT", "30")),
        token_default_days=int(_env("TOKEN_DEFAULT_DAYS", "90")),
        token_touch_interval_seconds=int(_env("TOKEN_TOUCH_INTERVAL", "60")),
        evidence_max_file_bytes=int(_env("EVIDENCE_MAX_FILE_BYTES", str(25 * MIB))),
        evidence_max_dossier_bytes=int(_env("EVIDENCE_MAX_DOSSIER_BYTES", str(250 * MIB))),
        evidence_min_remaining_days=int(_env("EVIDENCE_MIN_REMAINING_DAYS", "30")),
        issuance_retry_base_seconds=int(_env("ISSUANCE_RETRY_BASE", "60")),
        issuance_retry_max_seconds=int(_env("ISSUANCE_RETRY_MAX", "3600")),
        issuance_lease_seconds=int(_env("ISSUANCE_LEASE", "300")),
        lease_sweep_interval_seconds=float(_env("LEASE_SWEEP_INTERVAL", "60")),
        blob_sweep_interval_seconds=float(_env("BLOB_SWEEP_INTERVAL", "3600")),
        blob_sweep_grace_seconds=int(_env("BLOB_SWEEP_GRACE", "3600")),
        key_dir=Path(_env("KEY_DIR", str(data_dir / "keys"))).resolve(),
        key_rotation_days=int(_env("KEY_ROTATION_DAYS", "365")),
        certificate_validity_days=int(_env("CERTIFICATE_VALIDITY_DAYS", "365")),
        trust_max_age_seconds=int(_env("TRUST_MAX_AGE", str(7 * 86_400))),
        public_rate_per_minute=int(_env("PUBLIC_RATE_PER_MINUTE", "120")),
        trusted_proxies=_addresses("TRUSTED_PROXIES"),
        rate_limit_exempt=_addresses("RATE_LIMIT_EXEMPT"),
        tsa_url=os.environ.get("REGISTRY_TSA_URL") or None,
        blob_url=_blob_url(),
        s3_endpoint_url=os.environ.get("REGISTRY_S3_ENDPOINT_URL") or None,
        s3_region=_env("S3_REGION", "us-east-1") or "us-east-1",
        s3_access_key_id=os.environ.get("REGISTRY_S3_ACCESS_KEY_ID") or None,
        s3_secret_access_key=os.environ.get("REGISTRY_S3_SECRET_ACCESS_KEY") or None,
        review_target_working_days=int(_env("REVIEW_TARGET_WORKING_DAYS", "10")),
    )


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
