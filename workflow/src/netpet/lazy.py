"""Package attributes loaded on first use (PEP 562), for packages whose modules are heavy."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence


def lazy_exports(
    package: str, sources: Mapping[str, Sequence[str]]
) -> tuple[list[str], Callable[[str], object]]:
    """``__all__`` and ``__getattr__`` of ``package`` exporting the names of its modules.

    ``sources`` maps each module (relative to ``package``) to the public names it defines; a
    name is imported from its module when first looked up, so importing the package itself
    costs nothing.
    """
    module_of = {name: module for module, names in sources.items() for name in names}

    def __getattr__(name: str):
        module = module_of.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    return sorted(module_of), __getattr__
