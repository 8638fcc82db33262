"""Where the data shipped with attrap lives: the repository checkout, or the wheel's copy."""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str, env_var: str | None = None) -> Path:
    """``patterns`` or ``fixtures/sites``: from ``env_var`` if set, the checkout, or the wheel."""
    if env_var and os.environ.get(env_var):
        return Path(os.environ[env_var])
    checkout = _PACKAGE.parent / name
    if checkout.is_dir():
        return checkout
    return _PACKAGE / "_bundled" / name
