"""Server settings: one table, and where each value comes from (CLI > environment > TOML file > defaults).

Each field of ``ServerConfig`` is one setting, and its ``field(metadata=...)`` carries the parser,
help and metavar. ``SETTINGS`` (read from ``fields(ServerConfig)``) drives everything a user meets:
the ``vidmock serve`` flags, the ``VIDMOCK_*`` variables, the TOML keys, the example config and
the table in docs/server.md (``mockserver/commands/config_render.py``). A setting has one name everywhere:
``media_cap_mb`` is ``--media-cap-mb``, ``VIDMOCK_MEDIA_CAP_MB`` and ``media_cap_mb = ...``.
Values are checked here, once, so the server never starts half-configured.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import platformdirs

from mockserver.contract.vocabulary import MediaToleranceMode, Progression, ProgressionKind, ResultRelease, parse_results

WS_RESUME_WINDOW = 120.0  # seconds a session outlives its last socket (Runware's documented buffer)
WS_IDLE_TIMEOUT = 120.0  # seconds without a frame either way before a clean close (Runware's figure)

MIB = 1024 * 1024
ENV_PREFIX = "VIDMOCK_"
CONFIG_VARIABLE = "VIDMOCK_CONFIG"  # names the TOML file when --config is not given


class ConfigError(ValueError):
    """A setting has a value the server cannot run with; the message names its source."""


# --- value parsers: each takes what a flag, a variable (text) or a TOML key (typed) gives ----------


def _integer(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise ValueError("expected an integer")


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError("expected a number")
    try:
        number = float(value)
    except ValueError:
        raise ValueError("expected a number") from None
    if not math.isfinite(number):
        raise ValueError("expected a finite number")
    return number


def _positive(kind: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        number = kind(value)
        if number <= 0:
            raise ValueError("must be positive")
        return number
    return parse


def _non_negative(value: Any) -> float:
    number = _number(value)
    if number < 0:
        raise ValueError("must not be negative")
    return number


def _optional(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """An empty variable (``VIDMOCK_SEED=``) means "not set", like leaving it out."""
    return lambda value: None if value in (None, "") else parse(value)


def _port(value: Any) -> int:
    port = _integer(value)
    if not 0 <= port <= 65535:
        raise ValueError("must be 0..65535 (0 picks a free port)")
    return port


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    return value


def _words(value: Any) -> tuple[str, ...]:
    """A comma list (flag, variable) or a TOML array of strings; blanks dropped."""
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        items = list(value)
    else:
        raise ValueError("expected a list of strings or a comma-separated string")
    return tuple(item.strip() for item in items if item.strip())


def _path(value: Any) -> Path:
    return Path(_text(value)).expanduser()


USER_CACHE, NO_CACHE = "user", "none"  # the words cache_dir takes besides a folder


def _cache_dir(value: Any) -> Path | str:
    """A folder, ``user`` (the user's cache folder) or ``none``/empty (a per-run cache)."""
    if isinstance(value, Path):
        return value
    text = _text(value).strip()
    if text.lower() in (USER_CACHE, NO_CACHE, ""):
        return text.lower() or NO_CACHE
    return Path(text).expanduser()


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/vidmock`` or ``~/.cache/vidmock`` (the platform's equivalent elsewhere)."""
    return Path(platformdirs.user_cache_dir("vidmock", appauthor=False))


def _progression(value: Any) -> Progression:
    return value if isinstance(value, Progression) else Progression.parse(_text(value))


def _results(value: Any) -> ResultRelease:
    return parse_results(_text(value))


def _url(*schemes: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = _text(value).strip()
        parts = urlsplit(text)
        if parts.scheme not in schemes or not parts.hostname:
            raise ValueError(f"expected an absolute {' or '.join(schemes)} URL")
        return text
    return parse


_http_url = _url("http", "https")
_ws_url = _url("ws", "wss")


def _member(kind: type[StrEnum]) -> Callable[[Any], StrEnum]:
    def parse(value: Any) -> StrEnum:
        try:
            return kind(_text(value).strip().lower())
        except ValueError:
            raise ValueError(f"expected {' or '.join(kind)}") from None
    return parse


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        raise ValueError("expected true or false")
    return text in ("1", "true", "yes", "on")


# --- the table ----------------------------------------------------------------------------------


def setting(default: Any, parse: Callable[[Any], Any], help: str, *, metavar: str | None = None,
            default_text: str | None = None, example: Any = None, name: str | None = None,
            aliases: tuple[str, ...] = (), command: str | None = None) -> Any:
    """A ``ServerConfig`` field that is also a user-facing setting.

    ``help`` is one line without the default (added from ``default`` or ``default_text``, for
    defaults that need words). ``example`` is shown, commented out, in the example config for a
    setting whose default is "not set". ``name`` is the user-facing name when it differs from the
    attribute; ``aliases`` are deprecated names still read from variables and TOML files.
    ``command`` is the one command the setting belongs to (``serve`` or ``proxy``); None: both.
    """
    spec = dict(parse=parse, help=help, metavar=metavar, default_text=default_text, example=example,
                name=name, aliases=aliases, command=command)
    return field(default=default, metadata={"setting": spec})


@dataclass(frozen=True)
class ServerConfig:
    host: str = setting("127.0.0.1", _text, "address to bind", metavar="HOST")
    port: int = setting(8765, _port, "port to bind; 0 picks a free one", metavar="PORT")
    api_keys: tuple[str, ...] = setting(
        (), _words, "an accepted API key; each key is its own namespace", metavar="KEY",
        default_text="none, so any non-empty key is accepted", name="api_key", aliases=("api_keys",))
    data_dir: Path | None = setting(
        None, _optional(_path), "folder of media/ (served files) and cache/ (rendered videos)", metavar="DIR",
        default_text="a temporary folder, removed on exit", example="vidmock-data")
    cache_dir: Path | str = setting(
        USER_CACHE, _cache_dir, "rendered videos kept between runs and shared by servers: a folder, `user` "
        "(the user's cache folder), or `none` (a per-run cache in the data dir)", metavar="DIR",
        default_text="`user`: `$XDG_CACHE_HOME/vidmock`, else `~/.cache/vidmock`")
    progression: Progression = setting(
        Progression(ProgressionKind.IMMEDIATE), _progression, "when a job whose videos exist is reported finished: "
        "immediate | polls:N | seconds:T | manual", metavar="POLICY")
    results: ResultRelease = setting(
        ResultRelease.TOGETHER, _results, "how the N results of a task are released: together (one reply) | staggered "
        "(one more per poll) | generations (one more per poll, one status item per generation)", metavar="MODE")
    ttl: int = setting(3600, _positive(_integer), "seconds a video URL lives when the task sets no ttl",
                       metavar="SECONDS")
    media_cap_mb: float = setting(
        1024.0, _positive(_number), "disk held by served media, in MiB; beyond it expired, then oldest files go",
        metavar="MIB")
    seed: int | None = setting(
        None, _optional(_integer), "seed of the server RNG (drawn seeds, every UUID it mints)", metavar="N",
        default_text="random", example=1234)
    max_body_mb: float = setting(
        32.0, _positive(_number), "largest request body or WebSocket frame in MiB, inline base64 images included",
        metavar="MIB")
    synth_concurrency: int | None = setting(
        None, _optional(_positive(_integer)), "parallel ffmpeg processes", metavar="N",
        default_text="one per CPU", example=2)
    delivery_attempts: int = setting(
        5, _positive(_integer), "tries per webhook POST / upload PUT, the first included", metavar="N")
    delivery_backoff: float = setting(
        1.0, _non_negative, "seconds before the first delivery retry, doubling per retry (0: at once)",
        metavar="SECONDS")
    delivery_backoff_max: float = setting(
        30.0, _non_negative, "cap of the wait between delivery retries, in seconds", metavar="SECONDS")
    delivery_timeout: float = setting(
        10.0, _positive(_number), "seconds one delivery attempt may take", metavar="SECONDS")
    delivery_concurrency: int = setting(
        16, _positive(_integer), "delivery attempts in flight at once", metavar="N")
    delivery_log_size: int = setting(
        10_000, _positive(_integer), "delivery records kept, oldest dropped", metavar="N")
    delivery_allow_hosts: tuple[str, ...] = setting(
        (), _words, "deliver webhooks and uploads only to this host", metavar="HOST",
        default_text="none, so any host", name="delivery_allow_host", aliases=("delivery_allow_hosts",))
    delivery_follow_redirects: bool = setting(
        False, _flag, "follow same-host 3xx redirects of a delivery (off: a 3xx fails the attempt)")
    journal_size: int = setting(5000, _positive(_integer), "journal entries kept, oldest dropped", metavar="N")
    control_token: str | None = setting(
        None, _optional(_text), "require the header X-Vidmock-Control-Token: TOKEN on /__mock/ "
        "(all but /__mock/health)", metavar="TOKEN", default_text="none, so /__mock/ is open",
        example="change-me")
    virtual_clock: bool = setting(
        False, _flag, "freeze server time: it moves only through POST /__mock/clock/advance")
    ws_idle_timeout: float = setting(
        WS_IDLE_TIMEOUT, _positive(_number), "seconds without a frame either way (received or sent) before a WebSocket is closed",
        metavar="SECONDS")
    ws_resume_window: float = setting(
        WS_RESUME_WINDOW, _non_negative, "seconds a WebSocket session (and its buffered replies) can be "
        "resumed with its connectionSessionUUID", metavar="SECONDS")
    verbose: bool = setting(False, _flag, "one line per REST request and per WebSocket frame on stderr")
    # -- vidmock serve --replay: answer from a recording (docs/drift.md) ------------------------------
    replay: Path | None = setting(
        None, _optional(_path), "answer the tasks a recording holds (vidmock proxy --record) with its replies; "
        "the rest as the mock", metavar="FILE", default_text="none", example="recording.jsonl", command="serve")
    replay_media: Path | None = setting(
        None, _optional(_path), "the recorded videos of --replay (vidmock proxy --record-media); without them, "
        "placeholders of the recorded size", metavar="DIR", default_text="none", example="recording-media",
        command="serve")
    replay_strict: bool = setting(
        False, _flag, "refuse a videoInference or imageUpload the --replay recording does not hold "
        "(recordingNotFound) instead of mocking it", command="serve")
    # -- vidmock proxy: forward to a real upstream and judge the traffic (docs/drift.md) -------------
    upstream: str = setting(
        "https://api.runware.ai/v1", _http_url, "the REST endpoint requests are forwarded to (Runware's "
        "production API by default)", metavar="URL", command="proxy")
    upstream_ws: str | None = setting(
        None, _optional(_ws_url), "the WebSocket endpoint sockets are forwarded to", metavar="URL",
        default_text="derived: Runware's WebSocket endpoint for its REST one, else the upstream URL with ws(s) for http(s)",
        example="ws://127.0.0.1:9000/v1", command="proxy")
    upstream_timeout: float = setting(
        60.0, _positive(_number), "seconds to wait for the upstream's reply to a request or frame",
        metavar="SECONDS", command="proxy")
    record: Path | None = setting(
        None, _optional(_path), "write every exchange with the upstream to this JSON Lines file, keys redacted",
        metavar="FILE", default_text="none", example="recording.jsonl", command="proxy")
    record_media: Path | None = setting(
        None, _optional(_path), "also download each result's video into this folder (and check its size, "
        "frame rate and length)", metavar="DIR", default_text="none", example="recording-media", command="proxy")
    fail_on_drift: bool = setting(
        False, _flag, "exit with status 3 when the proxy found any drift (for a nightly CI job)", command="proxy")
    media_tolerance: MediaToleranceMode = setting(
        MediaToleranceMode.EXACT, _member(MediaToleranceMode), "how far a --record-media video may be off its task: exact (the size "
        "exact, the length within 0.1 s) or live (4 pixels per side, 0.15 s: as live videos were seen)",
        metavar="MODE", command="proxy")

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * MIB)

    @property
    def media_cap_bytes(self) -> int:
        return int(self.media_cap_mb * MIB)

    def render_cache(self, data_dir: Path) -> Path:
        """Where rendered videos are kept, for a server whose data dir is ``data_dir``."""
        if self.cache_dir == USER_CACHE:
            return user_cache_dir()
        if self.cache_dir == NO_CACHE:
            return data_dir / "cache"
        return Path(self.cache_dir)


@dataclass(frozen=True)
class Setting:
    """One row of the table: a ``ServerConfig`` attribute as users name and set it."""

    attribute: str
    name: str  # the TOML key; the flag and the variable are derived from it
    default: Any
    parse: Callable[[Any], Any]
    help: str
    metavar: str | None
    default_text: str | None
    example: Any
    aliases: tuple[str, ...]
    command: str | None  # "serve" | "proxy": the one command it belongs to; None: both

    def belongs_to(self, command: str) -> bool:
        return self.command in (None, command)

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return env_name(self.name)

    @property
    def repeatable(self) -> bool:
        """A list: a repeatable flag, a comma-separated variable, a TOML array."""
        return isinstance(self.default, tuple)

    @property
    def switch(self) -> bool:
        """A boolean: ``--x`` / ``--no-x``."""
        return isinstance(self.default, bool)

    def names(self) -> tuple[str, ...]:
        """Every name the setting is read under in variables and files, the current one first."""
        return (self.name, *self.aliases)


SETTINGS: tuple[Setting, ...] = tuple(
    Setting(attribute=f.name, name=f.metadata["setting"]["name"] or f.name, default=f.default,
            **{key: value for key, value in f.metadata["setting"].items() if key != "name"})
    for f in fields(ServerConfig))
BY_NAME: dict[str, Setting] = {name: s for s in SETTINGS for name in s.names()}  # aliases included
BY_ATTRIBUTE: dict[str, Setting] = {s.attribute: s for s in SETTINGS}


# --- the other VIDMOCK_* names, so that one nobody reads can be pointed out --------------------


@dataclass(frozen=True)
class Variable:
    """An environment variable vidmock defines for something other than a server setting."""

    name: str
    where: str  # who sets or reads it
    meaning: str


CHECK_CLIENT = "`vidmock check` sets it for the client command"
TEST_SUITE = "vidmock's own test suite"
BENCHMARKS = "vidmock's benchmarks"
OTHER_VARIABLES: tuple[Variable, ...] = (
    Variable(CONFIG_VARIABLE, "`vidmock serve`", "the TOML settings file, when `--config` is not given"),
    Variable("VIDMOCK_OFFLINE", TEST_SUITE + " and `vidmock proxy`", "`1`: the proxy refuses any upstream, and any "
             "video download, not on 127.0.0.1/localhost (the test suite sets it, so no test can reach Runware)"),
    Variable("VIDMOCK_HTTP_URL", CHECK_CLIENT, "the REST endpoint, `http://127.0.0.1:PORT/v1`"),
    Variable("VIDMOCK_WS_URL", CHECK_CLIENT, "the WebSocket endpoint, `ws://127.0.0.1:PORT/v1`"),
    Variable("VIDMOCK_BASE_URL", CHECK_CLIENT, "`http://127.0.0.1:PORT`: media and `/__mock/`"),
    Variable("VIDMOCK_API_KEY", CHECK_CLIENT, "the one key the mock accepts: the same idea as the server "
             "setting `api_key` that `vidmock serve` reads under this name"),
    Variable("RUNWARE_API_KEY", CHECK_CLIENT, "the same key, under the name Runware's SDKs and examples read"),
    Variable("VIDMOCK_EXTERNAL_URL", "the pytest plugin", "use the vidmock already serving at "
             "`http://HOST:PORT` instead of starting one"),
    Variable("VIDMOCK_SDK_HOME", TEST_SUITE, "where `tests/sdk/setup_sdks.sh` installs the official SDKs "
             "(default `~/.cache/vidmock-sdk`)"),
    Variable("VIDMOCK_SDK_PYTHON", TEST_SUITE, "the Python that builds the SDKs' venvs (default `python3`)"),
    Variable("VIDMOCK_CLIENT_TIMEOUT", TEST_SUITE, "seconds an SDK client script waits for a video (default 90)"),
    Variable("VIDMOCK_CLIENT_STRICT", TEST_SUITE, "1: an SDK client script exits as an application would (1 when the SDK raised or a result is NSFW)"),
    Variable("VIDMOCK_INVALID_API_KEY", TEST_SUITE, "the unconfigured key SDK client scripts send to test refusals"),
    Variable("VIDMOCK_I2V_IMAGE", TEST_SUITE, "a data URI the SDK client scripts use as first frame"),
    Variable("VIDMOCK_TEST_CACHE", TEST_SUITE, "what the suite keeps between runs, outside the work tree: its "
             "render cache, pytest's cache, hypothesis' database (default `~/.cache/vidmock-tests`)"),
    Variable("VIDMOCK_TEST_PYTEST_CACHE", TEST_SUITE, "pytest's cache folder for this checkout (set by "
             "`tests/conftest.py` under `VIDMOCK_TEST_CACHE`; pyproject's `cache_dir` names it)"),
    Variable("VIDMOCK_FUZZ_EXPLORE", TEST_SUITE, "`1`: the fuzz tests draw random seeds and ten times the examples"),
    Variable("VIDMOCK_DASHBOARD_SCREENSHOTS", TEST_SUITE, "a folder where the dashboard tests keep their "
             "screenshots, to look at"),
    Variable("VIDMOCK_PEERS_HOME", BENCHMARKS, "where `benchmarks/install_peers.sh` installs Prism and WireMock "
             "(default `~/.cache/vidmock-peers`)"),
    *(Variable(f"VIDMOCK_WRK_{name}", BENCHMARKS, f"set by `benchmarks/wrkload.py` for the wrk script: {meaning}")
      for name, meaning in (("BODY", "the request body"), ("UUID_SLOT", "the taskUUID in it replaced per request"),
                            ("TOKEN", "the bearer key"), ("REQUESTS", "the answers after which wrk stops"),
                            ("EXPECT", "a pattern every 2xx body must match"),
                            ("REFUSE", "a pattern no 2xx body may match"), ("OUT", "the report file"))),
)


def env_name(setting_name: str) -> str:
    return ENV_PREFIX + setting_name.upper()


def known_variables() -> set[str]:
    """Every ``VIDMOCK_*`` name vidmock reads or sets, deprecated aliases included."""
    return {env_name(name) for name in BY_NAME} | {variable.name for variable in OTHER_VARIABLES}


def did_you_mean(word: str, candidates: list[str], prefix: str = "") -> str:
    """`` (did you mean X?)`` for a near miss, else ``""``; the shared prefix does not count."""
    stems = {candidate.removeprefix(prefix).lower(): candidate for candidate in candidates}
    close = difflib.get_close_matches(word.removeprefix(prefix).lower(), list(stems), n=1, cutoff=0.7)
    return f" (did you mean {stems[close[0]]}?)" if close else ""


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """A warning per ``VIDMOCK_*`` variable no part of vidmock reads: most likely a typo."""
    known = known_variables()
    current = [s.env for s in SETTINGS]
    return [f"{name} is not a vidmock variable; ignored{did_you_mean(name, current, ENV_PREFIX)}"
            for name in sorted(environ) if name.startswith(ENV_PREFIX) and name not in known]


# --- the sources --------------------------------------------------------------------------------


def _pick(layer: Mapping[str, Any], shown: Callable[[str], str], source: str,
          notices: list[str]) -> dict[str, tuple[str, Any]]:
    """``{attribute: (name as the user wrote it, raw value)}`` of one source; deprecated names noted."""
    picked: dict[str, tuple[str, Any]] = {}
    for s in SETTINGS:
        given = [name for name in s.names() if name in layer]
        if len(given) > 1:
            raise ConfigError(f"{source}: {' and '.join(shown(name) for name in given)} name the same "
                              f"setting; keep {shown(s.name)}")
        if given:
            if given[0] != s.name:
                notices.append(f"{source}: {shown(given[0])} is deprecated; use {shown(s.name)}")
            picked[s.attribute] = (shown(given[0]), layer[given[0]])
    return picked


def from_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The settings present in the environment, by setting name (``VIDMOCK_PORT`` -> ``port``)."""
    return {name: environ[env_name(name)] for name in BY_NAME if env_name(name) in environ}


def from_file(path: Path) -> dict[str, Any]:
    """The settings of a TOML file: top-level keys named like the settings."""
    try:
        table = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config file {path}: {exc}") from exc
    unknown = sorted(set(table) - set(BY_NAME))
    if unknown:
        current = [s.name for s in SETTINGS]
        named = ", ".join(key + did_you_mean(key, current) for key in unknown)
        raise ConfigError(f"config file {path}: unknown setting(s) {named}")
    return table


def load_config(cli: Mapping[str, Any], environ: Mapping[str, str], file: Path | None = None, *,
                notices: list[str] | None = None) -> ServerConfig:
    """Merge the sources (CLI wins, then env, then file) and check every value.

    ``cli`` holds the options by setting name; None means "not given". ``notices`` collects what
    the user should hear but that does not stop the server: deprecated names, unknown
    ``VIDMOCK_*`` variables.
    """
    notices = notices if notices is not None else []
    notices.extend(unknown_variables(environ))
    layers = [
        ("config file", from_file(file) if file else {}, str),
        ("environment", from_env(environ), env_name),
        ("command line", {k: v for k, v in cli.items() if v is not None}, str),
    ]
    settings: dict[str, Any] = {}
    for source, layer, shown in layers:
        for attribute, (name, raw) in _pick(layer, shown, source, notices).items():
            try:
                settings[attribute] = BY_ATTRIBUTE[attribute].parse(raw)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"{source}: {name}={raw!r}: {exc}") from exc
    return ServerConfig(**settings)

