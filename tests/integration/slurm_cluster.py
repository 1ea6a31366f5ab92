"""A single-node SLURM cluster for tests: munged, slurmctld and slurmd on 127.0.0.1.

Debian's ``slurm-wlm`` and ``munge`` packages (``make slurm-deps``), run as root without
systemd.  The configuration, state, spool and logs live in one folder and the daemons listen
on free ports of 127.0.0.1; outside the folder only /etc/slurm/slurm.conf, a link to its
configuration made when no such file exists and removed at stop.  No slurmdbd: the cluster
has no accounting, as many small clusters; ``sacct`` fails on it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import IO

COMMANDS = (
    "munged",
    "mungekey",
    "slurmctld",
    "slurmd",
    "sbatch",
    "squeue",
    "sinfo",
    "scontrol",
    "scancel",
)
# The snakemake-executor-plugin-slurm-jobstep removes SLURM_* variables (SLURM_CONF too) before
# its nested srun, which then reads the default path: the test links it to its configuration.
DEFAULT_CONF = Path("/etc/slurm/slurm.conf")
MUNGE_KEY = Path("/etc/munge/munge.key")
MUNGE_SOCKET = Path("/run/munge/munge.socket.2")
PARTITION = "debug"


def missing_reason() -> str | None:
    """Why a cluster cannot be started here (None when it can)."""
    if os.geteuid() != 0:
        return "the SLURM test starts slurmctld, slurmd and munged: it needs root"
    missing = [name for name in COMMANDS if not _which(name)]
    if missing:
        return (
            f"SLURM or munge is not installed ({', '.join(missing)} not found): "
            "`make slurm-deps` installs slurm-wlm and munge as root"
        )
    try:
        pwd.getpwnam("munge")
    except KeyError:
        return "no user munge (the munge package creates it): reinstall munge"
    if DEFAULT_CONF.exists() or DEFAULT_CONF.is_symlink():
        return f"{DEFAULT_CONF} exists (a site's SLURM?): the test does not replace it"
    return None


def _which(name: str) -> str | None:
    return shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _memory_mb() -> int:
    """The node's RealMemory: 80 % of the machine's memory (slurmd drains a node that has
    less than its configured memory)."""
    with open("/proc/meminfo", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                return int(int(line.split()[1]) / 1024 * 0.8)
    raise RuntimeError("MemTotal not found in /proc/meminfo")


class SlurmCluster:
    """munged (unless one answers already), slurmctld and slurmd, configured in ``folder``.

    ``env`` is the environment for SLURM commands (``SLURM_CONF``); :meth:`stop` ends every
    daemon this object started, by PID.
    """

    def __init__(self, folder: Path, *, cpus: int | None = None):
        self.folder = Path(folder)
        self.cpus = cpus or os.cpu_count() or 1
        self.memory_mb = _memory_mb()
        self.conf = self.folder / "slurm.conf"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}
        self.env["PATH"] = self.env.get("PATH", "") + ":/usr/sbin:/sbin"
        self.processes: dict[str, subprocess.Popen] = {}
        self._outputs: dict[str, IO[bytes]] = {}
        self.linked = False

    # -- configuration --------------------------------------------------------------------------

    def write_config(self) -> Path:
        for sub in ("state", "spool", "log"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        f = self.folder
        self.conf.write_text(
            "\n".join(
                [
                    "ClusterName=netpettest",
                    "SlurmctldHost=localhost(127.0.0.1)",
                    "SlurmUser=root",
                    "SlurmdUser=root",
                    "AuthType=auth/munge",
                    "CredType=cred/munge",
                    f"SlurmctldPort={_free_port()}",
                    f"SlurmdPort={_free_port()}",
                    f"StateSaveLocation={f / 'state'}",
                    f"SlurmdSpoolDir={f / 'spool'}",
                    f"SlurmctldPidFile={f / 'slurmctld.pid'}",
                    f"SlurmdPidFile={f / 'slurmd.pid'}",
                    "ProctrackType=proctrack/linuxproc",
                    "TaskPlugin=task/none",
                    "SelectType=select/cons_tres",
                    "SelectTypeParameters=CR_CPU_Memory",
                    "SchedulerType=sched/backfill",
                    "MpiDefault=none",
                    "ReturnToService=2",
                    "JobAcctGatherType=jobacct_gather/none",
                    "AccountingStorageType=accounting_storage/none",
                    "JobCompType=jobcomp/none",
                    # Finished jobs stay visible to squeue for 30 minutes (default 5), so the
                    # test lists every job of a run of up to its 900 s timeout afterwards;
                    # the executor plugin uses squeue only when MinJobAge >= 3 x its first wait.
                    "MinJobAge=1800",
                    "SlurmctldTimeout=30",
                    "SlurmdTimeout=30",
                    "InactiveLimit=0",
                    "KillWait=5",
                    "Waittime=0",
                    "SlurmctldDebug=info",
                    "SlurmdDebug=info",
                    f"NodeName=localhost NodeAddr=127.0.0.1 NodeHostname=localhost "
                    f"CPUs={self.cpus} RealMemory={self.memory_mb} State=UNKNOWN",
                    f"PartitionName={PARTITION} Nodes=localhost Default=YES "
                    "MaxTime=INFINITE State=UP",
                    "",
                ]
            )
        )
        return self.conf

    # -- daemons --------------------------------------------------------------------------------

    def start(self, *, timeout_s: float = 60) -> None:
        """Start the daemons and wait until the node is idle; on failure stop them again."""
        try:
            self.write_config()
            DEFAULT_CONF.parent.mkdir(parents=True, exist_ok=True)
            DEFAULT_CONF.symlink_to(self.conf)
            self.linked = True
            self._start_munge()
            self._spawn("slurmctld", ["slurmctld", "-D", "-i"])
            self._wait(lambda: self._run("scontrol", "ping").returncode == 0, timeout_s, "ping")
            self._spawn("slurmd", ["slurmd", "-D", "-N", "localhost"])
            self._wait(self._node_idle, timeout_s, "node idle")
        except BaseException:
            self.stop()
            raise

    def _start_munge(self) -> None:
        if self._munge_answers():
            return  # a munged (the site's or another test's) already serves the socket
        munge = pwd.getpwnam("munge")
        if not MUNGE_KEY.is_file():
            MUNGE_KEY.parent.mkdir(mode=0o700, exist_ok=True)
            subprocess.run(["mungekey", "--create", "--keyfile", str(MUNGE_KEY)], check=True)
        os.chown(MUNGE_KEY, munge.pw_uid, munge.pw_gid)
        MUNGE_KEY.chmod(0o400)
        for folder in (MUNGE_SOCKET.parent, Path("/var/lib/munge"), Path("/var/log/munge")):
            folder.mkdir(mode=0o755, parents=True, exist_ok=True)
            os.chown(folder, munge.pw_uid, munge.pw_gid)
        self._spawn(
            "munged",
            ["munged", "--foreground", "--force"],
            user=munge.pw_uid,
            group=munge.pw_gid,
        )
        self._wait(self._munge_answers, 20, "munge answers")

    def _munge_answers(self) -> bool:
        if not MUNGE_SOCKET.exists():
            return False
        encode = subprocess.run(["munge", "-n"], capture_output=True, check=False)
        if encode.returncode != 0:
            return False
        decode = subprocess.run(["unmunge"], input=encode.stdout, capture_output=True, check=False)
        return decode.returncode == 0

    def _spawn(self, name: str, command: list[str], **kwargs) -> None:
        # -D and --foreground: the daemons log to stderr, into log/<name>.out.
        self._outputs[name] = output = open(self.folder / "log" / f"{name}.out", "wb")
        self.processes[name] = subprocess.Popen(
            [_which(command[0]), *command[1:]],
            env=self.env,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            **kwargs,
        )

    def _wait(self, ready, timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited with {process.returncode} while waiting for {what}:\n"
                        + self.logs()
                    )
            if ready():
                return
            time.sleep(0.5)
        raise TimeoutError(f"SLURM test cluster: no {what} after {timeout_s} s:\n{self.logs()}")

    def _node_idle(self) -> bool:
        result = self._run("sinfo", "--noheader", "--Node", "--format=%T")
        return result.returncode == 0 and result.stdout.strip() == "idle"

    def _run(self, *command: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            command, env=self.env, capture_output=True, text=True, check=False, timeout=30
        )

    def stop(self) -> None:
        """Cancel the cluster's jobs, end every daemon started here (SIGTERM, then SIGKILL),
        slurmd first, and remove the link to the configuration."""
        if "slurmctld" in self.processes and self.processes["slurmctld"].poll() is None:
            jobs = self._run("squeue", "--noheader", "--format=%i").stdout.split()
            if jobs:
                self._run("scancel", *jobs)
        for name in ("slurmd", "slurmctld", "munged"):
            process = self.processes.pop(name, None)
            if process is None:
                continue
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)
            self._outputs.pop(name).close()
        if self.linked and DEFAULT_CONF.is_symlink():
            DEFAULT_CONF.unlink()
            self.linked = False

    def logs(self, tail_chars: int = 3000) -> str:
        """The ends of the daemons' logs, for failure messages."""
        parts = []
        for path in sorted((self.folder / "log").glob("*")):
            text = path.read_text(errors="replace")
            parts.append(f"--- {path.name}\n{text[-tail_chars:]}")
        return "\n".join(parts)
