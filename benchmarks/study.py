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
import datetime
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


STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ [\d:]{8} \d{4})\]")


def phases(log: str) -> dict[str, float]:
    """Seconds of the run's phases, from the time stamps of Snakemake's log.

    ``start`` to the synthetic cohort's end (0 without one), from there to the last patient's
    job (``patients``, with ``scans`` and ``per_scan_s``: both cores busy, the wall time per
    scan) and from there to the end (``cohort``: tables, statistics, figures).
    """
    stamp = first = synthetic = last_patient = end = None
    n_patients = 0
    for line in log.splitlines():
        match = STAMP.match(line)
        if match:
            stamp = datetime.datetime.strptime(match[1], "%a %b %d %H:%M:%S %Y")
            first = first or stamp
        elif "(Rule: synthetic_cohort)" in line:
            synthetic = stamp
        elif "(Rule: patient)" in line:
            last_patient, n_patients = stamp, n_patients + 1
        elif "(Rule: all)" in line:
            end = stamp
    if first is None or last_patient is None or end is None:
        return {}
    synthetic = synthetic or first
    n_scans = len(re.findall(r"conversion: [\d.]+ s", log)) or 2 * n_patients
    patients = (last_patient - synthetic).total_seconds()
    return {
        "synthetic": (synthetic - first).total_seconds(),
        "patients": patients,
        "scans": n_scans,
        "per_scan_s": patients / n_scans,
        "cohort": (end - last_patient).total_seconds(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work_dir", type=Path)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--config", default="{}", help="YAML overrides (inline or a file)")
    args = parser.parse_args()
    text = Path(args.config).read_text() if Path(args.config).is_file() else args.config
    overrides = yaml.safe_load(text) or {}
    seconds, jobs, log = run_study(args.work_dir.resolve(), cores=args.cores, overrides=overrides)
    print(f"study: {jobs} jobs in {seconds:.0f} s ({seconds / 60:.1f} min), --cores {args.cores}")
    times = phases(_snakemake_log(args.work_dir.resolve()) or log)
    if times:
        print(
            f"phases: synthetic cohort {times['synthetic']:.0f} s; patients' jobs "
            f"{times['patients']:.0f} s for {times['scans']} scans ({times['per_scan_s']:.2f} s "
            f"per scan); cohort-level steps {times['cohort']:.0f} s"
        )
    print(f"overrides: {overrides}\n")
    table = rule_table(args.work_dir / "results" / "benchmarks")
    print("| rule | jobs | median s | max s | peak memory MB |")
    print("|---|---:|---:|---:|---:|")
    for row in table.itertuples(index=False):
        print(
            f"| {row.rule} | {row.jobs} | {row.median_s:.1f} | {row.max_s:.1f} | "
            f"{row.max_rss_mb:.0f} |"
        )


def _snakemake_log(work_dir: Path) -> str:
    """The text of the run's log in .snakemake/log/ (its stdout lacks the patients' logs)."""
    logs = sorted((work_dir / ".snakemake" / "log").glob("*.snakemake.log"))
    text = logs[-1].read_text() if logs else ""
    for path in sorted((work_dir / "results" / "logs" / "patient").glob("*.log")):
        text += path.read_text()
    return text


if __name__ == "__main__":
    main()
