"""Named fault points, for the tests that prove the pipeline's promises under crashes.

The pipeline calls :func:`point` at each step where a crash matters (a recueil read but not
stored, stored but not posted, a post claimed but not sent, sent but not recorded). Nothing
happens unless ``ATTRAP_FAULTS`` names the point: ``ATTRAP_FAULTS=stored`` kills the process
(SIGKILL, as an OOM kill or a power cut would: no ``finally``, no flush) the first time it gets
there, ``stored:3`` the third time, and ``stored:raise`` raises an ordinary exception instead (a
bug). Several points are separated by commas. Production never sets the variable; the cost of a
point is one dictionary lookup.
"""

from __future__ import annotations

import os
import signal
import threading

#: every point the code calls, in the order a recueil meets them (tests iterate over it)
POINTS = ("read", "stored", "claimed", "sent")

_lock = threading.Lock()
_hits: dict[str, int] = {}


def _parse(value: str) -> dict[str, tuple[int, str]]:
    """``name[:N|:raise]`` items → {name: (hit number, action)}."""
    out: dict[str, tuple[int, str]] = {}
    for item in filter(None, (x.strip() for x in value.split(","))):
        name, _, arg = item.partition(":")
        if name not in POINTS:
            raise ValueError(f"ATTRAP_FAULTS: unknown point {name!r} (known: {', '.join(POINTS)})")
        out[name] = (1, "raise") if arg == "raise" else (int(arg or 1), "kill")
    return out


_ARMED = _parse(os.environ.get("ATTRAP_FAULTS", ""))


class InjectedFault(RuntimeError):
    """The exception ``name:raise`` makes a point raise."""


def point(name: str) -> None:
    """Crash here if ``ATTRAP_FAULTS`` asks for it (see the module's docstring)."""
    armed = _ARMED.get(name)
    if armed is None:
        return
    with _lock:
        _hits[name] = _hits.get(name, 0) + 1
        hit = _hits[name]
    nth, action = armed
    if hit != nth:
        return
    if action == "raise":
        raise InjectedFault(f"fault injected at {name!r}")
    os.kill(os.getpid(), signal.SIGKILL)
