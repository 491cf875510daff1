"""Server settings and where they come from: CLI > environment > TOML file > defaults.

Every setting has one name used in all three places: ``--media-cap-mb``, ``VIDMOCK_MEDIA_CAP_MB``,
``media_cap_mb = ...``. Values are checked here, once, so the server never starts half-configured.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from mockserver.jobs import Progression, parse_results
from mockserver.transports.ws_sessions import IDLE_TIMEOUT, RESUME_WINDOW
from mockserver.vocabulary import ResultRelease

MIB = 1024 * 1024
ENV_PREFIX = "VIDMOCK_"


class ConfigError(ValueError):
    """A setting has a value the server cannot run with; the message names its source."""


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8765
    api_keys: tuple[str, ...] = ()  # empty: any non-empty key is accepted (and is its namespace)
    data_dir: Path | None = None  # None: a temporary directory removed on exit
    progression: Progression = Progression("immediate")
    results: ResultRelease = ResultRelease.TOGETHER  # result release: together (all in one reply) | staggered (one more per poll)
    ttl: int = 3600  # seconds a generated video stays downloadable unless the task sets ttl
    media_cap_mb: float = 1024.0  # disk held by served media; oldest evicted beyond it
    seed: int | None = None  # server RNG seed (drawn seeds, UUIDs); None: unpredictable
    max_body_mb: float = 32.0  # largest accepted request body (inline base64 images included)
    synth_concurrency: int | None = None  # parallel ffmpeg processes; None: one per CPU
    delivery_attempts: int = 5  # tries per webhook POST / upload PUT, the first included
    delivery_backoff: float = 1.0  # seconds before the first retry, doubling per retry
    delivery_backoff_max: float = 30.0  # cap of the wait between retries
    delivery_timeout: float = 10.0  # seconds one attempt may take
    delivery_concurrency: int = 16  # deliveries in flight at once
    delivery_log_size: int = 10_000  # delivery records kept (oldest dropped)
    delivery_allow_hosts: tuple[str, ...] = ()  # empty: deliver to any host; else only these
    delivery_follow_redirects: bool = False  # follow same-host 3xx instead of failing the attempt
    journal_size: int = 5000  # journal entries kept (oldest dropped)
    control_token: str | None = None  # when set, /__mock/ (but health) needs X-Vidmock-Control-Token
    virtual_clock: bool = False  # server time moves only through POST /__mock/clock/advance
    ws_idle_timeout: float = IDLE_TIMEOUT  # seconds without a client frame before a socket is closed
    ws_resume_window: float = RESUME_WINDOW  # seconds a WebSocket session (and its buffer) outlives its socket

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * MIB)

    @property
    def media_cap_bytes(self) -> int:
        return int(self.media_cap_mb * MIB)


def _positive(kind: Callable[[str], Any]) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        number = kind(value)
        if number <= 0:
            raise ValueError("must be positive")
        return number
    return parse


def _port(value: Any) -> int:
    port = int(value)
    if not 0 <= port <= 65535:
        raise ValueError("must be 0..65535 (0 picks a free port)")
    return port


def _api_keys(value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(str(item).strip() for item in items if str(item).strip())


def _optional_int(value: Any) -> int | None:
    return None if value in (None, "") else int(value)


def _progression(value: Any) -> Progression:
    return value if isinstance(value, Progression) else Progression.parse(str(value))


def _non_negative(value: Any) -> float:
    number = float(value)
    if number < 0:
        raise ValueError("must not be negative")
    return number


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        raise ValueError("expected true or false")
    return text in ("1", "true", "yes", "on")


PARSERS: dict[str, Callable[[Any], Any]] = {
    "host": str,
    "port": _port,
    "api_keys": _api_keys,
    "data_dir": lambda value: Path(value).expanduser() if value not in (None, "") else None,
    "progression": _progression,
    "results": parse_results,
    "ttl": _positive(int),
    "media_cap_mb": _positive(float),
    "seed": _optional_int,
    "max_body_mb": _positive(float),
    "synth_concurrency": lambda value: _positive(int)(value) if value not in (None, "") else None,
    "delivery_attempts": _positive(int),
    "delivery_backoff": _non_negative,
    "delivery_backoff_max": _non_negative,
    "delivery_timeout": _positive(float),
    "delivery_concurrency": _positive(int),
    "delivery_log_size": _positive(int),
    "delivery_allow_hosts": _api_keys,  # the same comma list / TOML array parsing
    "delivery_follow_redirects": _flag,
    "journal_size": _positive(int),
    "control_token": lambda value: str(value) if value not in (None, "") else None,
    "virtual_clock": _flag,
    "ws_idle_timeout": _positive(float),
    "ws_resume_window": _non_negative,
}
assert set(PARSERS) == {field.name for field in fields(ServerConfig)}


def env_name(setting: str) -> str:
    return ENV_PREFIX + setting.upper()


def from_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The settings present in the environment (``VIDMOCK_PORT`` -> ``port``)."""
    return {name: environ[env_name(name)] for name in PARSERS if env_name(name) in environ}


def from_file(path: Path) -> dict[str, Any]:
    """The settings of a TOML file: top-level keys named like the settings."""
    try:
        table = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config file {path}: {exc}") from exc
    unknown = sorted(set(table) - set(PARSERS))
    if unknown:
        raise ConfigError(f"config file {path}: unknown setting(s) {', '.join(unknown)}")
    return table


def load_config(
    cli: Mapping[str, Any], environ: Mapping[str, str], file: Path | None = None
) -> ServerConfig:
    """Merge the sources (CLI wins, then env, then file) and check every value.

    ``cli`` holds only the options the user actually gave (None means "not given").
    """
    layers = [
        ("config file", from_file(file) if file else {}),
        ("environment", from_env(environ)),
        ("command line", {k: v for k, v in cli.items() if v is not None}),
    ]
    settings: dict[str, Any] = {}
    for source, layer in layers:
        for name, raw in layer.items():
            try:
                settings[name] = PARSERS[name](raw)
            except (TypeError, ValueError) as exc:
                shown = env_name(name) if source == "environment" else name
                raise ConfigError(f"{source}: {shown}={raw!r}: {exc}") from exc
    return ServerConfig(**settings)
