"""Settings from the environment, validated before the server starts."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
DEFAULT_GIF_PATH = "/app/lofi.gif"


class ConfigError(ValueError):
    """An environment variable holds a value the app cannot use."""


@dataclass(frozen=True)
class Config:
    port: int = 8080
    host: str = "0.0.0.0"  # noqa: S104 - a container listens on every interface
    log_level: str = "INFO"
    version: str = "dev"
    gif_path: Path = Path(DEFAULT_GIF_PATH)


def _port(raw: str) -> int:
    try:
        port = int(raw)
    except ValueError:
        raise ConfigError(f"PORT must be an integer between 1 and 65535, got {raw!r}") from None
    if not 1 <= port <= 65535:
        raise ConfigError(f"PORT must be an integer between 1 and 65535, got {raw!r}")
    return port


def from_env(env: Mapping[str, str] | None = None) -> Config:
    """Read PORT, HOST, LOG_LEVEL, APP_VERSION and LOFI_GIF_PATH; raise ConfigError naming the bad one."""
    env = os.environ if env is None else env
    level = env.get("LOG_LEVEL", "INFO").strip().upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {env.get('LOG_LEVEL')!r}")
    version = env.get("APP_VERSION", "dev").strip() or "dev"
    return Config(
        port=_port(env.get("PORT", "8080")),
        host=env.get("HOST", Config.host),
        log_level=level,
        version=version,
        gif_path=Path(env.get("LOFI_GIF_PATH", DEFAULT_GIF_PATH)),
    )
