"""Settings from the environment (prefix ``YOUTH_``), read once and cached.

``Settings`` holds the platform's own settings. Each service declares its rules' numbers in its own
module as a ``ServiceSettings`` subclass (same ``YOUTH_`` prefix, field names starting with the
service's name) and reads them with ``settings_of(ThatClass)``; every subclass is listed in
``SECTIONS`` so that the README's configuration table is checked against all of them.
"""

from __future__ import annotations

import base64
import math
import zlib
from collections import Counter
from datetime import date
from functools import lru_cache
from typing import Any, Literal, TypeVar

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Development defaults. They work out of the box for `make run` and the tests and are refused in prod.
DEV_JWT_SECRET = "dev-only-jwt-secret-change-me-0123456789abcdef"
DEV_FIELD_KEY = base64.b64encode(b"dev-only-field-key-32-bytes-long").decode()
DEV_WECHAT_SECRET = "dev-wechat-secret"
DEV_WECHAT_APPID = "wx0000000000devapp"

KUNMING_DISTRICTS: tuple[str, ...] = (
    "五华区", "盘龙区", "官渡区", "西山区", "东川区", "呈贡区", "晋宁区", "安宁市",
    "富民县", "宜良县", "石林彝族自治县", "嵩明县", "禄劝彝族苗族自治县", "寻甸回族彝族自治县",
)  # fmt: skip


def normalise_database_url(url: str) -> str:
    """Hosting platforms hand out ``postgres://`` or ``postgresql://`` URLs: use the async driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix):]
    return url


_CONFIG = SettingsConfigDict(env_prefix="YOUTH_", env_file=".env", extra="ignore")


class Settings(BaseSettings):
    model_config = _CONFIG

    env: Literal["dev", "test", "prod"] = "dev"
    database_url: str = "sqlite+aiosqlite:///./var/youth.db"
    redis_url: str | None = None
    db_pool_size: int = 10
    db_max_overflow: int = 5
    # A rush queues for a connection rather than failing: well under the mini-program's 60 s request timeout.
    db_pool_timeout_seconds: float = 20.0
    db_connect_timeout_seconds: float = 3.0
    db_statement_timeout_ms: int = 10_000
    # The bench only: count PostgreSQL round trips per process into files here (app.roundtrips).
    bench_round_trips_dir: str | None = None

    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_days: int = 30
    # 32 bytes, base64: the AES-256-GCM key for sensitive columns and the keyed hashes next to them.
    field_key: SecretStr = SecretStr(DEV_FIELD_KEY)

    wechat_appid: str = DEV_WECHAT_APPID
    wechat_secret: SecretStr = SecretStr(DEV_WECHAT_SECRET)
    # Unset in dev/test: the app starts the local WeChat stand-in and talks to it over HTTP.
    wechat_base_url: str | None = None
    wechat_timeout_seconds: float = 3.0
    wechat_standin_host: str = "127.0.0.1"
    wechat_standin_port: int = 8790
    wechat_token_refresh_margin_seconds: int = 300
    wechat_miniprogram_state: Literal["developer", "trial", "formal"] = "developer"
    # msg_sec_check needs the openid of a recent mini-program user; postings are checked as this one.
    wechat_check_openid: str = "o_content_check"
    # Subscribe-message template id per catalogue template (app.services.notifications.catalogue):
    # ids differ per mini-program. A template without an id here is not sent (the inbox still has it).
    wechat_templates: dict[str, str] = Field(default_factory=lambda: {
        name: f"tmpl-{name.replace('_', '-')}-dev" for name in (
            "account", "housing", "event", "counselling", "volunteer", "volunteer_hours",
            "volunteer_certificate", "volunteer_record", "reminder", "opening")
    })
    notification_max_attempts: int = 8

    login_max_failures: int = 5
    login_failure_window_seconds: int = 900
    # Overrides of the rate-limit buckets' defaults, "count/seconds" by bucket name (app.kit.ratelimit).
    rate_limits: dict[str, str] = Field(default_factory=dict)
    max_body_bytes: int = 1_048_576
    log_json: bool | None = None  # default: JSON in prod, plain text elsewhere
    # Addresses (or networks, "10.0.0.0/8") of the proxies in front whose X-Forwarded-For names the
    # client; every per-address rule (rate limits, login throttles) counts that client. "*" trusts all.
    forwarded_allow_ips: str = "127.0.0.1"
    api_docs: bool | None = None  # /docs, /redoc and /openapi.json; default: on except in prod
    # /metrics: a scrape must send it as a bearer token; unset, /metrics is open in dev/test and off in prod.
    metrics_token: SecretStr | None = None
    password_hash_threads: int = 2  # argon2 runs in this many threads, off the event loop
    # `youth serve`: a connection must send a complete request head within this many seconds, an idle
    # kept-alive one is closed after the keep-alive timeout, and past the concurrency limit (open
    # connections or requests in flight, per worker) new requests get 503 at once.
    server_header_timeout_seconds: float = 10.0
    server_keepalive_seconds: int = 5
    server_limit_concurrency: int | None = 1000

    # Shared publishing workflow
    content_blocklist: list[str] = Field(default_factory=lambda: ["赌博", "博彩", "代孕", "裸聊", "办证"])

    # Working days (app.kit.time): Monday to Friday, less these public holidays, plus these make-up
    # working days (调休) that fall on a weekend. Set them from the State Council's yearly notice.
    holidays: list[date] = Field(default_factory=list)
    extra_workdays: list[date] = Field(default_factory=list)

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, v: str) -> str:
        return normalise_database_url(v)

    @field_validator("rate_limits")
    @classmethod
    def _rules_parse(cls, v: dict[str, str]) -> dict[str, str]:
        from app.kit.ratelimit import Rule

        for name, rule in v.items():
            try:
                Rule.parse(rule)
            except ValueError as exc:
                raise ValueError(f"YOUTH_RATE_LIMITS[{name}]: {exc}") from exc
        return v

    @field_validator("field_key")
    @classmethod
    def _key_is_32_bytes(cls, v: SecretStr) -> SecretStr:
        try:
            raw = base64.b64decode(v.get_secret_value(), validate=True)
        except ValueError as exc:
            raise ValueError("YOUTH_FIELD_KEY must be base64") from exc
        if len(raw) != 32:
            raise ValueError("YOUTH_FIELD_KEY must decode to 32 bytes")
        return v

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def uses_standin(self) -> bool:
        return self.env != "prod" and not self.wechat_base_url

    @property
    def wechat_url(self) -> str:
        if self.wechat_base_url:
            return self.wechat_base_url.rstrip("/")
        return f"http://{self.wechat_standin_host}:{self.wechat_standin_port}"

    @property
    def json_logs(self) -> bool:
        return self.env == "prod" if self.log_json is None else self.log_json

    @property
    def docs_enabled(self) -> bool:
        return self.env != "prod" if self.api_docs is None else self.api_docs

    def check_production_ready(self) -> None:
        """Refuse to run in prod on development secrets or without a real WeChat endpoint."""
        if self.env != "prod":
            return
        problems = []
        jwt_secret = self.jwt_secret.get_secret_value()
        if jwt_secret == DEV_JWT_SECRET or len(jwt_secret) < 32 or estimated_bits(jwt_secret) < 128:
            problems.append("YOUTH_JWT_SECRET (a random value, e.g. `openssl rand -base64 48`)")
        key = base64.b64decode(self.field_key.get_secret_value())
        # A random key is almost never printable text: one that is was typed, not generated.
        if self.field_key.get_secret_value() == DEV_FIELD_KEY or (key.isascii() and key.decode().isprintable()) \
                or estimated_bits(key) < 128:
            problems.append("YOUTH_FIELD_KEY (32 random bytes, e.g. `openssl rand -base64 32`)")
        if self.wechat_secret.get_secret_value() == DEV_WECHAT_SECRET or self.wechat_appid == DEV_WECHAT_APPID:
            problems.append("YOUTH_WECHAT_APPID / YOUTH_WECHAT_SECRET")
        if not self.wechat_base_url:
            problems.append("YOUTH_WECHAT_BASE_URL (https://api.weixin.qq.com)")
        if self.is_sqlite:
            problems.append("YOUTH_DATABASE_URL (use PostgreSQL in production)")
        if problems:
            raise RuntimeError("refusing to start in prod without: " + ", ".join(problems))


def estimated_bits(secret: str | bytes) -> float:
    """A generous estimate of a secret's entropy: the smaller of its length times the Shannon entropy
    of its symbols (few distinct symbols) and the bits left after compression (repeated words and
    runs: "password" typed four times, "0123456789" again and again), and zero for an exact repetition."""
    n = len(secret)
    if n == 0:
        return 0.0
    for period in range(1, n // 2 + 1):
        if n % period == 0 and secret[:period] * (n // period) == secret:
            return 0.0
    counts = Counter(secret)
    shannon = n * -sum(c / n * math.log2(c / n) for c in counts.values())
    raw = secret.encode() if isinstance(secret, str) else secret
    compressed = 8.0 * max(0, len(zlib.compress(raw, 9)) - _ZLIB_OVERHEAD)
    return min(shannon, compressed)


_ZLIB_OVERHEAD = len(zlib.compress(b"", 9)) + 3  # header, checksum and the end-of-block code


@lru_cache
def get_settings() -> Settings:
    return Settings()


SECTIONS: list[type[BaseSettings]] = []


class ServiceSettings(BaseSettings):
    """A service's settings: subclass it in the service's own module (see the module docstring)."""

    model_config = _CONFIG

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        SECTIONS.append(cls)


S = TypeVar("S", bound=BaseSettings)
_sections: dict[type[Any], Any] = {}


def settings_of(cls: type[S]) -> S:
    """The service's settings, read once and cached like ``get_settings()``."""
    found = _sections.get(cls)
    if found is None:
        found = _sections[cls] = cls()
    return found


def reset_settings() -> None:
    """Forget every cached settings object (tests that change the environment)."""
    get_settings.cache_clear()
    _sections.clear()
