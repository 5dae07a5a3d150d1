"""Curricula's sibling packages (``envs``, ``teachers``, ``agents``) must not be hidden by a user's."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def check_sibling_packages() -> None:
    """Fail early when a user's folder or module named ``envs``, ``teachers`` or ``agents`` hides Curricula's.

    Those names are common in RL projects; Python imports the first one on ``sys.path`` (a script's own folder
    comes first), and Curricula would then run a stranger's code under its own package names.
    """
    home = Path(__file__).resolve().parent.parent
    for name in ("envs", "teachers", "agents"):
        module = sys.modules.get(name)
        if module is not None:
            origin = getattr(module, "__file__", None)
        else:
            spec = importlib.util.find_spec(name)
            origin = spec.origin if spec is not None else None
        found = Path(origin).resolve() if origin not in (None, "namespace") else None
        if found is not None and found.parent.parent == home:
            continue
        if found is None:
            raise ImportError(
                f"Curricula's package {name!r} cannot be found next to {home / 'curricula'}: reinstall curricula-rl"
            )
        where = found.parent if found.name == "__init__.py" else found
        raise ImportError(
            f"Curricula's package {name!r} is hidden by {where}: a folder or module named {name!r} comes first on "
            f"sys.path (e.g. in your script's folder or the current directory). Rename yours (e.g. 'my_{name}') "
            f"or run from another directory; Curricula's own {name!r} is in {home / name}."
        )
