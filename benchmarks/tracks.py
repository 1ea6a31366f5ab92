"""Accuracy of lesion tracks, response categories, heterogeneity and response criteria.

For each seed: generates the three-time-point synthetic cohort (``config/longitudinal.yaml``'s
``synthetic`` section merged over ``config/config.yaml``'s, seed replaced), runs the per-scan
chain in a process pool (ingest, organs, segmentation, features:
:func:`benchmarks.accuracy.measure`, which also scores the imaging chain on basal and the
first follow-up), registers every follow-up to its baseline
(:func:`netpet.steps.longitudinal.register_step`), builds the tracks
(:func:`netpet.longitudinal.tracks.cohort_tracks`) and the heterogeneity table, scores them
(:func:`netpet.longitudinal.accuracy.track_accuracy_tables`), and compares the response
criteria of the measured scans (:func:`netpet.steps.response.criteria_step`, as the workflow
computes them) with the criteria of the true lesions
(:func:`netpet.stats.criteria.response_criteria` on
:func:`netpet.stats.criteria_truth.true_scans_table` and
:func:`~netpet.stats.criteria_truth.true_new_lesions`, SUL as the workflow computes it;
PERCIST there on the true SUVmax: the truth has no SUVpeak).  Prints a markdown table per
seed and one pooled over the seeds (metric, value, n, target, met), then the category
disagreements by reason and the criteria disagreements with new lesions on one side only.

Usage (from the repository root)::

    .venv/bin/python benchmarks/tracks.py --seeds 20240607 20240608 --workers 2 --out DIR
        [--patients 12]

Outputs under ``DIR/<seed>/``: ``cohort/`` (the generated cohort), ``work/`` (every per-scan
file, ``registration/``, ``tracks.tsv``, ``heterogeneity.tsv``, ``criteria.tsv``), and
``metrics.tsv`` (the table printed), ``lesions.tsv`` (every true lesion row with its measured
track and category), ``category_disagreements.tsv`` (those rows whose categories disagree,
with the reason), ``criteria_pairs.tsv`` (measured and true class per patient, follow-up and
criterion); ``DIR/pooled.tsv``.  An existing cohort or ingested scan is reused.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from benchmark_modules import load_benchmark

from netpet.accuracy import DETECTION_MIN_VOLUME_ML
from netpet.config import load_sheet, validate_config
from netpet.io import write_tsv
from netpet.longitudinal.accuracy import (
    COUNT_METRICS,
    DISAGREEMENT_REASONS,
    category_disagreements,
    track_accuracy_tables,
)
from netpet.longitudinal.heterogeneity import heterogeneity_table
from netpet.longitudinal.tracks import TrackSettings, cohort_tracks
from netpet.stats.columns import SUL_PER_SUVBW_COLUMN
from netpet.stats.criteria import CriteriaSettings, response_criteria
from netpet.stats.criteria_truth import (
    criteria_agreement,
    criteria_pairs,
    true_new_lesions,
    true_scans_table,
)
from netpet.steps.longitudinal import register_step
from netpet.steps.response import criteria_step, sul_per_suvbw
from netpet.synthetic import generate_cohort

ROOT = Path(__file__).resolve().parents[1]
SEEDS = (20240607, 20240608)
#: Columns of the printed tables.
TABLE_COLUMNS = ("metric", "value", "n", "target", "met")


def _merge(base: dict, override: dict) -> dict:
    """``override`` merged into ``base`` key by key, recursively (as Snakemake merges
    ``--configfile`` files)."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def longitudinal_config() -> dict:
    """config/config.yaml with config/longitudinal.yaml over it, validated (defaults filled)."""
    main = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    longitudinal = yaml.safe_load((ROOT / "config" / "longitudinal.yaml").read_text())
    return validate_config(_merge(main, longitudinal), source="config.yaml + longitudinal.yaml")


def timepoints_of(config: dict) -> list[str]:
    """Baseline then follow-ups, as the workflow orders them."""
    return [config["timepoints"]["baseline"], *config["timepoints"]["followups"]]


def cohort_settings(config: dict, *, seed: int, n_patients: int | None = None) -> dict:
    """The generator settings of the workflow's ``synthetic_cohort`` rule, seed replaced.

    ``n_patients`` other than the config's scales ``n_men`` and ``n_progressions`` with it.
    """
    settings = {k: v for k, v in config["synthetic"].items() if k != "enabled"}
    if settings.get("name") is None:
        settings.pop("name", None)
    settings["timepoints"] = timepoints_of(config)
    settings["seed"] = int(seed)
    if n_patients is not None and n_patients != settings.get("n_patients"):
        scale = n_patients / settings["n_patients"]
        for key in ("n_men", "n_progressions"):
            if settings.get(key) is not None:
                settings[key] = round(settings[key] * scale)
        settings["n_patients"] = n_patients
    return settings


def _register(job: dict) -> float:
    """Register one follow-up (register_step); seconds taken."""
    start = time.perf_counter()
    out = Path(job["out"])
    try:
        register_step(
            patient_id=job["patient_id"],
            baseline=job["baseline"],
            timepoint=job["timepoint"],
            baseline_images_dir=job["baseline_images"],
            followup_images_dir=job["followup_images"],
            followup_lesions_path=job["followup_lesions"],
            settings=job["settings"],
            suv_max=job["suv_max"],
            transform_out=out / "transform.tfm",
            record_out=out / "registration.json",
            lesions_out=out / "lesions_in_baseline.nii.gz",
            qc_out=out / "registration_qc.png",
            failed_qc_out=out / "failed_registration_qc.png",
        )
    except Exception as exc:
        scan = f"{job['patient_id']}/{job['timepoint']}"
        raise RuntimeError(f"registration of {scan}: {exc}") from exc
    return time.perf_counter() - start


def run_seed(
    seed: int,
    out: str | Path,
    *,
    n_patients: int | None = None,
    workers: int = 2,
) -> dict:
    """Generate, analyse and score one cohort (module docstring).

    Parameters
    ----------
    seed : int
        Master seed of the synthetic cohort.
    out : path
        Folder of this seed (``cohort/``, ``work/`` and the tables are written there).
    n_patients : int, optional
        Patients (default: config/longitudinal.yaml's 12).
    workers : int
        Process pool size for generation, the per-scan chain and registration.

    Returns
    -------
    dict
        ``metrics`` (:data:`TABLE_COLUMNS` without ``met``: track metrics, then one
        ``criteria_agreement_<criterion>`` row per criterion), ``lesions``
        (:func:`netpet.longitudinal.accuracy.true_lesion_table`), ``disagreements``
        (:func:`netpet.longitudinal.accuracy.category_disagreements`), ``pairs``
        (:func:`netpet.stats.criteria_truth.criteria_pairs`), ``imaging``
        (benchmarks/accuracy.py's summary, basal and first follow-up), ``tracks``,
        ``seconds`` (per stage).
    """
    config = longitudinal_config()
    timepoints = timepoints_of(config)
    baseline = timepoints[0]
    out = Path(out).resolve()
    cohort, work = out / "cohort", out / "work"
    seconds = {}
    start = time.perf_counter()
    if not (cohort / "truth" / "scans.tsv").is_file():
        settings = cohort_settings(config, seed=seed, n_patients=n_patients)
        generate_cohort(cohort, settings=settings, workers=workers)
    seconds["generate"] = time.perf_counter() - start

    start = time.perf_counter()
    bench = load_benchmark("accuracy")
    imaging, _, _ = bench.measure(cohort, work, workers=workers)
    seconds["scan_chain"] = time.perf_counter() - start
    sheet = pd.read_csv(work / "samples.tsv", sep="\t", dtype=str)
    scans = list(zip(sheet["patient_id"], sheet["timepoint"], strict=True))
    paths = {scan: bench.scan_paths(work, work / "images", *scan) for scan in scans}

    start = time.perf_counter()
    jobs = [
        {
            "patient_id": patient,
            "baseline": baseline,
            "timepoint": timepoint,
            "baseline_images": paths[(patient, baseline)]["pet_suv"].parent,
            "followup_images": paths[(patient, timepoint)]["pet_suv"].parent,
            "followup_lesions": paths[(patient, timepoint)]["labels"],
            "settings": config["longitudinal"]["registration"],
            "suv_max": config["report"]["mip_suv_max"],
            "out": work / "registration" / patient / timepoint,
        }
        for patient, timepoint in scans
        if timepoint != baseline
    ]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        list(pool.map(_register, jobs))
    seconds["registration"] = time.perf_counter() - start

    start = time.perf_counter()
    label_paths = [
        paths[(p, t)]["labels"]
        if t == baseline
        else work / "registration" / p / t / "lesions_in_baseline.nii.gz"
        for p, t in scans
    ]
    lesions = pd.concat([pd.read_csv(paths[s]["lesions"], sep="\t") for s in scans])
    write_tsv(work / "lesions.tsv", lesions)
    tracks = cohort_tracks(
        scans=scans,
        label_paths=label_paths,
        lesions=lesions,
        timepoints=timepoints,
        settings=TrackSettings.from_config(config["longitudinal"]["tracks"]),
    )
    write_tsv(work / "tracks.tsv", tracks)
    heterogeneity = heterogeneity_table(tracks, scans=scans, baseline=baseline)
    write_tsv(work / "heterogeneity.tsv", heterogeneity)
    metrics, true_lesions = track_accuracy_tables(
        tracks=tracks,
        truth_dir=cohort / "truth",
        scans=scans,
        seg_paths=[paths[s]["labels"] for s in scans],
        timepoints=timepoints,
    )
    seconds["tracks_and_accuracy"] = time.perf_counter() - start

    # Response criteria: measured as the workflow computes them, true from the truth tables.
    criteria_step(
        scans_path=work / "scans.tsv",
        lesions_path=work / "lesions.tsv",
        clinical_path=cohort / "clinical.tsv",
        new_lesions_path=work / "heterogeneity.tsv",
        baseline=baseline,
        followups=timepoints[1:],
        settings=config["criteria"],
        out=work / "criteria.tsv",
    )
    measured = pd.read_csv(work / "criteria.tsv", sep="\t")
    true_scans = true_scans_table(cohort / "truth")
    true_scans[SUL_PER_SUVBW_COLUMN] = sul_per_suvbw(
        true_scans, load_sheet(cohort / "clinical.tsv", "clinical")
    )
    true = response_criteria(
        true_scans,
        baseline=baseline,
        followups=timepoints[1:],
        new_lesions=true_new_lesions(cohort / "truth", baseline=baseline),
        settings=CriteriaSettings.from_config(config["criteria"]),
    )
    write_tsv(work / "criteria_true.tsv", true)
    agreement = criteria_agreement(measured, true)
    pairs = criteria_pairs(measured, true)

    metrics = pd.concat([metrics, agreement], ignore_index=True)
    disagreements = category_disagreements(
        true_lesions, settings=TrackSettings.from_config(config["longitudinal"]["tracks"])
    )
    write_tsv(out / "metrics.tsv", metrics)
    write_tsv(out / "lesions.tsv", true_lesions)
    write_tsv(out / "category_disagreements.tsv", disagreements)
    write_tsv(out / "criteria_pairs.tsv", pairs)
    return {
        "metrics": metrics,
        "lesions": true_lesions,
        "disagreements": disagreements,
        "pairs": pairs,
        "imaging": imaging,
        "tracks": tracks,
        "seconds": seconds,
    }


def pool_metrics(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """Metrics pooled over seeds: shares weighted by their ``n``, counts summed."""
    stacked = pd.concat(tables, ignore_index=True)
    rows = []
    for metric, group in stacked.groupby("metric", sort=False):
        target = group["target"].iloc[0]
        n = int(group["n"].sum())
        if metric in COUNT_METRICS:
            value = float(group["value"].sum())  # a count
        else:
            known = group[group["n"] > 0]
            value = float((known["value"] * known["n"]).sum() / n) if n else np.nan
        rows.append({"metric": metric, "value": value, "n": n, "target": target})
    return pd.DataFrame(rows)


def reason_counts(disagreements: pd.DataFrame) -> pd.DataFrame:
    """Category disagreements per reason: of lesions >= 1 mL at first appearance, and all."""
    big = disagreements["first_volume_ml"] >= DETECTION_MIN_VOLUME_ML
    table = pd.DataFrame(
        {
            "ge_1ml": disagreements.loc[big, "reason"].value_counts(),
            "all": disagreements["reason"].value_counts(),
        }
    )
    return table.reindex(list(DISAGREEMENT_REASONS)).fillna(0).astype(int)


def criteria_causes(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per criterion: rows with both classes, disagreements, and of those the rows where
    one side has new lesions and the other not (PD by new lesions on one side only)."""
    known = pairs[pairs["agree"].notna()]
    one_sided = (known["measured_n_new"] > 0) != (known["true_n_new"] > 0)
    wrong = ~known["agree"].astype(bool)
    return pd.DataFrame(
        {
            "n": known.groupby("criterion", sort=False).size(),
            "disagree": wrong.groupby(known["criterion"], sort=False).sum(),
            "new_lesions_one_side": (wrong & one_sided)
            .groupby(known["criterion"], sort=False)
            .sum(),
        }
    ).astype(int)


def with_met(table: pd.DataFrame) -> pd.DataFrame:
    """Adds ``met``: yes / no against ``target`` (empty without a target or a value)."""
    met = [
        "" if np.isnan(t) or np.isnan(v) else ("yes" if v >= t else "no")
        for v, t in zip(table["value"], table["target"], strict=True)
    ]
    return table.assign(met=met)[list(TABLE_COLUMNS)]


def markdown(table: pd.DataFrame) -> str:
    """The table as markdown (shares to 3 digits)."""
    lines = ["| " + " | ".join(TABLE_COLUMNS) + " |", "|---|---:|---:|---:|---|"]
    for row in with_met(table).itertuples(index=False):
        value = "" if np.isnan(row.value) else f"{row.value:.3g}"
        target = "" if np.isnan(row.target) else f"{row.target:.2f}"
        lines.append(f"| {row.metric} | {value} | {row.n} | {target} | {row.met} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS), help="cohort seeds")
    parser.add_argument("--workers", type=int, default=2, help="process pool size (2)")
    parser.add_argument("--patients", type=int, help="patients per cohort (config: 12)")
    parser.add_argument("--out", required=True, help="output folder")
    args = parser.parse_args(argv)
    out = Path(args.out)
    results = []
    for seed in args.seeds:
        start = time.perf_counter()
        result = run_seed(seed, out / str(seed), n_patients=args.patients, workers=args.workers)
        results.append(result)
        stages = ", ".join(f"{k} {v:.0f} s" for k, v in result["seconds"].items())
        print(f"\n## seed {seed} ({time.perf_counter() - start:.0f} s: {stages})\n")
        print(markdown(result["metrics"]))
    pooled = pool_metrics([r["metrics"] for r in results])
    write_tsv(out / "pooled.tsv", with_met(pooled))
    seeds = ", ".join(map(str, args.seeds))
    print(f"\n## pooled over seeds {seeds}\n")
    print(markdown(pooled))
    print(f"\n## category disagreements by reason (seeds {seeds})\n")
    reasons = reason_counts(pd.concat([r["disagreements"] for r in results]))
    print(reasons.to_markdown())
    print(f"\n## response criteria disagreements (seeds {seeds})\n")
    print(criteria_causes(pd.concat([r["pairs"] for r in results])).to_markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
