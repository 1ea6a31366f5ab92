"""The whole study end to end, timed, in a scratch copy of the project.

Copies the project's Snakefile, ``workflow/``, ``config/`` and ``envs/`` into ``WORK_DIR``
(results and the synthetic cohort start empty), runs ``snakemake --cores N`` there with
optional config overrides (a YAML file or inline YAML), and prints the wall time, the number
of jobs and the per-rule table of :mod:`benchmarks.rules` (time and peak memory per rule).

Usage (from the repository root)::

    .venv/bin/python benchmarks/study.py WORK_DIR [--cores 2]
        [--config '{synthetic: {preset: clinical, n_patients: 2}}']
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml
from rules import rule_table

ROOT = Path(__file__).resolve().parents[1]


def run_study(work_dir: Path, *, cores: int, overrides: dict) -> tuple[float, int, str]:
    """Run the study in ``work_dir``; (wall seconds, jobs, Snakemake's log)."""
    if work_dir.exists():
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True)
    shutil.copy2(ROOT / "Snakefile", work_dir / "Snakefile")
    for folder in ("workflow", "config", "envs"):
        shutil.copytree(
            ROOT / folder, work_dir / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    (work_dir / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    command = [
        str(Path(sys.executable).parent / "snakemake"),
        "--cores",
        str(cores),
        "--configfile",
        "config/config.yaml",
        "overrides.yaml",
    ]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=work_dir, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    log = result.stdout + result.stderr
    if result.returncode != 0:
        raise SystemExit(f"snakemake failed ({result.returncode}):\n{log[-4000:]}")
    steps = re.findall(r"(\d+) of (\d+) steps", log)
    return seconds, int(steps[-1][1]) if steps else 0, log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work_dir", type=Path)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--config", default="{}", help="YAML overrides (inline or a file)")
    args = parser.parse_args()
    text = Path(args.config).read_text() if Path(args.config).is_file() else args.config
    overrides = yaml.safe_load(text) or {}
    seconds, jobs, _ = run_study(args.work_dir.resolve(), cores=args.cores, overrides=overrides)
    print(f"study: {jobs} jobs in {seconds:.0f} s ({seconds / 60:.1f} min), --cores {args.cores}")
    print(f"overrides: {overrides}\n")
    table = rule_table(args.work_dir / "results" / "benchmarks")
    print("| rule | jobs | median s | max s | peak memory MB |")
    print("|---|---:|---:|---:|---:|")
    for row in table.itertuples(index=False):
        print(
            f"| {row.rule} | {row.jobs} | {row.median_s:.1f} | {row.max_s:.1f} | "
            f"{row.max_rss_mb:.0f} |"
        )


if __name__ == "__main__":
    main()
