"""Where labconsole keeps its files (platformdirs locations).

The config file: --config FILE, else $LABCONSOLE_CONFIG, else the platform
user config dir (e.g. ~/.config/labconsole/config.toml).
"""

from __future__ import annotations

import os
from pathlib import Path

APP = "labconsole"
CONFIG_ENV = "LABCONSOLE_CONFIG"


def config_path(explicit: str | os.PathLike | None = None) -> Path:
    """The config file to use: `explicit` (from --config), the env var, or the default."""
    return config_path_and_origin(explicit)[0]


def config_path_and_origin(explicit: str | os.PathLike | None = None) -> tuple[Path, str]:
    """The config file and where that choice came from ("--config", the env var, "default")."""
    if explicit:
        return Path(explicit).expanduser().absolute(), "--config"
    env = os.environ.get(CONFIG_ENV, "").strip()
    if env:
        return Path(env).expanduser().absolute(), CONFIG_ENV
    return default_config_path(), "default"


def default_config_path() -> Path:
    from platformdirs import user_config_path

    return user_config_path(APP) / "config.toml"


def log_dir() -> Path:
    from platformdirs import user_log_path

    return user_log_path(APP)


def log_file() -> Path:
    return log_dir() / "labconsole.log"


def state_dir() -> Path:
    """Persistent state (the maintenance journal lives in state_dir()/journal);
    LABCONSOLE_STATE_DIR overrides it (tests, or a journal shared between consoles)."""
    override = os.environ.get("LABCONSOLE_STATE_DIR")
    if override:
        return Path(override)
    from platformdirs import user_state_path

    return user_state_path(APP)


def journal_dir() -> Path:
    return state_dir() / "journal"
