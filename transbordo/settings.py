"""One Settings object, read from the environment in one place."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of Transbordo; `transbordo up` flags override these."""

    model_config = SettingsConfigDict(env_prefix="TRANSBORDO_", extra="ignore")

    data_dir: Path = Path(".data")
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "TRANSBORDO_DATABASE_URL")
    )
    temporal_address: str | None = Field(
        default=None,
        validation_alias=AliasChoices("TEMPORAL_ADDRESS", "TRANSBORDO_TEMPORAL_ADDRESS"),
    )
    temporal_namespace: str = Field(
        default="default",
        validation_alias=AliasChoices("TEMPORAL_NAMESPACE", "TRANSBORDO_TEMPORAL_NAMESPACE"),
    )
    temporal_api_key: str | None = Field(
        default=None,
        validation_alias=AliasChoices("TEMPORAL_API_KEY", "TRANSBORDO_TEMPORAL_API_KEY"),
    )
    task_queue: str = "transbordo"
    admin_token: str | None = None
    flows_dir: Path = Path("flows")
    reply_timeout_seconds: float = Field(default=5.0, gt=0)
    max_messages_per_run: int = Field(default=1000, ge=1, le=1800)
    """Customer messages per run before continue-as-new (the server caps updates at 2,000)."""
    flow_max_blocks: int = Field(default=2_000, ge=1)
    flow_max_bytes: int = Field(default=512 * 1024, ge=1024)
    flow_env_allow: list[str] = Field(default_factory=lambda: ["FLOW_*"])
    """Environment variables flows may read as ${NAME} (`*` wildcards); see docs/flows.md."""
    web_session_seconds: int = Field(default=24 * 3600, ge=60)
    """How long a web chat session lasts (the browser asks for a new one after)."""
    encryption_keys: SecretStr | None = None
    """Payload and secret encryption keys, `id:base64key,...` (32-byte keys, the first is
    active); unset: `<data_dir>/keys.json`, created on first start. See docs/architecture.md."""
    contact_hash_key: SecretStr | None = None
    """Base64 key (>= 32 bytes) of the contact id's keyed hash; set with `encryption_keys`."""
    ui_origins: list[str] | None = None
    """Origins allowed to call the codec endpoint (the Temporal UI); default: the local UI."""
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    temporal_port: int = 7233
    temporal_ui_port: int = 8233

    @property
    def effective_database_url(self) -> str:
        """SQLite file under the data folder unless DATABASE_URL says otherwise."""
        return self.database_url or f"sqlite:///{self.data_dir / 'transbordo.db'}"

    @property
    def effective_ui_origins(self) -> list[str]:
        port = self.temporal_ui_port
        return self.ui_origins or [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]

    @property
    def effective_temporal_address(self) -> str:
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
