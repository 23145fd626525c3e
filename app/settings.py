"""One validated settings object, read from the environment by entrypoints (never at import)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.domain import Plan

DEV_SECRET_PLACEHOLDER = "change-me"


class AppEnv(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


RecognizerName = Literal["local", "openai", "fake"]


class Settings(BaseSettings):
    """Every setting of API and worker; README's configuration table mirrors this class."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    app_env: AppEnv = AppEnv.DEVELOPMENT
    database_url: str = "postgresql://postgres@127.0.0.1:5432/foodai"
    db_pool_size: int = Field(10, ge=1, le=200)
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_topic_paid: str = "ai.products.paid"
    kafka_topic_free: str = "ai.products.free"
    kafka_topic_partitions: int = Field(3, ge=1, le=1000)
    kafka_group_id: str = "foodai-workers"
    kafka_enable_idempotence: bool = False
    kafka_fetch_max_wait_ms: int = Field(20, ge=0, le=10_000)
    kafka_send_timeout_s: float = Field(5.0, gt=0)
    kafka_max_poll_interval_ms: int = Field(300_000, ge=1000)  # polling never waits for jobs (app/queue/consumer.py)
    kafka_session_timeout_ms: int = Field(10_000, ge=1000)  # aiokafka's default; a Tansu join takes half
    jwt_secret: SecretStr = SecretStr(DEV_SECRET_PLACEHOLDER)
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    jwt_leeway_s: int = Field(30, ge=0, le=300)
    graphql_legacy_ws: bool = False
    graphiql: bool | None = None  # default: on outside production
    max_images_per_job: int = Field(10, ge=1, le=100)
    max_image_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    max_lang_length: int = Field(16, ge=2, le=64)
    worker_concurrency: int = Field(5, ge=1, le=1000)
    worker_buffer: int = Field(50, ge=1, le=100_000)
    # slots free jobs may not take, so a paid job starts at once behind a free backlog (none at concurrency 1)
    worker_paid_reserved: int = Field(1, ge=0, le=1000)
    submit_hints: bool = True  # the API announces new jobs, idle workers claim them at once (app/queue/hints.py)
    worker_lease_s: float = Field(60.0, gt=0)
    worker_heartbeat_s: float = Field(10.0, gt=0)
    worker_sweep_interval_s: float = Field(15.0, gt=0)
    worker_republish_after_s: float = Field(30.0, gt=0)
    worker_max_attempts: int = Field(3, ge=1, le=20)
    worker_shutdown_grace_s: float = Field(20.0, ge=0)
    recognizer_timeout_s: float = Field(90.0, gt=0)
    recognizer_receipt: RecognizerName = "local"
    recognizer_products: RecognizerName = "local"
    # the local recognizer's OCR engine (app.recognition.ocr)
    recognizer_ocr: Literal[
        "auto", "ppocrv6", "ppocrv6-reread", "rapidocr", "tesseract", "hybrid", "ppocrv6-small", "ppocrv5"] = "auto"
    # product barcodes not in the bundled table: asked of Open Food Facts (off by default), cached in PostgreSQL
    barcode_lookup: bool = False
    barcode_lookup_timeout_s: float = Field(3.0, gt=0)
    recognizer_base_url: str | None = None
    recognizer_api_key: SecretStr | None = None
    recognizer_model: str | None = None
    fake_recognizer_latency_ms: int = Field(0, ge=0)
    fake_recognizer_failure_rate: float = Field(0.0, ge=0.0, le=1.0)
    data_dir: Path = Path(".foodai")

    # --- reliability (issue 4) ---

    # --- security (issue 5) ---
    # JWT: HS (jwt_algorithm + jwt_secret) unless a public key or a JWKS URL is set; then jwt_key_algorithm only.
    jwt_public_key: str | None = None  # PEM (RS*/PS*/ES*/EdDSA public key)
    jwt_jwks_url: str | None = None  # e.g. https://<project>.supabase.co/auth/v1/.well-known/jwks.json
    jwt_key_algorithm: Literal["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"] = "RS256"
    jwt_audience: str | None = None  # enforced when set (Supabase: authenticated; Firebase: the project id)
    jwt_issuer: str | None = None  # enforced when set
    jwt_subject: Literal["uuid", "hashed"] = "uuid"  # hashed: any `sub` -> uuid5(iss|sub) (Auth0, Firebase)
    jwt_plan_claim: str = Field("plan", min_length=1, max_length=200)
    jwt_jwks_cache_s: float = Field(600.0, gt=0)  # how long fetched keys are trusted
    jwt_jwks_refresh_s: float = Field(10.0, ge=0)  # at most one refresh per this long for an unknown kid
    jwt_jwks_timeout_s: float = Field(5.0, gt=0)
    max_request_bytes: int | None = Field(None, ge=1024)  # multipart; default 64 MiB (docs/security.md)
    max_image_pixels: int = Field(50_000_000, ge=1)  # width x height, checked before decoding
    graphql_max_depth: int = Field(10, ge=2, le=100)
    graphql_max_tokens: int = Field(2000, ge=50)
    graphql_max_aliases: int = Field(30, ge=0)
    graphql_introspection: bool | None = None  # default: on outside production
    ws_max_subscriptions: int = Field(20, ge=1, le=1000)  # operations in flight on one socket
    ws_connection_init_timeout_s: float = Field(10.0, gt=0)
    quota_free_per_minute: int = Field(10, ge=0)  # submissions per user; 0 refuses every submission
    quota_free_per_day: int = Field(100, ge=0)
    quota_paid_per_minute: int = Field(60, ge=0)
    quota_paid_per_day: int = Field(2000, ge=0)

    # --- hostile load: request bodies and websocket messages (issue 14, docs/security.md "Memory budget") ---
    max_json_request_bytes: int = Field(32 * 1024 * 1024, ge=1024)  # base64 photos: 4 of 6 MB, or one at the limit
    body_budget_bytes: int = Field(256 * 1024 * 1024, ge=4 * 1024 * 1024)  # memory for request bodies per process
    body_budget_wait_ms: int = Field(250, ge=0, le=10_000)  # a body that does not fit waits this long, then 503
    max_uploads_per_user: int = Field(2, ge=1, le=1000)  # bodies over 64 KiB in flight per user and process
    request_body_timeout_s: float = Field(120.0, gt=0)  # an admitted body must arrive within this (else 408)
    ws_max_message_bytes: int = Field(64 * 1024, ge=4096)  # a larger websocket message closes the socket (1009)

    @model_validator(mode="after")
    def _check_security(self) -> Settings:
        if self.jwt_public_key and self.jwt_jwks_url:
            raise ValueError("set JWT_PUBLIC_KEY or JWT_JWKS_URL, not both")
        if self.app_env is AppEnv.PRODUCTION and self.jwt_jwks_url and not self.jwt_jwks_url.startswith("https://"):
            raise ValueError("JWT_JWKS_URL must be https:// in production")
        return self

    @property
    def jwt_asymmetric(self) -> bool:
        """Tokens are verified with a public key (PEM or JWKS), never with JWT_SECRET."""
        return bool(self.jwt_public_key or self.jwt_jwks_url)

    @property
    def request_bytes_limit(self) -> int:
        """The largest HTTP request body accepted (multipart): a job of 10 phone photos of 6 MB, plus 4 MiB.

        Any one image may reach MAX_IMAGE_BYTES; a job of images all at that limit does not fit
        (its memory would take most of a small pod's budget at once): such jobs are split.
        """
        if self.max_request_bytes is not None:
            return self.max_request_bytes
        return min(64 * 1024 * 1024, self.max_images_per_job * self.max_image_bytes + 1024 * 1024)

    @property
    def json_request_bytes_limit(self) -> int:
        """The largest body of any other type (JSON with base64 images): lower, as it costs twice the memory."""
        return min(self.max_json_request_bytes, self.request_bytes_limit)

    @property
    def introspection_enabled(self) -> bool:
        if self.graphql_introspection is not None:
            return self.graphql_introspection
        return self.app_env is not AppEnv.PRODUCTION

    # --- operations: scan page, GraphiQL assets, metrics, logs (issue 7) ---
    scan_page: bool | None = None  # /scan; default: on outside production (app.pages.scan_page_enabled)
    dev_token: SecretStr | None = None  # prefilled by the scan page and GraphiQL; honoured only in development
    graphiql_assets_dir: Path | None = None  # serve GraphiQL's JS/CSS from here instead of the CDN
    metrics_enabled: bool = True  # /metrics on the API
    worker_metrics_port: int = Field(0, ge=0, le=65535)  # worker's /metrics, /healthz, /readyz; 0 = off
    worker_metrics_host: str = "127.0.0.1"
    log_format: Literal["auto", "json", "console"] = "auto"  # auto: json in production, console otherwise
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_access: bool = True  # uvicorn's line per request: off where a proxy already logs requests
    otel_enabled: bool = False  # OpenTelemetry tracing API -> Kafka -> worker (needs the `tracing` extra)
    otel_exporter: Literal["otlp", "console"] = "otlp"  # console: one JSON line per span on stdout
    otel_endpoint: str | None = None  # OTLP/HTTP, e.g. http://collector:4318; None: OTEL_EXPORTER_OTLP_* env
    otel_service_name: str = "foodai"  # service.name is "{this}-api" / "{this}-worker"

    # --- recognition (issue 3) ---
    ocr_threads: int = Field(1, ge=1, le=64)  # onnxruntime intra-op threads per OCR call
    ocr_parallel: int = Field(2, ge=1, le=64)  # images OCR'd at once per worker process
    ocr_angle_classifier: bool = False  # handles upside-down photos, at some CPU cost

    @model_validator(mode="after")
    def _refuse_default_secret_outside_dev(self) -> Settings:
        if self.app_env is AppEnv.PRODUCTION:
            secret = self.jwt_secret.get_secret_value()
            if not self.jwt_asymmetric and secret == DEV_SECRET_PLACEHOLDER:  # with public keys it is unused
                raise ValueError("JWT_SECRET must be set when APP_ENV=production")
            if not self.jwt_asymmetric and len(secret) < 32:
                raise ValueError("JWT_SECRET must be at least 32 characters in production")
            if "fake" in (self.recognizer_receipt, self.recognizer_products):
                raise ValueError("the fake recognizer is for tests and benchmarks, not production")
        return self

    @property
    def graphiql_enabled(self) -> bool:
        if self.graphiql is not None:
            return self.graphiql
        return self.app_env is not AppEnv.PRODUCTION

    @property
    def topics(self) -> tuple[str, str]:
        """Topics in the order the worker serves them: paid first."""
        return (self.kafka_topic_paid, self.kafka_topic_free)

    def topic_for(self, plan: str) -> str:
        """Paid users' jobs go to the topic workers serve first."""
        return self.kafka_topic_paid if plan == Plan.PAID else self.kafka_topic_free
