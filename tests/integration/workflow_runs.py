"""Running the workflow through Snakemake in a test's own folder."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]

# The benchmarks the accuracy tests reuse (benchmarks/benchmark_modules.py).
sys.path.insert(0, str(ROOT / "benchmarks"))
from benchmark_modules import load_benchmark  # noqa: E402

__all__ = ["ROOT", "load_benchmark", "prepare", "snakemake", "snakemake_command"]
BIN = Path(sys.executable).parent
SNAKEMAKE = BIN / "snakemake"
OVERRIDES = "overrides.yaml"


def prepare(workdir: Path, overrides: dict) -> Path:
    """The project's config/ copied into ``workdir``, and the test's overrides beside it."""
    shutil.copytree(ROOT / "config", workdir / "config")
    (workdir / OVERRIDES).write_text(yaml.safe_dump(overrides))
    return workdir


def snakemake_command(workdir: Path, *args: str) -> list[str]:
    """The ``snakemake`` command line for ``workdir``: project Snakefile, config + overrides."""
    return [
        str(SNAKEMAKE),
        "--snakefile",
        str(ROOT / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        "config/config.yaml",
        OVERRIDES,
        *args,
    ]


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    """Run :func:`snakemake_command` to the end, output captured."""
    command = snakemake_command(workdir, *args)
    return subprocess.run(command, capture_output=True, text=True, cwd=workdir, check=False)
