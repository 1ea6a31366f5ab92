"""Time Snakemake's DAG build (a dry run) for user cohorts of growing size.

Writes, for each number of patients N, a user cohort into ``SCRATCH/work_N`` without any
image: every scan's DICOM folder is an empty folder and its ``organ_labels`` an empty file
(the workflow only checks that they exist before any job), a samples sheet (``basal`` and
``interim`` scan of every patient), a clinical sheet, and ``config/config.yaml`` (the
workflow's own config with ``synthetic.enabled: false`` and the two sheets; every other key
kept) beside the radiomics parameter file it names.  Then runs, as a fresh process,
``snakemake --snakefile SNAKEFILE --directory SCRATCH/work_N --configfile ... --dry-run
--quiet rules`` (the job summary, no block per job) and prints a markdown table: patients,
scans, jobs, wall and CPU time, CPU time per scan and the marginal CPU time per scan over the
smallest cohort (CPU time is steadier than wall time on a machine shared with other work).

Usage (from the repository root)::

    .venv/bin/python benchmarks/dag.py [--patients 24 1000 2400 10000] [--scratch /tmp/dag]
        [--snakefile Snakefile] [--timeout 600] [--repeat 1] [--cprofile DIR] [--first-job]
        [-- EXTRA SNAKEMAKE ARGS]

``--snakefile`` may name a patched copy of the workflow (its ``config/`` is the one copied).
``--repeat K`` runs each size K times and reports the least CPU and wall time (other work on
the machine only ever adds time).  ``--cprofile DIR`` runs each dry run under
:mod:`cProfile`, writes ``DIR/dag_<N>.prof`` and prints its top entries by cumulative time
(a run that times out leaves no profile).  ``--first-job`` times a real run instead, up to
the moment Snakemake starts its first job (then stops it; the job fails or is cut short, which
is harmless on the empty inputs): what a user waits before any work starts, without the
per-job output of a dry run.  Arguments after ``--`` go to Snakemake, e.g.
``-- --rerun-triggers mtime``.
"""

from __future__ import annotations

import argparse
import os
import pstats
import queue
import re
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
TIMEPOINTS = ("basal", "interim")
CLINICAL_COLUMNS = ("patient_id", "sex", "age_years", "who_grade", "pfs_months", "progression")


@dataclass(frozen=True)
class DryRun:
    """One timed run (a dry run, or a real run up to its first job).

    Attributes
    ----------
    patients, scans
        Size of the cohort.
    jobs
        Jobs of the DAG (Snakemake's ``total``); None when the run failed or timed out.
    wall_s
        Wall time of the Snakemake process, s (start-up and workflow parsing included; the
        least of ``--repeat`` runs).
    cpu_s
        CPU time (user + system) of that process, s: steadier than wall time on a machine
        shared with other work (the least of ``--repeat`` runs).
    status
        ``ok``, ``timeout`` or ``failed (exit code)``.
    """

    patients: int
    scans: int
    jobs: int | None
    wall_s: float
    cpu_s: float
    status: str


def write_cohort(work: Path, n_patients: int, *, workflow_config: Path) -> Path:
    """Write an image-free user cohort of ``n_patients`` (two scans each) into ``work``.

    Parameters
    ----------
    work
        Scratch folder, Snakemake's working directory; created, existing files are rewritten
        (the folders of a previous cohort of the same size are reused).
    n_patients
        Number of patients, IDs ``P00001``, ``P00002``, ...
    workflow_config
        The workflow's ``config/config.yaml``; copied with the user sheets set, together with
        the radiomics parameter file it names (a path relative to the working directory).

    Returns
    -------
    pathlib.Path
        ``work/config/config.yaml``, the cohort's config (absolute path).
    """
    work = work.resolve()
    inputs = work / "inputs"
    labels = inputs / "labels"
    labels.mkdir(parents=True, exist_ok=True)
    samples = ["patient_id\ttimepoint\tpet_dicom\tct_dicom\torgan_labels"]
    clinical = ["\t".join(CLINICAL_COLUMNS)]
    for number in range(1, n_patients + 1):
        patient = f"P{number:05d}"
        for timepoint in TIMEPOINTS:
            dicom = inputs / "dicom" / patient / timepoint
            dicom.mkdir(parents=True, exist_ok=True)
            organs = labels / f"{patient}_{timepoint}.nii.gz"
            organs.touch()
            # PET and CT in one session folder, as the schema allows.
            samples.append(f"{patient}\t{timepoint}\t{dicom}\t{dicom}\t{organs}")
        sex = "MF"[number % 2]
        grade = ("G1", "G2", "G3")[number % 3]
        months = 3.0 + number % 45
        clinical.append(f"{patient}\t{sex}\t{40 + number % 40}\t{grade}\t{months}\t{number % 2}")
    (work / "samples.tsv").write_text("\n".join(samples) + "\n", encoding="utf-8")
    (work / "clinical.tsv").write_text("\n".join(clinical) + "\n", encoding="utf-8")

    config = yaml.safe_load(workflow_config.read_text(encoding="utf-8"))
    config["synthetic"]["enabled"] = False
    config["samples"] = str(work / "samples.tsv")
    config["clinical"] = str(work / "clinical.tsv")
    config_dir = work / "config"
    config_dir.mkdir(exist_ok=True)
    radiomics_params = config["radiomics"]["params"]
    target = work / radiomics_params
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes((workflow_config.parents[1] / radiomics_params).read_bytes())
    path = config_dir / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def dry_run(
    snakefile: Path,
    work: Path,
    configfile: Path,
    *,
    timeout_s: float,
    profile_out: Path | None = None,
    extra_args: tuple[str, ...] = (),
    first_job: bool = False,
) -> tuple[float, float, str, str]:
    """Run one dry run (or a real run up to its first job) as a fresh process.

    Parameters
    ----------
    first_job
        False: ``--dry-run``, timed to its end.  True: a real run, stopped (its process group
        killed) when Snakemake starts its first job: the time a user waits before any work
        starts (DAG, job summary and the scheduler's first choice; no per-job dry-run output).

    Returns
    -------
    tuple
        Wall time (s), CPU time (user + system, s), status (``ok``, ``timeout``,
        ``failed (exit code)``) and Snakemake's output.
    """
    command = [sys.executable]
    if profile_out is not None:
        command += ["-m", "cProfile", "-o", str(profile_out)]
    command += [
        "-m",
        "snakemake",
        "--snakefile",
        str(snakefile.resolve()),
        "--directory",
        str(work.resolve()),
        "--configfile",
        str(configfile),
        "--cores",
        "1",
        # The job summary without a block per job (plain --quiet hides the summary too).
        *([] if first_job else ["--dry-run", "--quiet", "rules"]),
        *extra_args,
    ]
    if first_job:
        # A stopped run leaves a lock and an incomplete job: start each from a clean scratch.
        for made in (".snakemake", "results"):
            shutil.rmtree(work / made, ignore_errors=True)
    cpu_before = _children_cpu_s()
    start = time.perf_counter()
    # Own process group: a timeout (or the first job) stops Snakemake and all it started.
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    log: list[str] = []
    status = "timeout"
    while (remaining := timeout_s - (time.perf_counter() - start)) > 0:
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            break
        if line is None:
            process.wait()
            status = "ok" if process.returncode == 0 else f"failed ({process.returncode})"
            break
        log.append(line)
        if first_job and FIRST_JOB.match(line):
            status = "ok"
            break
    wall_s = time.perf_counter() - start
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    return wall_s, _children_cpu_s() - cpu_before, status, "".join(log)


# Snakemake's first line about a job it starts ("rule patient:").
FIRST_JOB = re.compile(r"^\s*(local)?rule \S+:\s*$")


def _children_cpu_s() -> float:
    """User + system CPU time of the finished (waited-for) child processes, s."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def job_total(log: str) -> int | None:
    """The ``total`` line of Snakemake's job summary; None when there is none."""
    match = re.search(r"^total\s+(\d+)\s*$", log, flags=re.MULTILINE)
    return int(match.group(1)) if match else None


def markdown_table(runs: list[DryRun]) -> str:
    """Patients, scans, jobs, wall and CPU s, CPU ms per scan, marginal CPU ms per scan.

    The marginal cost is over the first run: (CPU - its CPU) / (scans - its scans), the
    cost of one more scan without the fixed start-up.
    """
    lines = [
        "| patients | scans | jobs | wall s | CPU s | CPU ms/scan | marginal CPU ms/scan "
        "| status |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    first = runs[0]
    for run in runs:
        marginal = ""
        if run is not first and run.scans > first.scans and run.status == "ok":
            marginal = f"{1000 * (run.cpu_s - first.cpu_s) / (run.scans - first.scans):.2f}"
        lines.append(
            f"| {run.patients} | {run.scans} | {run.jobs if run.jobs is not None else '-'} | "
            f"{run.wall_s:.1f} | {run.cpu_s:.1f} | {1000 * run.cpu_s / run.scans:.2f} | "
            f"{marginal} | {run.status} |"
        )
    return "\n".join(lines)


def top_entries(profile: Path, count: int = 30) -> str:
    """The ``count`` functions of a cProfile file with the largest cumulative time."""
    from io import StringIO

    text = StringIO()
    pstats.Stats(str(profile), stream=text).sort_stats("cumulative").print_stats(count)
    return text.getvalue()


def main(argv: list[str] | None = None) -> list[DryRun]:
    """Command line: write the cohorts, time their dry runs, print the table."""
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1 :]
        argv = argv[: argv.index("--")]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, nargs="+", default=[24, 1000, 2400, 10000])
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/dag"))
    parser.add_argument("--snakefile", type=Path, default=ROOT / "Snakefile")
    parser.add_argument("--timeout", type=float, default=600.0, help="per dry run, s")
    parser.add_argument("--cprofile", type=Path, default=None, help="folder for .prof files")
    parser.add_argument("--repeat", type=int, default=1, help="runs per size; the fastest counts")
    parser.add_argument(
        "--first-job",
        action="store_true",
        help="a real run, timed until Snakemake starts its first job (then stopped)",
    )
    parser.add_argument("--show-log", action="store_true", help="print Snakemake's output")
    args = parser.parse_args(argv)

    workflow_config = args.snakefile.resolve().parent / "config" / "config.yaml"
    runs = []
    for n_patients in args.patients:
        work = args.scratch / f"work_{n_patients}"
        configfile = write_cohort(work, n_patients, workflow_config=workflow_config)
        profile_out = None
        if args.cprofile is not None:
            args.cprofile.mkdir(parents=True, exist_ok=True)
            profile_out = args.cprofile / f"dag_{n_patients}.prof"
        # The fastest of --repeat runs: other work on the machine only ever adds time.
        attempts = []
        for _ in range(args.repeat):
            wall_s, cpu_s, status, log = dry_run(
                args.snakefile,
                work,
                configfile,
                timeout_s=args.timeout,
                profile_out=profile_out,
                extra_args=tuple(extra),
                first_job=args.first_job,
            )
            attempts.append((cpu_s, wall_s, status, log))
            print(
                f"{n_patients} patients: {job_total(log)} jobs, {wall_s:.1f} s wall, "
                f"{cpu_s:.1f} s CPU, {status}",
                flush=True,
            )
            if args.show_log or status != "ok":
                print(log[-3000:])
            if status != "ok":
                break
        cpu_s, wall_s, status, log = min(attempts, key=lambda attempt: attempt[0])
        scans = n_patients * len(TIMEPOINTS)
        runs.append(
            DryRun(n_patients, scans, job_total(log), min(a[1] for a in attempts), cpu_s, status)
        )
        if profile_out is not None and profile_out.is_file():
            print(top_entries(profile_out))
    print(markdown_table(runs))
    return runs


if __name__ == "__main__":
    main()
