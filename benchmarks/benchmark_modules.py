"""Benchmark scripts loaded as modules, for other benchmarks and the tests that reuse them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCHMARKS = Path(__file__).resolve().parent


def load_benchmark(script: str) -> ModuleType:
    """``benchmarks/<script>.py`` as the module ``netpet_<script>_benchmark``, loaded once.

    Registered in :data:`sys.modules`, so that a process pool can pickle its functions.
    """
    name = f"netpet_{script}_benchmark"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{script}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]
