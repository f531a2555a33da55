"""Runtime patches of Rasa, applied only by our server entry point (`bts.runtime.server`).

Each module fixes one measured hot spot or one behaviour of Rasa's server, says why in its first
line, and refuses to apply on a Rasa version it was not written for (`require_rasa`). The numbers
behind each patch are in docs/benchmark.md.
"""

from __future__ import annotations

from typing import Callable, List, Tuple

import rasa

# The Rasa versions whose private code the patches were written against and tested with.
SUPPORTED_RASA = ("3.6.21",)


class PatchRefused(RuntimeError):
    """A patch was asked to apply to a Rasa version it was not written for."""


def require_rasa(patch: str, supported: Tuple[str, ...] = SUPPORTED_RASA, installed: str = "") -> None:
    """Refuses to patch a Rasa version the patch was not written for.

    Args:
        patch: The patch's name, for the message.
        supported: The versions it was written for.
        installed: The version to check (default: the installed `rasa.__version__`).

    Raises:
        PatchRefused: If the installed version is not one of `supported`.
    """
    version = installed or rasa.__version__
    if version not in supported:
        raise PatchRefused(
            f"runtime patch {patch!r} was written for Rasa {', '.join(supported)}, but Rasa "
            f"{version} is installed: check the patched code against this version (see "
            f"bts/runtime/patches/) and add it to the patch's supported versions, or pin Rasa."
        )


def all_patches() -> List[Tuple[str, Callable[[], None]]]:
    """Every patch by name with its `apply`, in the order the server applies them."""
    from bts.runtime.patches import (
        action_result,
        dask_graph,
        event_types,
        gc_freeze,
        log_redaction,
        message_gate,
        root_route,
    )

    return [
        ("action_result", action_result.apply),
        ("event_types", event_types.apply),
        ("dask_graph", dask_graph.apply),
        ("message_gate", message_gate.apply),
        ("gc_freeze", gc_freeze.apply),
        ("root_route", root_route.apply),
        ("log_redaction", log_redaction.apply),
    ]


def apply_all() -> List[str]:
    """Applies every patch (each is idempotent); returns their names."""
    names = []
    for name, apply in all_patches():
        apply()
        names.append(name)
    return names
