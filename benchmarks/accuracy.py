"""Accuracy of the imaging chain on a synthetic cohort, against its ground truth.

Runs, for every scan of a generated synthetic cohort, the workflow's per-scan steps
(:func:`netpet.steps.scan.organs_step`, :func:`~netpet.steps.scan.segment_step`,
:func:`~netpet.steps.scan.features_step`) in a process pool, then
:func:`netpet.accuracy.cohort_accuracy`, and prints the summary table (criteria of the
default segmentation) and the time spent per stage.

Usage (from the repository root)::

    .venv/bin/python benchmarks/accuracy.py COHORT_DIR WORK_DIR [--images DIR] [--workers 2]
        [--settings '{"percent": 41}'] [--generate N]

``COHORT_DIR`` is a generated cohort (``samples.tsv``, ``labels/``, ``dicom/``, ``truth/``).
PET SUV images are taken from ``--images`` (``<patient>/<timepoint>/pet_suv.nii.gz``, as in
``results/images``) when given, else ingested from the DICOM into ``WORK_DIR/images`` (the
slowest stage; done once, reused on the next run).  ``--generate N`` first writes a default
cohort of N patients into ``COHORT_DIR`` (:func:`netpet.synthetic.generate_cohort`).
Outputs: ``WORK_DIR/accuracy_summary.tsv``, ``WORK_DIR/accuracy_lesions.tsv`` and the
per-scan files of every stage under ``WORK_DIR``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

from netpet.accuracy import cohort_accuracy
from netpet.io import write_tsv
from netpet.steps import scan as scan_steps
from netpet.steps.ingest import ingest_sample, read_sample

ROOT = Path(__file__).resolve().parents[1]


def _default_config(segmentation: dict | None = None) -> dict:
    """The workflow's configuration (config/config.yaml, schema defaults filled), with
    ``segmentation`` overrides merged before validation."""
    import yaml

    from netpet.config import validate_config

    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config["segmentation"] = {**config.get("segmentation", {}), **(segmentation or {})}
    return validate_config(config)


# The workflow's default liver-reference settings (config.yaml ``organs.liver_reference``).
LIVER_REFERENCE = _default_config()["organs"]["liver_reference"]
ORGAN_CHECKS = _default_config()["organs"]["checks"]
STAGES = ("ingest", "organs", "segment", "features")


def absolute_samples(cohort_dir: Path, out: Path) -> Path:
    """Copy of the cohort's samples sheet with absolute paths (it holds paths relative to
    the directory the cohort was generated from, or absolute ones)."""
    samples = pd.read_csv(cohort_dir / "samples.tsv", sep="\t", dtype=str, keep_default_na=False)
    name = cohort_dir.name
    for column in ("pet_dicom", "ct_dicom", "organ_labels"):
        fixed = []
        for value in samples[column]:
            path = Path(value)
            if not path.is_absolute():
                parts = path.parts
                # "<anything>/<cohort name>/<rest>" -> COHORT_DIR/<rest>
                rest = parts[parts.index(name) + 1 :] if name in parts else parts
                path = cohort_dir.joinpath(*rest)
            fixed.append(str(path))
        samples[column] = fixed
    write_tsv(out, samples)
    return out


def scan_paths(work: Path, images: Path, patient: str, timepoint: str) -> dict[str, Path]:
    """Every per-scan file of the chain under ``work`` (images under ``images``)."""
    scan = Path(patient) / timepoint
    return {
        "pet_suv": images / scan / "pet_suv.nii.gz",
        "anatomy": images / scan / "anatomy",
        "suv_json": images / scan / "suv.json",
        "organs": work / "organs" / scan / "organs.nii.gz",
        "liver_json": work / "organs" / scan / "liver_reference.json",
        "liver_mask": work / "organs" / scan / "liver_reference.nii.gz",
        "labels": work / "segmentation" / scan / "lesions.nii.gz",
        "seg_info": work / "segmentation" / scan / "segmentation.json",
        "lesions": work / "features" / f"{patient}_{timepoint}_lesions.tsv",
        "scan": work / "features" / f"{patient}_{timepoint}_scan.tsv",
    }


def run_scan(job: dict) -> dict[str, float]:
    """Ingest (when needed), organs, segmentation and features of one scan; seconds per stage."""
    try:
        return _run_scan(job)
    except Exception as exc:
        raise RuntimeError(f"scan {job['patient_id']}/{job['timepoint']}: {exc}") from exc


def _run_scan(job: dict) -> dict[str, float]:
    patient, timepoint = job["patient_id"], job["timepoint"]
    p = scan_paths(Path(job["work"]), Path(job["images"]), patient, timepoint)
    seconds = dict.fromkeys(STAGES, 0.0)
    start = time.perf_counter()
    if not p["pet_suv"].is_file():
        ingest_sample(
            job["samples"],
            patient,
            timepoint,
            suv_type="bw",
            pet_suv_path=p["pet_suv"],
            anatomy_dir=p["anatomy"],
            provenance_path=p["suv_json"],
        )
    seconds["ingest"] = time.perf_counter() - start
    start = time.perf_counter()
    if not (job["reuse_organs"] and p["liver_json"].is_file()):
        scan_steps.organs_step(
            patient_id=patient,
            timepoint=timepoint,
            pet_suv_path=p["pet_suv"],
            anatomy_dir=p["anatomy"],
            organ_labels_path=read_sample(job["samples"], patient, timepoint)["organ_labels"],
            organ_labels_origin="synthetic cohort",
            check_organ_labels=True,
            liver_reference_settings=job["liver_reference"],
            checks=ORGAN_CHECKS,
            organs_out=p["organs"],
            liver_json_out=p["liver_json"],
            liver_mask_out=p["liver_mask"],
        )
    seconds["organs"] = time.perf_counter() - start
    start = time.perf_counter()
    scan_steps.segment_step(
        patient_id=patient,
        timepoint=timepoint,
        pet_suv_path=p["pet_suv"],
        organs_path=p["organs"],
        liver_json_path=p["liver_json"],
        liver_mask_path=p["liver_mask"],
        settings=job["settings"],
        labels_out=p["labels"],
        info_out=p["seg_info"],
    )
    seconds["segment"] = time.perf_counter() - start
    start = time.perf_counter()
    scan_steps.features_step(
        patient_id=patient,
        timepoint=timepoint,
        pet_suv_path=p["pet_suv"],
        labels_path=p["labels"],
        organs_path=p["organs"],
        liver_json_path=p["liver_json"],
        liver_mask_path=p["liver_mask"],
        segmentation_info_path=p["seg_info"],
        lesions_out=p["lesions"],
        scan_out=p["scan"],
    )
    seconds["features"] = time.perf_counter() - start
    return seconds


def measure(
    cohort_dir: str | Path,
    work_dir: str | Path,
    *,
    images_dir: str | Path | None = None,
    settings: dict | None = None,
    workers: int = 2,
    reuse_organs: bool = False,
    liver_reference: dict | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Run the chain on every scan of ``cohort_dir`` and measure its accuracy.

    Parameters
    ----------
    cohort_dir
        A generated synthetic cohort (``samples.tsv``, ``labels/``, ``dicom/``, ``truth/``).
    work_dir
        Folder for every output (created).
    images_dir
        Folder of ingested images (``<patient>/<timepoint>/pet_suv.nii.gz``); default
        ``work_dir/images`` (scans missing there are ingested from DICOM).
    settings
        Overrides of the config's ``segmentation`` section (merged into config/config.yaml's
        and validated); default: the workflow's settings.
    workers
        Size of the process pool (one scan per task).
    reuse_organs
        Keep organ outputs already in ``work_dir`` (they do not depend on segmentation).
    liver_reference
        Overrides of the liver-reference settings (default: the workflow's, radius 15 mm,
        10 mm from the liver edge and from lesions).

    Returns
    -------
    summary : DataFrame
        :func:`netpet.accuracy.cohort_accuracy`'s table (metric, value, n, criterion, pass).
    lesions : DataFrame
        One row per true lesion (match, volumes, relative volume error).
    seconds : DataFrame
        One row per scan, seconds per stage.
    """
    cohort_dir, work = Path(cohort_dir).resolve(), Path(work_dir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    images = Path(images_dir).resolve() if images_dir else work / "images"
    samples = absolute_samples(cohort_dir, work / "samples.tsv")
    sheet = pd.read_csv(samples, sep="\t", dtype=str)
    scans = list(zip(sheet["patient_id"], sheet["timepoint"], strict=True))
    truth_settings = json.loads((cohort_dir / "truth" / "settings.json").read_text())
    timepoints = truth_settings["timepoints"]
    jobs = [
        {
            "patient_id": patient,
            "timepoint": timepoint,
            "work": str(work),
            "images": str(images),
            "samples": str(samples),
            "settings": _default_config(settings)["segmentation"],
            "reuse_organs": reuse_organs,
            "liver_reference": {**LIVER_REFERENCE, **(liver_reference or {})},
        }
        for patient, timepoint in scans
    ]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        times = list(pool.map(run_scan, jobs))
    seconds = pd.DataFrame(times)
    seconds.insert(0, "timepoint", [t for _, t in scans])
    seconds.insert(0, "patient_id", [p for p, _ in scans])
    paths = [scan_paths(work, images, patient, timepoint) for patient, timepoint in scans]
    scan_steps.concatenate_tables([p["scan"] for p in paths], work / "scans.tsv")
    summary = cohort_accuracy(
        truth_dir=cohort_dir / "truth",
        scans=scans,
        seg_paths=[p["labels"] for p in paths],
        organ_paths=[p["organs"] for p in paths],
        scans_table=work / "scans.tsv",
        baseline=timepoints[0],
        followup=timepoints[1],
        summary_out=work / "accuracy_summary.tsv",
        lesions_out=work / "accuracy_lesions.tsv",
    )
    lesions = pd.read_csv(work / "accuracy_lesions.tsv", sep="\t")
    return summary, lesions, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cohort_dir", help="generated synthetic cohort folder")
    parser.add_argument("work_dir", help="output folder")
    parser.add_argument("--images", help="ingested images folder (results/images layout)")
    parser.add_argument("--workers", type=int, default=2, help="process pool size (2)")
    parser.add_argument("--settings", default="{}", help="segmentation settings, JSON")
    parser.add_argument("--reuse-organs", action="store_true", help="keep organ outputs")
    parser.add_argument("--liver-reference", default="{}", help="liver reference settings, JSON")
    parser.add_argument(
        "--generate", type=int, metavar="N", help="first generate a default cohort of N patients"
    )
    args = parser.parse_args(argv)
    if args.generate:
        from netpet.synthetic import generate_cohort

        start = time.perf_counter()
        generate_cohort(
            args.cohort_dir,
            settings={"preset": "default", "n_patients": args.generate},
            workers=args.workers,
        )
        print(f"generated {args.generate} patients in {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    summary, lesions, seconds = measure(
        args.cohort_dir,
        args.work_dir,
        images_dir=args.images,
        settings=json.loads(args.settings),
        workers=args.workers,
        reuse_organs=args.reuse_organs,
        liver_reference=json.loads(args.liver_reference),
    )
    wall = time.perf_counter() - start
    with pd.option_context("display.width", 120, "display.max_columns", 10):
        print(summary.to_string(index=False))
        print()
        print(f"{len(seconds)} scans, {args.workers} workers, wall {wall:.1f} s")
        per_stage = seconds[list(STAGES)].agg(["mean", "max", "sum"]).T
        per_stage.columns = ["mean_s_per_scan", "max_s", "total_s"]
        print(per_stage.round(2).to_string())
    missed = lesions[(lesions["true_volume_ml"] >= 1.0) & (lesions["seg_id"] == 0)]
    if len(missed):
        print("\nmissed lesions >= 1 mL:")
        print(missed.to_string(index=False))
    return 0 if summary["pass"].iloc[:5].all() else 1


if __name__ == "__main__":
    sys.exit(main())
