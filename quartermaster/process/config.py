"""Every setting in one place: its environment variable, its default and its validation.

The command line (`process/command_line.py`) overrides the environment; both end up in one `Config`.
"""

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from quartermaster.jobs.callback_addresses import parse_host_entry
from quartermaster.jobs.constraints import is_valid_constraint
from quartermaster.jobs.labels import UNNAMED_DEPLOYMENT_MARK

DEFAULT_PORT = 9090
DEFAULT_BIND = "0.0.0.0"  # noqa: S104 - a server on a swarm manager listens on all interfaces
DEFAULT_MEMORY_MB = 250
DEFAULT_WORKERS = 2
DEFAULT_WORKER_CONNECTIONS = 1000
DEFAULT_CONSTRAINTS = ("node.role==worker",)
DEFAULT_DOCKER_TIMEOUT = 10.0
DEFAULT_TTL = 7 * 24 * 3600  # HISTORY_TTL: a finished job's record is kept a week
DEFAULT_AUDIT_TTL = 90 * 24 * 3600  # AUDIT_TTL: an audit entry is kept 90 days
DEFAULT_KEEP_FINISHED = 60
DEFAULT_REAPER_INTERVAL = 5.0
DEFAULT_CALLBACK_RETRY_SECONDS = 600
DEFAULT_FOLLOW_MAX_SECONDS = 3600.0
DEFAULT_DATA_DIR = "/var/lib/quartermaster"
DEFAULT_LOG_KEEP_BYTES = 1024 * 1024
POSTGRESQL_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")
STORE_FILE = "quartermaster.db"  # the SQLite store's file in DATA_DIR
MAX_BODY_BYTES = 1024 * 1024
# The shortest token the server starts with: a shorter one is within reach of guessing (and a
# placeholder like "changeme" or "test" is refused).
MIN_TOKEN_CHARS = 16
# A deployment's name: it marks its jobs (a label value) and its Idempotency-Key claims.
DEPLOYMENT_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
GENERATE_COMMAND = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


class ConfigError(ValueError):
    """A setting is missing or invalid; the message says which and why."""


@dataclass(frozen=True)
class Config:
    token: str
    port: int = DEFAULT_PORT
    bind: str = DEFAULT_BIND
    workers: int = DEFAULT_WORKERS
    worker_connections: int = DEFAULT_WORKER_CONNECTIONS
    # Long requests (/status?wait, /logs?follow) at once per worker; beyond: 429. None: half of
    # worker_connections (see long_request_limit), so short requests always have connections left.
    max_long_requests: int | None = None
    follow_max_seconds: float = DEFAULT_FOLLOW_MAX_SECONDS  # the longest a followed log lasts
    memory_mb: int = DEFAULT_MEMORY_MB
    constraints: tuple[str, ...] = DEFAULT_CONSTRAINTS
    # None: docker-py's own environment handling (DOCKER_HOST, DOCKER_TLS_VERIFY, ...).
    docker_host: str | None = None
    docker_timeout: float = DEFAULT_DOCKER_TIMEOUT
    max_body_bytes: int = MAX_BODY_BYTES
    ttl: int = DEFAULT_TTL  # seconds a finished job's record is kept, unless /run says otherwise
    max_ttl: int | None = None  # the largest ttl /run takes; None: `ttl` (see ttl_limit)
    keep_finished: int = DEFAULT_KEEP_FINISHED  # seconds a finished job's service is kept
    reaper_interval: float = DEFAULT_REAPER_INTERVAL  # 0: no reaper in this instance
    callback_secret: str | None = None  # signs callbacks (HMAC-SHA256) when set
    callback_hosts: tuple[str, ...] = ()  # allowed callback `host`s or `host:port`s; empty: any
    # Callbacks may go to loopback, private, link-local, ... addresses: only for a receiver on this
    # host or its network (a lab, a test). Off, such a callback_url is refused.
    callback_allow_private: bool = False
    callback_retry_seconds: int = DEFAULT_CALLBACK_RETRY_SECONDS
    metrics_public: bool = False  # /metrics without the token
    # The record store: DATABASE_URL (SQLAlchemy's form), else SQLite in DATA_DIR.
    data_dir: str = DEFAULT_DATA_DIR
    database_url: str | None = field(default=None, repr=False)  # may hold a password
    # Seals what templates keep of registry credentials (process/sealing.py); None: a template
    # may not keep any.
    secret_key: str | None = field(default=None, repr=False)
    log_keep_bytes: int = DEFAULT_LOG_KEEP_BYTES  # the newest bytes of a job's log kept
    keep_env_values: bool = False  # records keep `env` values, not only names
    # Several deployments on one swarm (staging and production; each with its own store): each
    # sees and reaps only its own jobs. "": the unnamed deployment.
    deployment: str = ""
    # Addresses or networks (CIDR) of proxies in front (nginx): a request from one is the
    # client's of X-Forwarded-For, for the audit trail. Empty: the peer's address, always.
    trusted_proxies: tuple[str, ...] = ()
    audit_ttl: int = DEFAULT_AUDIT_TTL  # seconds an audit entry is kept

    def __post_init__(self) -> None:
        if not self.token:
            raise ConfigError(
                "no token: set TOKEN_FILE (a file holding it) or TOKEN, or pass --token-file"
            )
        _require(
            len(self.token) >= MIN_TOKEN_CHARS,
            f"the token must be at least {MIN_TOKEN_CHARS} characters, got {len(self.token)}: "
            f"make one with {GENERATE_COMMAND}",
        )
        _require(1 <= self.port <= 65535, f"port must be 1-65535, got {self.port}")
        _require(self.workers >= 1, f"workers must be at least 1, got {self.workers}")
        _require(self.worker_connections >= 1, "worker connections must be at least 1")
        _require(
            0 <= self.long_request_limit < self.worker_connections,
            "max long requests must be 0 or more and below worker connections (short requests "
            f"need connections too), got {self.long_request_limit} of {self.worker_connections}",
        )
        _require(self.follow_max_seconds > 0, "follow max seconds must be positive")
        _require(self.memory_mb >= 6, f"memory must be at least 6 MB, got {self.memory_mb}")
        _require(self.docker_timeout > 0, "docker timeout must be positive")
        _require(self.ttl >= 0, f"history ttl must be 0 or more seconds, got {self.ttl}")
        _require(
            self.ttl <= self.ttl_limit,
            f"MAX_TTL must be at least HISTORY_TTL ({self.ttl}), got {self.max_ttl}",
        )
        _require(self.keep_finished >= 0, "KEEP_FINISHED must be 0 or more seconds")
        _require(self.reaper_interval >= 0, "the reaper interval must be 0 or more seconds")
        _require(self.callback_retry_seconds >= 0, "callback retry seconds must be 0 or more")
        _require(self.log_keep_bytes >= 0, "LOG_KEEP_BYTES must be 0 or more")
        _require(bool(self.data_dir), "DATA_DIR must name a directory")
        if self.database_url is not None:
            _require(
                self.database_url.startswith(("sqlite:///", *POSTGRESQL_SCHEMES)),
                "DATABASE_URL must be sqlite:///PATH or postgresql://USER:PASSWORD@HOST/DB",
            )
        _require(
            self.deployment == "" or _is_deployment_name(self.deployment),
            "DEPLOYMENT must be 1-32 lowercase letters, digits and dashes, starting with a letter "
            f"or digit, and not {UNNAMED_DEPLOYMENT_MARK!r}",
        )
        for constraint in self.constraints:
            _require(is_valid_constraint(constraint), f"invalid constraint {constraint!r}")
        for entry in self.callback_hosts:
            try:
                parse_host_entry(entry)
            except ValueError as error:
                raise ConfigError(str(error)) from None
        _require(self.audit_ttl >= 0, "AUDIT_TTL must be 0 or more seconds")
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ConfigError(
                    f"TRUSTED_PROXIES: not an address or network: {proxy!r}"
                ) from None

    def __repr__(self) -> str:
        # The token and the callback secret must never reach a log line, even through a repr.
        return f"Config(port={self.port}, bind={self.bind!r}, workers={self.workers}, ...)"

    @property
    def long_request_limit(self) -> int:
        """Long requests at once per worker: MAX_LONG_REQUESTS, or half the connections."""
        if self.max_long_requests is None:
            return self.worker_connections // 2
        return self.max_long_requests

    @property
    def ttl_limit(self) -> int:
        """The largest ttl /run takes: MAX_TTL, or HISTORY_TTL. A record is kept no longer than
        the operator allows, whatever a client asks."""
        return self.ttl if self.max_ttl is None else self.max_ttl

    @property
    def store_url(self) -> str:
        """The record store's database: DATABASE_URL, else the SQLite file in DATA_DIR."""
        if self.database_url:
            scheme, separator, rest = self.database_url.partition("://")
            if scheme in ("postgresql", "postgres"):  # with the one driver installed: psycopg 3
                return f"postgresql+psycopg{separator}{rest}"
            return self.database_url
        return f"sqlite:///{os.path.join(os.path.abspath(self.data_dir), STORE_FILE)}"

    @property
    def bind_address(self) -> str:
        return f"{self.bind}:{self.port}"


def from_env(environ: Mapping[str, str] | None = None, **overrides: Any) -> Config:
    """Build the configuration from environment variables, then apply overrides (flags)."""
    env = os.environ if environ is None else environ
    settings: dict[str, Any] = {
        "token": env.get("TOKEN", "") or _token_file(env, overrides),
        "port": _int(env, "PORT", DEFAULT_PORT),
        "bind": env.get("BIND", DEFAULT_BIND),
        "workers": _int(env, "WORKERS", DEFAULT_WORKERS),
        "worker_connections": _int(env, "WORKER_CONNECTIONS", DEFAULT_WORKER_CONNECTIONS),
        "max_long_requests": _int(env, "MAX_LONG_REQUESTS", None),
        "follow_max_seconds": _float(env, "FOLLOW_MAX_SECONDS", DEFAULT_FOLLOW_MAX_SECONDS),
        "memory_mb": _int(env, "MEMORY", DEFAULT_MEMORY_MB),
        "constraints": parse_list(env.get("CONSTRAINTS")) or DEFAULT_CONSTRAINTS,
        "docker_host": env.get("DOCKER_HOST") or None,
        "docker_timeout": _float(env, "DOCKER_TIMEOUT", DEFAULT_DOCKER_TIMEOUT),
        # TTL: this setting's name before the record store (when it meant the service's life).
        "ttl": _int(env, "HISTORY_TTL", _int(env, "TTL", DEFAULT_TTL)),
        "max_ttl": _int(env, "MAX_TTL", None),
        "keep_finished": _int(env, "KEEP_FINISHED", DEFAULT_KEEP_FINISHED),
        "reaper_interval": _float(env, "REAPER_INTERVAL", DEFAULT_REAPER_INTERVAL),
        "callback_secret": env.get("CALLBACK_SECRET") or None,
        "callback_hosts": parse_list(env.get("CALLBACK_HOSTS")),
        "callback_allow_private": _flag(env, "CALLBACK_ALLOW_PRIVATE"),
        "metrics_public": _flag(env, "METRICS_PUBLIC"),
        "callback_retry_seconds": _int(
            env, "CALLBACK_RETRY_SECONDS", DEFAULT_CALLBACK_RETRY_SECONDS
        ),
        "data_dir": env.get("DATA_DIR") or DEFAULT_DATA_DIR,
        "database_url": env.get("DATABASE_URL") or _secret_file(env, "DATABASE_URL_FILE") or None,
        "log_keep_bytes": _int(env, "LOG_KEEP_BYTES", DEFAULT_LOG_KEEP_BYTES),
        "keep_env_values": _flag(env, "KEEP_ENV_VALUES"),
        "deployment": env.get("DEPLOYMENT", ""),
        "trusted_proxies": parse_list(env.get("TRUSTED_PROXIES")),
        "audit_ttl": _int(env, "AUDIT_TTL", DEFAULT_AUDIT_TTL),
        "secret_key": env.get("SECRET_KEY") or _secret_file(env, "SECRET_KEY_FILE") or None,
    }
    settings.update({k: v for k, v in overrides.items() if v is not None})
    return Config(**settings)


def _is_deployment_name(name: str) -> bool:
    return DEPLOYMENT_PATTERN.fullmatch(name) is not None and name != UNNAMED_DEPLOYMENT_MARK


def _token_file(env: Mapping[str, str], overrides: dict[str, Any]) -> str:
    """The token from the file TOKEN_FILE names, when neither `--token` nor TOKEN gives one."""
    if overrides.get("token") is not None:
        return ""
    return _secret_file(env, "TOKEN_FILE")


def _secret_file(env: Mapping[str, str], name: str) -> str:
    """What the file the variable `name` names holds (a Docker or Kubernetes secret), without
    its trailing newline; "" when the variable is not set. Errors name the variable and the
    file, never what the file holds."""
    path = env.get(name)
    if not path:
        return ""
    return read_secret(path, name)


def read_secret(path: str, name: str) -> str:
    """What the file at `path` holds, without its trailing newline: a secret (`name` says which
    setting names the file, for errors, which never say what the file holds)."""
    try:
        with open(path, encoding="utf-8") as file:
            secret = file.read().rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or "not UTF-8 text"
        raise ConfigError(f"{name} {path!r} cannot be read: {reason}") from None
    if not secret:
        raise ConfigError(f"{name} {path!r} is empty")
    return secret


def parse_list(text: str | None) -> tuple[str, ...]:
    """A list setting (`CONSTRAINTS`, `CALLBACK_HOSTS`): items separated by commas."""
    if not text:
        return ()
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "") in ("1", "true", "yes")


def _int(env: Mapping[str, str], name: str, default: int | None) -> int | None:
    return _number(env, name, default, int, "an integer")


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    return _number(env, name, default, float, "a number")


def _number(env: Mapping[str, str], name: str, default: Any, kind: type, what: str) -> Any:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be {what}, got {raw!r}") from None


def _require(condition: bool, message: str):
    if not condition:
        raise ConfigError(message)
