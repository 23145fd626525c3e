"""One validated settings object, read from the environment by entrypoints (never at import)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    worker_lease_s: float = Field(60.0, gt=0)
    worker_heartbeat_s: float = Field(10.0, gt=0)
    worker_sweep_interval_s: float = Field(15.0, gt=0)
    worker_republish_after_s: float = Field(30.0, gt=0)
    worker_max_attempts: int = Field(3, ge=1, le=20)
    worker_shutdown_grace_s: float = Field(20.0, ge=0)
    recognizer_timeout_s: float = Field(90.0, gt=0)
    recognizer_receipt: RecognizerName = "local"
    recognizer_products: RecognizerName = "local"
    recognizer_base_url: str | None = None
    recognizer_api_key: SecretStr | None = None
    recognizer_model: str | None = None
    fake_recognizer_latency_ms: int = Field(0, ge=0)
    fake_recognizer_failure_rate: float = Field(0.0, ge=0.0, le=1.0)
    data_dir: Path = Path(".foodai")

    # --- reliability (issue 4) ---

    # --- security (issue 5) ---

    # --- operations: scan page, GraphiQL assets, metrics, logs (issue 7) ---

    # --- recognition (issue 3) ---

    @model_validator(mode="after")
    def _refuse_default_secret_outside_dev(self) -> Settings:
        if self.app_env is AppEnv.PRODUCTION:
            if self.jwt_secret.get_secret_value() == DEV_SECRET_PLACEHOLDER:
                raise ValueError("JWT_SECRET must be set when APP_ENV=production")
            if len(self.jwt_secret.get_secret_value()) < 32:
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
