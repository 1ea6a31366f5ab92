"""Accuracy of the imaging chain against the synthetic cohort's ground truth.

Measures what the study depends on (README "Validation"):

- detection: share of true lesions of at least 1 mL that are found;
- false lesions in organs with physiological uptake (spleen, kidneys, urinary bladder);
- volume: median absolute relative error of lesions of at least 5 mL;
- patient level: Spearman correlation of measured versus true dWTV and dTRE.

Matching rule: a true lesion and a segmented lesion match when each is the other's partner
of largest voxel overlap (mutual best match).  A true lesion is *detected* when it has a
match; two true lesions merged into one segmented lesion count as one detection.
Arrays are numpy (z, y, x).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk
from scipy import stats

from netpet import labels as organ_numbers
from netpet.errors import InputError
from netpet.io import write_tsv

# Organs in which a reported lesion is physiological uptake, never tumour (issue criterion).
NO_LESION_ORGANS = (organ_numbers.SPLEEN, *organ_numbers.KIDNEYS, organ_numbers.URINARY_BLADDER)
DETECTION_MIN_VOLUME_ML = 1.0
VOLUME_MIN_VOLUME_ML = 5.0

# Criteria the default method must meet: (metric, comparison, threshold).
CRITERIA = {
    "detection_rate_ge_1ml": (">=", 0.95),
    "lesions_in_spleen_kidneys_bladder": ("<=", 0),
    "median_abs_volume_error_ge_5ml": ("<", 0.10),
    "spearman_dwtv": (">=", 0.95),
    "spearman_dtre": (">=", 0.95),
}


def _overlaps(truth_zyx: np.ndarray, seg_zyx: np.ndarray) -> pd.DataFrame:
    """Voxel counts of every (true lesion, segmented lesion) pair that overlaps."""
    both = (truth_zyx > 0) & (seg_zyx > 0)
    pairs = pd.DataFrame({"true_id": truth_zyx[both], "seg_id": seg_zyx[both]})
    return pairs.value_counts().rename("overlap_voxels").reset_index()


def match_scan(
    truth_labels: sitk.Image,
    seg_labels: sitk.Image,
    organ_labels: sitk.Image,
    truth_lesions: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Match the segmented lesions of one scan to its true lesions.

    Parameters
    ----------
    truth_labels, seg_labels, organ_labels
        True lesion labels, segmented lesion labels and organ labels, all on the PET grid.
    truth_lesions
        The scan's rows of ``truth/lesions.tsv`` (``lesion_id``, ``volume_ml``, ``status``).

    Returns
    -------
    true_rows : DataFrame
        One row per true lesion present in the scan: ``lesion_id``, ``true_volume_ml``,
        ``seg_id`` (0 when not detected), ``seg_volume_ml``, ``volume_error`` (relative).
    seg_rows : DataFrame
        One row per segmented lesion: ``seg_id``, ``seg_volume_ml``, ``matched_true_id``,
        ``organ_label`` (majority organ under the lesion).
    """
    for image, what in ((seg_labels, "segmentation"), (organ_labels, "organ labels")):
        if (
            image.GetSize() != truth_labels.GetSize()
            or not np.allclose(image.GetOrigin(), truth_labels.GetOrigin(), atol=1e-3)
            or not np.allclose(image.GetSpacing(), truth_labels.GetSpacing(), atol=1e-4)
        ):
            raise InputError(f"{what} and the true lesion labels are not on the same PET grid")
    voxel_ml = float(np.prod(truth_labels.GetSpacing())) / 1000.0
    truth_zyx = sitk.GetArrayViewFromImage(truth_labels)
    seg_zyx = sitk.GetArrayViewFromImage(seg_labels)
    organs_zyx = sitk.GetArrayViewFromImage(organ_labels)
    pairs = _overlaps(truth_zyx, seg_zyx)
    best_seg = pairs.sort_values(["overlap_voxels", "seg_id"], ascending=[False, True])
    best_seg = best_seg.drop_duplicates("true_id").set_index("true_id")["seg_id"]
    best_true = pairs.sort_values(["overlap_voxels", "true_id"], ascending=[False, True])
    best_true = best_true.drop_duplicates("seg_id").set_index("seg_id")["true_id"]
    seg_ids, seg_counts = np.unique(seg_zyx[seg_zyx > 0], return_counts=True)
    seg_volume = dict(zip(seg_ids.tolist(), (seg_counts * voxel_ml).tolist(), strict=True))

    present = truth_lesions[truth_lesions["status"] != "disappeared"]
    true_rows = []
    for lesion in present.itertuples(index=False):
        seg_id = int(best_seg.get(lesion.lesion_id, 0))
        if seg_id and int(best_true.get(seg_id, 0)) != lesion.lesion_id:
            seg_id = 0
        volume = seg_volume.get(seg_id, 0.0)
        true_rows.append(
            {
                "lesion_id": int(lesion.lesion_id),
                "site": lesion.site,
                "true_volume_ml": float(lesion.volume_ml),
                "seg_id": seg_id,
                "seg_volume_ml": volume if seg_id else np.nan,
                "volume_error": (volume / lesion.volume_ml - 1.0) if seg_id else np.nan,
            }
        )
    seg_rows = []
    for seg_id in seg_ids.tolist():
        organ_values = organs_zyx[seg_zyx == seg_id]
        counts = np.bincount(organ_values.astype(np.int64))
        majority = int(np.argmax(counts)) if counts.size else 0
        matched = int(best_true.get(seg_id, 0))
        if matched and int(best_seg.get(matched, 0)) != seg_id:
            matched = 0
        seg_rows.append(
            {
                "seg_id": seg_id,
                "seg_volume_ml": seg_volume[seg_id],
                "matched_true_id": matched,
                "organ_label": majority,
            }
        )
    return pd.DataFrame(true_rows), pd.DataFrame(seg_rows)


def spearman_deltas(
    measured_scans: pd.DataFrame, truth_patients: pd.DataFrame, *, baseline: str, followup: str
) -> dict[str, float]:
    """Spearman rho of measured versus true dWTV and dTRE (%, baseline to ``followup``)."""
    wide = measured_scans.pivot(index="patient_id", columns="timepoint", values=["wtv_ml", "tre"])
    result = {}
    for param, truth_col in (("wtv_ml", f"dwtv_pct_{followup}"), ("tre", f"dtre_pct_{followup}")):
        base, follow = wide[(param, baseline)], wide[(param, followup)]
        measured = ((follow - base) / base * 100.0).rename("measured")
        joined = truth_patients.set_index("patient_id")[[truth_col]].join(measured).dropna()
        name = "spearman_dwtv" if param == "wtv_ml" else "spearman_dtre"
        result[name] = float(stats.spearmanr(joined[truth_col], joined["measured"]).statistic)
    return result


def cohort_accuracy(
    *,
    truth_dir: str | os.PathLike,
    scans: Sequence[tuple[str, str]],
    seg_paths: Sequence[str | os.PathLike],
    organ_paths: Sequence[str | os.PathLike],
    scans_table: str | os.PathLike,
    baseline: str,
    followup: str,
    summary_out: str | os.PathLike,
    lesions_out: str | os.PathLike,
) -> pd.DataFrame:
    """Accuracy of segmentation and features over the cohort, against the ground truth.

    Parameters
    ----------
    truth_dir
        The synthetic cohort's ``truth/`` folder (``lesions.tsv``, ``patients.tsv``,
        ``lesion_labels/<patient>/<timepoint>.nii.gz``).
    scans, seg_paths, organ_paths
        (patient, timepoint) of every scan and, in the same order, its segmentation and its
        organ labels on the PET grid.
    scans_table
        ``results/features/scans.tsv``.
    summary_out, lesions_out
        TSV outputs: one row per metric (value, criterion, pass) and one row per true lesion.

    Returns
    -------
    pandas.DataFrame
        The summary table.
    """
    truth_dir = Path(truth_dir)
    truth_lesions = pd.read_csv(truth_dir / "lesions.tsv", sep="\t")
    true_tables, seg_tables = [], []
    for (patient, timepoint), seg_path, organ_path in zip(
        scans, seg_paths, organ_paths, strict=True
    ):
        rows = truth_lesions[
            (truth_lesions["patient_id"] == patient) & (truth_lesions["timepoint"] == timepoint)
        ]
        truth_image = sitk.ReadImage(
            str(truth_dir / "lesion_labels" / patient / f"{timepoint}.nii.gz")
        )
        true_rows, seg_rows = match_scan(
            truth_image, sitk.ReadImage(str(seg_path)), sitk.ReadImage(str(organ_path)), rows
        )
        for table, target in ((true_rows, true_tables), (seg_rows, seg_tables)):
            table.insert(0, "timepoint", timepoint)
            table.insert(0, "patient_id", patient)
            target.append(table)
    true_all = pd.concat(true_tables, ignore_index=True)
    seg_all = pd.concat(seg_tables, ignore_index=True)

    eligible = true_all[true_all["true_volume_ml"] >= DETECTION_MIN_VOLUME_ML]
    large = true_all[
        (true_all["true_volume_ml"] >= VOLUME_MIN_VOLUME_ML) & (true_all["seg_id"] > 0)
    ]
    in_organs = seg_all[seg_all["organ_label"].isin(NO_LESION_ORGANS)]
    values = {
        "detection_rate_ge_1ml": float((eligible["seg_id"] > 0).mean()),
        "lesions_in_spleen_kidneys_bladder": len(in_organs),
        "median_abs_volume_error_ge_5ml": float(large["volume_error"].abs().median()),
        **spearman_deltas(
            pd.read_csv(scans_table, sep="\t"),
            pd.read_csv(truth_dir / "patients.tsv", sep="\t"),
            baseline=baseline,
            followup=followup,
        ),
    }
    counts = {
        "detection_rate_ge_1ml": len(eligible),
        "lesions_in_spleen_kidneys_bladder": len(seg_all),
        "median_abs_volume_error_ge_5ml": len(large),
        "spearman_dwtv": true_all["patient_id"].nunique(),
        "spearman_dtre": true_all["patient_id"].nunique(),
    }
    extra = {
        "false_positive_lesions": (int((seg_all["matched_true_id"] == 0).sum()), len(seg_all)),
        "median_volume_error_ge_5ml": (float(large["volume_error"].median()), len(large)),
        "detection_rate_all": (float((true_all["seg_id"] > 0).mean()), len(true_all)),
    }
    rows = []
    for metric, value in values.items():
        comparison, threshold = CRITERIA[metric]
        passed = {">=": value >= threshold, "<=": value <= threshold, "<": value < threshold}
        rows.append(
            {
                "metric": metric,
                "value": value,
                "n": counts[metric],
                "criterion": f"{comparison} {threshold}",
                "pass": bool(passed[comparison]),
            }
        )
    for metric, (value, n) in extra.items():
        rows.append({"metric": metric, "value": value, "n": n, "criterion": "", "pass": ""})
    summary = pd.DataFrame(rows)
    write_tsv(lesions_out, true_all)
    write_tsv(summary_out, summary)
    return summary


def hazard_ratio_recovery(
    *,
    patients_path: str | os.PathLike,
    truth_dir: str | os.PathLike,
    followup: str,
    out: str | os.PathLike,
) -> pd.DataFrame:
    """Do the estimated hazard ratios cover the synthetic cohort's true ones?

    The cohort's outcomes come from a proportional-hazards model holding, together, the
    indicators dWTV >= cut, dTRE >= cut and WHO grade (``truth/settings.json``: the true HRs
    and cuts).  That joint model is fitted (Efron; Firth under separation) twice: with the
    indicators from the *measured* changes (``patients.tsv``: what the imaging chain found)
    and from the *true* changes (``truth/patients.tsv``: sampling error only).

    Returns
    -------
    pandas.DataFrame
        One row per data source and term: ``source`` (measured / true), ``term``,
        ``true_hr``, ``hr``, ``ci_low``, ``ci_high``, ``covered`` (true HR inside the 95 % CI),
        ``method``, ``n``, ``events``; also written to ``out`` as TSV.
    """
    from netpet.stats.columns import change_column
    from netpet.stats.cox import EstimationError, categorical_design, fit_model
    from netpet.stats.patients import WHO_GRADE_LEVELS

    truth_dir = Path(truth_dir)
    settings = json.loads((truth_dir / "settings.json").read_text())
    patients = pd.read_csv(patients_path, sep="\t")
    truth = pd.read_csv(truth_dir / "patients.tsv", sep="\t").set_index("patient_id")
    terms = settings["hazard_terms"]
    measured = {
        "dwtv": patients[change_column("wtv_ml", followup)] >= settings["dwtv_cut_percent"],
        "dtre": patients[change_column("tre", followup)] >= settings["dtre_cut_percent"],
    }
    true_groups = {
        "dwtv": truth.loc[patients["patient_id"], "dwtv_high"].to_numpy() == 1,
        "dtre": truth.loc[patients["patient_id"], "dtre_high"].to_numpy() == 1,
    }
    true_hr = {
        "dwtv": settings["hr_dwtv_high"],
        "dtre": settings["hr_dtre_high"],
        "who_grade=G2": settings["hr_who_g2"],
        "who_grade=G3": settings["hr_who_g3"],
    }
    time = patients["pfs_months"].to_numpy(float)
    event = patients["progression"].to_numpy(int)
    rows = []
    for source, groups in (("measured", measured), ("true", true_groups)):
        columns, names = [], []
        for term in ("dwtv", "dtre"):
            if term in terms:
                columns.append(np.asarray(groups[term], dtype=float)[:, None])
                names.append(term)
        if "who_grade" in terms:
            grade, grade_names, _ = categorical_design(
                patients["who_grade"], name="who_grade", levels=WHO_GRADE_LEVELS
            )
            columns.append(grade)
            names += grade_names
        try:
            fit = fit_model(time, event, np.hstack(columns), names=names, all_terms=True)
        except EstimationError as error:  # few events: a result, not a crash
            for name in names:
                rows.append(
                    {"source": source, "term": name, "true_hr": true_hr.get(name, np.nan)}
                    | {"method": "not_estimable", "n": len(time), "events": int(event.sum())}
                    | {"note": str(error)}
                )
            continue
        for j, name in enumerate(fit.names):
            hr = float(np.exp(fit.coef[j]))
            # CoxFit limits are on the log-hazard scale (Wald, or profile for Firth).
            low, high = float(np.exp(fit.ci_low[j])), float(np.exp(fit.ci_high[j]))
            rows.append(
                {
                    "source": source,
                    "term": name,
                    "true_hr": true_hr.get(name, np.nan),
                    "hr": hr,
                    "ci_low": low,
                    "ci_high": high,
                    "covered": bool(low <= true_hr.get(name, np.nan) <= high),
                    "method": fit.method,
                    "n": fit.n,
                    "events": fit.events,
                    "note": "",
                }
            )
    table = pd.DataFrame(rows)
    write_tsv(out, table)
    return table
