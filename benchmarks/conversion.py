"""Whole-process time of the DICOM -> SUV NIfTI conversion against dcm2niix, and where it goes.

The requirement (issue "Fast on a workstation"): netpet's conversion of a clinical PET series
takes at most twice dcm2niix's whole-process time on the same series.

Usage (from the repository root)::

    .venv/bin/python benchmarks/conversion.py DICOM_FOLDER [--dcm2niix PATH] [--runs 5]
    .venv/bin/python benchmarks/conversion.py COHORT_DIR --generate [--dcm2niix PATH]

``DICOM_FOLDER`` holds a PET series and, optionally, its CT (searched recursively, as the
workflow does; other series are ignored).  With ``--generate``, a one-patient synthetic
cohort (:data:`GENERATE_SETTINGS`: a Siemens Vision-like PET of 545 slices of 440 x 440, and
a 512 x 512 CT) is first written into ``COHORT_DIR`` unless it is there already, and its
basal scan is used.  The PET and the CT are linked (or copied) into series folders of their
own under a temporary folder, so that every tool reads exactly one series.  dcm2niix is taken
from ``--dcm2niix``, else beside the Python running this script (``pip install
dcm2niix==1.0.20260724`` into the venv: the PyPI package ships the binary), else from PATH.

Timed, each as a fresh process, once to warm up and then ``--runs`` times (the median is
reported; the files are in the page cache for every run, as in a workflow run that has just
listed the folder):

(a) ``dcm2niix -z y`` and ``-z n`` on the PET folder (and ``-z y`` on the PET and CT folders);
(b) netpet's PET-only conversion to SUV: :func:`netpet.steps.ingest.ingest_scan` with its
    log, as the patient's job runs it, in a fresh Python (without Snakemake's own start-up,
    which is timed separately: ``import snakemake.script``, the preamble of every
    ``script:`` job);
(c) the same with the CT (``ct.nii.gz`` and ``ct_on_pet.nii.gz`` too).

Then, in this process, the stages of (c), each the median of ``--runs`` calls after one
warm-up: reading the headers (folder scan), the pixels, the SUV factors, the per-slice record
of the DICOM SEG, writing the NIfTI (gzip and plain), reading the CT, resampling it to the PET
grid and writing it.

Prints markdown tables (for BENCHMARKS.md), the dcm2niix version and the command lines.  Wall
time is what the requirement is about; the CPU time (user + system of the child process) is
given beside it because on a shared machine the wall time also counts waiting for a core.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "workflow" / "src"
DCM2NIIX_PIN = "dcm2niix==1.0.20260724"
GENERATE_SETTINGS = {
    "preset": "clinical",
    "name": "bench_conversion",
    "n_patients": 1,
    "n_men": 1,
    "age_median": 56,
    # Siemens Biograph Vision-like whole body: 440 x 440 at 1.65 mm, 545 slices of 2 mm.
    "pet": {"matrix": 440, "pixel_mm": 1.65, "slice_mm": 2.0, "n_slices": 545},
}
"""Settings of :func:`netpet.synthetic.generate_cohort` for ``--generate``."""

# The conversion as the patient's job runs it (netpet.steps.ingest.ingest_scan with its log),
# in a fresh Python, minus Snakemake's preamble.
CHILD = """
import sys
pet, ct, out, src = sys.argv[1:5]
sys.path.insert(0, src)
from netpet.logs import log_to
from netpet.steps.ingest import ingest_scan
with log_to(out + "/convert.log"):
    ingest_scan(
        patient_id="P",
        timepoint="t",
        pet_dicom=pet,
        anatomy_dicom=ct or None,
        anatomy_modality="ct" if ct else None,
        suv_type="bw",
        max_uptake_half_lives=6.0,
        pet_suv_path=out + "/pet_suv.nii.gz",
        anatomy_dir=out + "/anatomy",
        provenance_path=out + "/suv.json",
        pet_slices_path=out + "/pet_slices.json",
    )
"""


def timed_process(command: Sequence[str], *, runs: int, env: dict | None = None) -> dict:
    """Wall and CPU seconds of ``command`` as a fresh process: one warm-up, then ``runs``."""
    walls, cpus = [], []
    for k in range(runs + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            sys.exit(f"failed ({done.returncode}): {' '.join(command)}\n{done.stderr[-3000:]}")
        if k:  # the first run warms the page cache and the byte-code caches
            walls.append(wall)
            cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return {"wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus), "walls": walls}


def timed_call(function: Callable[[], object], *, runs: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``function()`` in this process, after one warm-up call."""
    function()
    walls, cpus = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        function()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - start_cpu)
    return statistics.median(walls), statistics.median(cpus)


def stage_series(folder: Path, work: Path) -> tuple[Path, Path | None, int, int]:
    """Link (or copy) the PET and CT files of ``folder`` into ``work/pet`` and ``work/ct``.

    Returns the two folders (CT None when there is none) and their file counts.
    """
    from netpet.errors import InputError
    from netpet.imaging import dicom

    scan = dicom.scan_folders([folder])
    pet = dicom.select_pet(scan.series, source=str(folder))
    try:
        ct = dicom.select_ct(scan.series, pet=pet, source=str(folder))
    except InputError:
        ct = None
    folders = []
    for name, series in (("pet", pet), ("ct", ct)):
        if series is None:
            folders.append(None)
            continue
        target = work / name
        target.mkdir(parents=True)
        for k, path in enumerate(series.files):
            destination = target / f"{k:05d}.dcm"
            try:
                os.link(path, destination)
            except OSError:  # another file system
                shutil.copyfile(path, destination)
        folders.append(target)
    return folders[0], folders[1], pet.n_files, 0 if ct is None else ct.n_files


def default_dcm2niix() -> str | None:
    """dcm2niix beside this Python (installed into the venv), else on PATH."""
    beside = Path(sys.executable).parent / "dcm2niix"
    return str(beside) if beside.is_file() else shutil.which("dcm2niix")


def dcm2niix_version(binary: str) -> str:
    """The version dcm2niix prints (e.g. ``v1.0.20260724``)."""
    done = subprocess.run([binary, "--version"], capture_output=True, text=True)
    found = re.search(r"v\d+\.\d+\.\d+", done.stdout + done.stderr)
    return found.group(0) if found else "unknown"


def stage_times(pet_dir: Path, ct_dir: Path | None, out: Path, *, runs: int):
    """In-process (name, wall s, CPU s) of each stage (median of ``runs``), SimpleITK threads."""
    import numpy as np
    import SimpleITK as sitk

    from netpet.imaging import dicom, seg_io
    from netpet.imaging.suv import suv_scale_factors
    from netpet.io import write_image

    rows = []
    pet = dicom.select_pet(dicom.scan_folders([pet_dir]).series, source="bench")
    geometry = dicom.check_geometry(pet)
    _, headers = dicom._read_pixels(pet, geometry, dtype=np.float32)
    image, _ = dicom.read_pet_suv(pet, source="bench")
    stages = [
        ("PET: read headers (folder scan)", lambda: dicom.scan_folders([pet_dir])),
        (
            "PET: read pixels, rescale to float32",
            lambda: dicom._read_pixels(pet, geometry, dtype=np.float32),
        ),
        ("PET: SUV factors", lambda: suv_scale_factors(headers, source="bench")),
        ("PET: read_pet_suv (pixels, factors, float32)", lambda: dicom.read_pet_suv(pet)),
        ("PET: slice record for the DICOM SEG", lambda: seg_io.source_slice_record(headers)),
        ("PET: provenance summary", lambda: dicom.scan_header_summary(pet)),
        ("PET: write NIfTI .nii.gz", lambda: write_image(out / "pet.nii.gz", image)),
        ("PET: write NIfTI .nii", lambda: write_image(out / "pet.nii", image, compress=False)),
    ]
    if ct_dir is not None:
        ct = dicom.select_ct(dicom.scan_folders([ct_dir]).series, pet=pet, source="bench")
        ct_image = dicom.read_ct(ct)
        on_pet = dicom.resample_to(ct_image, image, default_value=-1000.0)
        stages += [
            ("CT: read headers (folder scan)", lambda: dicom.scan_folders([ct_dir])),
            ("CT: read_ct (pixels, HU)", lambda: dicom.read_ct(ct)),
            ("CT: resample to the PET grid", lambda: dicom.resample_to(ct_image, image)),
            ("CT: write ct.nii.gz", lambda: write_image(out / "ct.nii.gz", ct_image)),
            ("CT: write ct.nii", lambda: write_image(out / "ct.nii", ct_image, compress=False)),
            ("CT: write ct_on_pet.nii.gz", lambda: write_image(out / "on.nii.gz", on_pet)),
        ]
    for name, function in stages:
        rows.append((name, *timed_call(function, runs=runs)))
    threads = sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()
    return rows, threads


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dicom_folder", type=Path)
    parser.add_argument("--dcm2niix", default=default_dcm2niix(), help="dcm2niix binary")
    parser.add_argument("--runs", type=int, default=5, help="timed runs after one warm-up")
    parser.add_argument("--python", default=sys.executable, help="Python running netpet")
    parser.add_argument("--no-stages", action="store_true", help="skip the in-process stages")
    parser.add_argument(
        "--generate", action="store_true", help="write GENERATE_SETTINGS' cohort there first"
    )
    args = parser.parse_args(argv)
    if not args.dcm2niix or not Path(args.dcm2niix).exists():
        sys.exit(f"dcm2niix not found: pip install {DCM2NIIX_PIN}, or give --dcm2niix PATH")
    sys.path.insert(0, str(ROOT / "workflow" / "src"))
    if args.generate:
        if not (args.dicom_folder / "samples.tsv").is_file():
            from netpet.synthetic import generate_cohort

            generate_cohort(args.dicom_folder, settings=GENERATE_SETTINGS, workers=1)
        args.dicom_folder = args.dicom_folder / "dicom" / "NET001" / "basal"

    with tempfile.TemporaryDirectory(prefix="netpet-conversion-") as tmp:
        work = Path(tmp)
        pet_dir, ct_dir, n_pet, n_ct = stage_series(args.dicom_folder, work / "series")
        both = work / "series"
        rows = []

        def measure(tool, series, slices, command, reference=None):
            target = work / "out"
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir()
            command = [str(c).replace("{out}", str(target)) for c in command]
            result = timed_process(command, runs=args.runs)
            rows.append(
                {
                    "tool": tool,
                    "series": series,
                    "slices": slices,
                    "reference": reference,
                    "command": " ".join(command),
                    **result,
                }
            )

        d2n = args.dcm2niix
        measure(
            "dcm2niix -z y", "PET", n_pet, [d2n, "-z", "y", "-o", "{out}", "-f", "pet", pet_dir]
        )
        measure(
            "dcm2niix -z n", "PET", n_pet, [d2n, "-z", "n", "-o", "{out}", "-f", "pet", pet_dir]
        )
        netpet = [args.python, "-c", CHILD]
        measure(
            "netpet PET -> SUV (script)",
            "PET",
            n_pet,
            [*netpet, pet_dir, "", "{out}", SRC],
            reference="dcm2niix -z y",
        )
        if ct_dir is not None:
            slices = f"{n_pet} + {n_ct}"
            measure("dcm2niix -z y", "PET + CT", slices, [d2n, "-z", "y", "-o", "{out}", both])
            measure(
                "netpet PET -> SUV + CT (script)",
                "PET + CT",
                slices,
                [*netpet, pet_dir, ct_dir, "{out}", SRC],
                reference="dcm2niix -z y PET + CT",
            )
        measure("python -c pass", "-", "-", [args.python, "-c", "pass"])
        src = ROOT / "workflow" / "src"
        importing = f"import sys; sys.path.insert(0, {str(src)!r}); import netpet.steps.ingest"
        measure("import netpet.steps.ingest", "-", "-", [args.python, "-c", importing])
        if subprocess.run([args.python, "-c", "import snakemake.script"]).returncode == 0:
            measure(
                "import snakemake.script", "-", "-", [args.python, "-c", "import snakemake.script"]
            )

        by_name = {
            f"{r['tool']}{' PET + CT' if r['series'] == 'PET + CT' else ''}": r for r in rows
        }
        print(f"## DICOM -> NIfTI conversion: {args.dicom_folder}\n")
        print(
            f"dcm2niix {dcm2niix_version(d2n)} ({d2n}); Python {sys.version.split()[0]}; "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; median of "
            f"{args.runs} runs after one warm-up; PYTHONDONTWRITEBYTECODE="
            f"{os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r}\n"
        )
        print("| tool | series | slices | wall s (median) | CPU s (median) | ratio (wall) |")
        print("|---|---|---|---|---|---|")
        for row in rows:
            reference = by_name.get(row["reference"] or "")
            ratio = f"{row['wall_s'] / reference['wall_s']:.2f}" if reference else ""
            print(
                f"| {row['tool']} | {row['series']} | {row['slices']} | {row['wall_s']:.3f} | "
                f"{row['cpu_s']:.3f} | {ratio} |"
            )
        print("\nCommands (temporary folders shown as created):\n")
        for row in rows:
            print(f"    {row['command'] if row['tool'].startswith('dcm2niix') else row['tool']}")
        print(
            f"\nnetpet runs netpet.steps.ingest.ingest_scan in `{args.python} -c <CHILD>` "
            "(see CHILD in this file), as the patient's job does."
        )
        if not args.no_stages:
            out = work / "stages"
            out.mkdir()
            stage_rows, threads = stage_times(pet_dir, ct_dir, out, runs=args.runs)
            print(
                f"\n### In-process stages (median of {args.runs} after one warm-up; "
                f"SimpleITK uses {threads} threads)\n"
            )
            print("| stage | wall s | CPU s |")
            print("|---|---|---|")
            for name, wall, cpu in stage_rows:
                print(f"| {name} | {wall:.3f} | {cpu:.3f} |")
        print("\n" + json.dumps({r["tool"] + " " + r["series"]: r["walls"] for r in rows}))


if __name__ == "__main__":
    main()
