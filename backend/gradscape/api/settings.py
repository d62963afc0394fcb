"""Service settings with safe defaults, read from ``GRADSCAPE_*`` environment variables."""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from gradscape.core.config import Limits
from gradscape.service.live import Budgets

#: Host names a browser on this machine uses for a loopback server.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
#: What a token may look like: long enough to guess at no rate, safe in a URL and a cookie.
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9._~-]{16,256}")
#: Settings given as comma-separated lists in ``GRADSCAPE_*`` variables.
LIST_SETTINGS = ("allowed_origins", "allowed_hosts", "trusted_proxies")
#: Settings that are no limit and stay off ``/api/catalog``.
PRIVATE_SETTINGS = {"host", "port", "db", "frontend", "token", "allowed_hosts", "trusted_proxies"}


def default_db_path() -> str:
    """``$XDG_DATA_HOME/gradscape/sessions.db`` (``~/.local/share`` when unset)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(base) / "gradscape" / "sessions.db")


class Settings(BaseModel):
    """Every limit the service enforces; published at ``/api/catalog``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    db: str = Field(default_factory=default_db_path, description="SQLite file, or :memory:")
    max_sessions: int = Field(500, ge=1, description="live sessions at once (429 beyond)")
    idle_expiry_seconds: float = Field(7 * 24 * 3600.0, gt=0, description="idle sessions expire")
    max_steps_per_call: int = Field(100_000, ge=1, description="updates per step request")
    max_steps_per_second: int = Field(200_000, ge=1, description="play speed ceiling")
    max_trajectory_steps: int = Field(1_000_000, ge=1, description="steps a session may reach")
    max_events: int = Field(10_000, ge=0, description="live changes a session may hold")
    checkpoint_bytes: int = Field(
        32 * 1024**2,
        ge=1,
        description="states one run keeps to rebuild its past (at most 64, densest near now)",
    )
    memory_bytes: int = Field(
        2 * 1024**3,
        ge=1,
        description="sessions held in memory at once; over it the least recently used idle "
        "ones wait in the database (with db :memory:, creates are refused with 503)",
    )
    max_resolution: int = Field(201, ge=2, le=1001, description="surface grid G (G x G)")
    max_samples: int = Field(10_000, ge=1, description="rows of data")
    max_features: int = Field(64, ge=1)
    max_hidden_layers: int = Field(8, ge=0)
    max_width: int = Field(256, ge=1)
    max_params: int = Field(100_000, ge=1, description="parameters P of a model")
    max_response_floats: int = Field(2_000_000, ge=1, description="numbers in one response")
    max_body_bytes: int = Field(4_000_000, ge=1024, description="request body size")
    max_ws_message_bytes: int = Field(65_536, ge=1024, description="WebSocket message size")
    frame_rate: float = Field(30.0, gt=0, le=120, description="WebSocket frames per second")
    viewer_grace_seconds: float = Field(
        30.0, gt=0, description="play pauses itself when no viewer has read a frame this long"
    )
    worker_threads: int = Field(2, ge=1, le=64, description="threads for NumPy work")
    max_call_seconds: float = Field(
        10.0,
        gt=0,
        le=3600,
        description="compute one call may take; a step call stops there (truncated), a "
        "surface or curvature that would take longer is refused",
    )
    blas_threads: int = Field(
        1, ge=1, le=64, description="BLAS threads per matrix product (sessions run side by side)"
    )
    frontend: str | None = Field(None, description="folder of the page (default: the checkout's)")
    allowed_origins: tuple[str, ...] = Field(
        (),
        description="Origins (scheme://host[:port]) besides the page's own that may send "
        "state-changing requests and open sockets; '*' allows any (no CSRF protection)",
    )
    allowed_hosts: tuple[str, ...] = Field(
        (),
        description="Host headers answered (400 otherwise) besides the loopback names and "
        "the bind address; '*.example.org' is any subdomain, '*' any host (no protection "
        "against DNS rebinding)",
    )
    token: SecretStr | None = Field(
        None,
        description="when set, every API call and socket needs it (Authorization: Bearer, "
        "or the cookie that opening /?token=... sets); /api/health stays open",
    )
    max_sessions_per_client: int = Field(
        20,
        ge=0,
        description="live sessions one client address may hold (429 beyond; 0 = no quota)",
    )
    trusted_proxies: tuple[str, ...] = Field(
        (),
        description="addresses or networks (CIDR) of proxies whose X-Forwarded-For names "
        "the client (and whose X-Forwarded-Proto says https)",
    )

    def core_limits(self) -> Limits:
        """The subset the training core checks when it builds a config."""
        return Limits(
            max_samples=self.max_samples,
            max_features=self.max_features,
            max_hidden_layers=self.max_hidden_layers,
            max_width=self.max_width,
            max_params=self.max_params,
            max_csv_bytes=self.max_body_bytes,
            checkpoint_bytes=self.checkpoint_bytes,
            max_steps=self.max_trajectory_steps,
        )

    @field_validator("db")
    @classmethod
    def _sqlite_only(cls, value: str) -> str:
        if "://" in value or value.startswith(("postgres:", "postgresql:", "sqlite:")):
            raise ValueError(
                f"db: {value!r} looks like a URL; give a SQLite file path or :memory: "
                "(no other database is supported yet)"
            )
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"trusted_proxies: {item!r} is not an IP address or network"
                ) from None
        return value

    @field_validator("token")
    @classmethod
    def _strong(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not TOKEN_SHAPE.fullmatch(value.get_secret_value()):
            raise ValueError(
                "token: give 16 to 256 of A-Z a-z 0-9 . _ ~ - (it goes in a URL and a cookie), "
                'e.g. python3 -c "import secrets; print(secrets.token_urlsafe(24))"'
            )
        return value

    @field_validator("allowed_hosts", "allowed_origins")
    @classmethod
    def _lowercase(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.strip().lower().rstrip("/") for v in value if v.strip())

    def hosts(self) -> tuple[str, ...]:
        """The Host names answered: the loopback names, the bind address (unless it is a
        wildcard) and ``allowed_hosts``. A rebinding page's Host is its own name, never a
        loopback one, so those are always safe to answer (a health probe uses them)."""
        bind = self.host.strip("[]").lower()
        named = () if bind in ("0.0.0.0", "::", "") else (bind,)
        return tuple(dict.fromkeys((*LOOPBACK_HOSTS, *named, *self.allowed_hosts)))

    def proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """``trusted_proxies`` as networks."""
        return tuple(ipaddress.ip_network(p, strict=False) for p in self.trusted_proxies)

    def budgets(self) -> Budgets:
        """What one run may ask of the server (``LiveRun`` enforces these)."""
        return Budgets(
            max_steps_per_call=self.max_steps_per_call,
            max_trajectory_steps=self.max_trajectory_steps,
            max_response_floats=self.max_response_floats,
            max_steps_per_second=self.max_steps_per_second,
            max_events=self.max_events,
            max_resolution=self.max_resolution,
            max_call_seconds=self.max_call_seconds,
        )

    def public(self) -> dict[str, Any]:
        """Limits a client may see (no host, port or file paths)."""
        return self.model_dump(exclude=PRIVATE_SETTINGS, mode="json")

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Defaults, then ``GRADSCAPE_<NAME>`` variables, then explicit overrides."""
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            raw = os.environ.get(f"GRADSCAPE_{name.upper()}")
            if name == "token" and not raw:
                raw = None  # GRADSCAPE_TOKEN= (empty) is no token
            if raw is not None:
                items = tuple(o.strip() for o in raw.split(",") if o.strip())
                values[name] = items if name in LIST_SETTINGS else raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)
