"""The workflow on a real SLURM cluster, through the committed profile workflow/profiles/slurm.

A single-node cluster (munged, slurmctld, slurmd from Debian's slurm-wlm and munge, on
127.0.0.1; ``slurm_cluster.py``) without accounting: no slurmdbd, so ``sacct`` fails there
and only the profile's ``slurm-status-command: squeue`` lets the run see its jobs finish.
The tiny synthetic cohort of ``test_workflow.py`` runs twice, locally and on the cluster;
the feature and statistics tables of the two runs are equal byte for byte, and each patient's
job ran as a SLURM job (the cohort-level steps run beside Snakemake).

Skipped when not root or SLURM is missing (``make slurm-deps`` installs it as root).  The
run's wall time, job count and the local run's are printed (``pytest -s`` or ``-rA``).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from slurm_cluster import PARTITION, SlurmCluster, missing_reason
from workflow_runs import ROOT, prepare, snakemake, snakemake_command

pytestmark = [pytest.mark.slurm, pytest.mark.integration]

PROFILE = ROOT / "workflow" / "profiles" / "slurm"
# The cohort of test_workflow.py.
TINY = {
    "synthetic": {"enabled": True, "preset": "tiny", "n_patients": 4, "n_men": 2},
    "stats": {"n_permutations": 1000, "bootstrap_resamples": 50},
}
# Hard limit of the SLURM run (about 3.5 minutes on 2 cores).
TIMEOUT_S = 900
COMPARED = ["results/features/scans.tsv", "results/features/lesions.tsv", "results/stats"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    cluster = SlurmCluster(tmp_path_factory.mktemp("slurm"))
    cluster.start()  # stops what it started when it fails
    yield cluster
    cluster.stop()


def _profile_overrides(cpus: int) -> list[str]:
    """The committed profile, with this cluster's partition, no account and faster checks.

    ``--default-resources`` on the command line replaces the profile's whole list, so the list
    is passed again with the two site settings changed.  The first status check after 2 s (the
    plugin keeps squeue while 3 x 2 s < MinJobAge); ``--cores``: no job asks for more CPUs
    than the node has.
    """
    profile = yaml.safe_load((PROFILE / "config.yaml").read_text())
    resources = {
        **profile["default-resources"],
        "slurm_partition": PARTITION,
        "slurm_account": "''",
    }
    return [
        "--workflow-profile",
        str(PROFILE),
        "--default-resources",
        *(f"{key}={value}" for key, value in resources.items()),
        "--slurm-init-seconds-before-status-checks",
        "2",
        "--jobs",
        "4",
        "--cores",
        str(cpus),
    ]


def _run_on_slurm(workdir: Path, cluster: SlurmCluster) -> tuple[str, float]:
    """Snakemake through the SLURM profile, stopped (its jobs cancelled) after TIMEOUT_S."""
    command = snakemake_command(workdir, *_profile_overrides(cluster.cpus))
    start = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=workdir,
        env=cluster.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=TIMEOUT_S)
    except BaseException as error:  # the timeout, or ctrl-c: stop Snakemake and its jobs
        output = _stop(process)
        if isinstance(error, subprocess.TimeoutExpired):
            pytest.fail(
                f"the SLURM run took longer than {TIMEOUT_S} s:\n{output[-5000:]}\n"
                + cluster.logs()
            )
        raise
    seconds = time.monotonic() - start
    assert process.returncode == 0, f"{output[-8000:]}\n{cluster.logs()}"
    return output, seconds


def _stop(process: subprocess.Popen) -> str:
    """Interrupt Snakemake (it cancels its SLURM jobs), kill it after a minute; its output."""
    process.send_signal(signal.SIGINT)
    try:
        return process.communicate(timeout=60)[0]
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        return process.communicate()[0]


@pytest.fixture(scope="module")
def runs(cluster, tmp_path_factory):
    """The local run and the SLURM run of the same cohort, one after the other."""
    local = prepare(tmp_path_factory.mktemp("local"), TINY)
    start = time.monotonic()
    result = snakemake(local, "--cores", "2")
    local_seconds = time.monotonic() - start
    assert result.returncode == 0, result.stderr[-5000:]

    on_slurm = prepare(tmp_path_factory.mktemp("on_slurm"), TINY)
    output, slurm_seconds = _run_on_slurm(on_slurm, cluster)
    return {
        "local": local,
        "local_seconds": local_seconds,
        "local_log": result.stdout + result.stderr,
        "slurm": on_slurm,
        "slurm_seconds": slurm_seconds,
        "slurm_log": output,
    }


def _steps(log: str) -> int:
    """The number of jobs Snakemake ran (its last 'N of N steps' line)."""
    done = re.findall(r"(\d+) of (\d+) steps \(100%\) done", log)
    assert done, log[-3000:]
    return int(done[-1][1])


def _files(workdir: Path) -> dict[str, bytes]:
    out = {}
    for name in COMPARED:
        path = workdir / name
        for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if file.is_file():
                out[str(file.relative_to(workdir))] = file.read_bytes()
    return out


def test_tables_equal_the_local_run(runs):
    local, on_slurm = _files(runs["local"]), _files(runs["slurm"])
    assert len(local) >= 5, sorted(local)
    assert sorted(on_slurm) == sorted(local)
    differ = [name for name in local if on_slurm[name] != local[name]]
    assert not differ, differ


def test_every_job_ran_as_a_slurm_job(runs, cluster):
    log = runs["slurm_log"]
    run_id = re.search(r"SLURM run ID: (\S+)", log)
    assert run_id, log[-3000:]
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+)", log)
    # squeue asks slurmctld, which keeps finished jobs for MinJobAge (1800 s here).
    result = subprocess.run(
        ["squeue", "--states=all", "--noheader", "--format=%i|%T", "--name", run_id[1]],
        env=cluster.env,
        capture_output=True,
        text=True,
        check=True,
    )
    states = dict(line.split("|") for line in result.stdout.split())
    assert sorted(states) == sorted(submitted)
    assert set(states.values()) == {"COMPLETED"}, states
    # One SLURM job per patient (its scans' conversion and analysis, the registration and
    # the lesion tracks); the synthetic cohort and every cohort-level step run locally.
    clinical = (runs["slurm"] / "resources/synthetic/tiny/clinical.tsv").read_text().splitlines()
    assert len(submitted) == len(clinical) - 1
    assert _steps(log) == _steps(runs["local_log"])
    local = set(re.findall(r"^localrule (\w+):", log, flags=re.MULTILINE))
    assert "patient" not in local and {"all", "synthetic_cohort", "bootstrap"} <= local
    assert "Falling back to 'sacct'" not in log  # sacct fails on a cluster without accounting


def test_time_and_jobs_are_reported(runs, capsys):
    jobs = len(re.findall(r"has been submitted with SLURM jobid", runs["slurm_log"]))
    with capsys.disabled():
        print(
            f"\nSLURM run: {_steps(runs['slurm_log'])} jobs in {jobs} SLURM jobs, "
            f"{runs['slurm_seconds']:.0f} s; "
            f"local run (--cores 2): {_steps(runs['local_log'])} jobs, "
            f"{runs['local_seconds']:.0f} s; ratio "
            f"{runs['slurm_seconds'] / runs['local_seconds']:.1f}"
        )
    assert runs["slurm_seconds"] < TIMEOUT_S
