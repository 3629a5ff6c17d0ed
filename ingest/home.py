"""Weir's default `$WEIR_HOME`, one answer for the CLI and every service (it sits here, below all of them).

`.weir` beside pyproject.toml when Weir runs from its checkout (an editable install, the way `make` installs it),
wherever the command is started; else `.weir` in the current directory. `WEIR_HOME` overrides it everywhere.
"""

from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]


def default_home() -> Path:
    if (CHECKOUT / "pyproject.toml").is_file():
        return CHECKOUT / ".weir"
    return Path.cwd() / ".weir"
