# Configuration and sheet validation, wildcard constraints and input functions.
import re
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

sys.path.insert(0, str(Path(workflow.current_basedir).parent / "src"))

from netpet.config import load_sheet, validate_config  # noqa: E402
from netpet.errors import InputError  # noqa: E402
from netpet.study_steps import analysed_columns  # noqa: E402

try:
    config.update(validate_config(config, source="config (config/config.yaml and --config)"))
except InputError as error:
    raise WorkflowError(str(error)) from None

if config["radiomics"]["enabled"]:
    from netpet.radiomics_features import load_radiomics_params

    try:
        load_radiomics_params(config["radiomics"]["params"])
    except InputError as error:
        raise WorkflowError(f"config radiomics.params: {error}") from None

BASELINE = config["timepoints"]["baseline"]
FOLLOWUPS = list(config["timepoints"]["followups"])
TIMEPOINTS = [BASELINE, *FOLLOWUPS]
SYNTHETIC = config["synthetic"]["enabled"]


def synthetic_settings():
    """The synthetic cohort's settings: the config section, time points from ``timepoints``."""
    settings = {k: v for k, v in config["synthetic"].items() if k != "enabled"}
    if settings.get("name") is None:
        settings.pop("name", None)  # the preset's name
    settings["timepoints"] = TIMEPOINTS
    return settings


def _synthetic_dir():
    """resources/synthetic/<name>, the name resolved from the preset when not set."""
    if not SYNTHETIC:
        return None
    from netpet.synthetic import resolve_settings

    try:
        return f"resources/synthetic/{resolve_settings(synthetic_settings())['name']}"
    except InputError as error:
        raise WorkflowError(str(error)) from None


SYNTHETIC_DIR = _synthetic_dir()


def _load_samples():
    """The user's samples sheet (validated), or None for the synthetic cohort."""
    if SYNTHETIC:
        return None
    try:
        samples = load_sheet(config["samples"], "samples")
        load_sheet(config["clinical"], "clinical")
    except InputError as error:
        raise WorkflowError(str(error)) from None
    return samples


def _scan_index():
    """The scans the study analyses: (patient_id, timepoint) pairs, known before any job runs."""
    if SYNTHETIC:
        from netpet.synthetic import scan_index

        try:
            return scan_index(synthetic_settings())
        except InputError as error:
            raise WorkflowError(str(error)) from None
    samples = SAMPLES
    unknown = sorted(set(samples["timepoint"]) - set(TIMEPOINTS))
    if unknown:
        raise WorkflowError(
            f"{config['samples']}: time point(s) {', '.join(unknown)} are not named in the "
            f"config (timepoints.baseline / timepoints.followups: {', '.join(TIMEPOINTS)}); "
            "add them there or remove those rows"
        )
    return samples[["patient_id", "timepoint"]]


SAMPLES = _load_samples()
SCANS = _scan_index()
PATIENTS = sorted(set(SCANS["patient_id"]))
SAMPLES_SHEET = f"{SYNTHETIC_DIR}/samples.tsv" if SYNTHETIC else config["samples"]
CLINICAL_SHEET = f"{SYNTHETIC_DIR}/clinical.tsv" if SYNTHETIC else config["clinical"]


wildcard_constraints:
    patient="|".join(map(re.escape, PATIENTS)) if PATIENTS else "[^/]+",
    timepoint="|".join(map(re.escape, TIMEPOINTS)),


def scan_pairs():
    """(patient, timepoint) of every scan, in sheet order."""
    return list(SCANS[["patient_id", "timepoint"]].itertuples(index=False, name=None))


def per_scan(pattern):
    """Expand a path pattern with {patient} and {timepoint} over every scan."""
    return [pattern.format(patient=p, timepoint=t) for p, t in scan_pairs()]


def scan_row(wildcards):
    """The samples-sheet row of a user's scan (empty for the synthetic cohort)."""
    if SYNTHETIC:
        return {}
    rows = SAMPLES[
        (SAMPLES["patient_id"] == wildcards.patient) & (SAMPLES["timepoint"] == wildcards.timepoint)
    ]
    return {k: v for k, v in rows.iloc[0].items() if isinstance(v, str) and v}


def scan_files(*columns, synthetic_dir):
    """Input function: the samples sheet plus the files or folders it names for a scan.

    For the synthetic cohort the sheet does not exist before the cohort is generated, so the
    cohort's folder ``synthetic_dir`` (an output of rule synthetic_cohort) stands in for them.
    """

    def inputs(wildcards):
        files = {"samples": SAMPLES_SHEET}
        if SYNTHETIC:
            files["synthetic"] = f"{SYNTHETIC_DIR}/{synthetic_dir}"
        else:
            row = scan_row(wildcards)
            files.update({column: row[column] for column in columns if column in row})
        return files

    return inputs


def segmentation_outputs():
    """The segmentation outputs: label map, its record, and DICOM SEG when asked for."""
    outputs = {
        "labels": "results/segmentation/{patient}/{timepoint}/lesions.nii.gz",
        "info": "results/segmentation/{patient}/{timepoint}/segmentation.json",
    }
    if config["segmentation"]["export_dicom_seg"]:
        outputs["dicom_seg"] = "results/segmentation/{patient}/{timepoint}/lesions_seg.dcm"
    return outputs


def mip_patient():
    """The patient shown in the basal/follow-up MIP figure."""
    chosen = config["report"]["mip_patient"]
    if chosen and chosen not in PATIENTS:
        raise WorkflowError(
            f"config report.mip_patient: {chosen!r} is not a patient of the cohort; "
            f"choose one of {', '.join(PATIENTS[:10])}{' ...' if len(PATIENTS) > 10 else ''}"
        )
    return chosen or PATIENTS[0]


def all_outputs():
    """Every final output of the study."""
    outputs = ["results/features/lesions.tsv", "results/features/scans.tsv"]
    outputs += per_scan("results/qc/{patient}_{timepoint}.png")
    if config["segmentation"]["export_dicom_seg"]:
        outputs += per_scan("results/segmentation/{patient}/{timepoint}/lesions_seg.dcm")
    if config["radiomics"]["enabled"]:
        outputs.append("results/features/radiomics.tsv")
    if SYNTHETIC:
        outputs.append("results/validation/imaging_accuracy.tsv")
        outputs.append("results/validation/hazard_ratio_recovery.tsv")
    outputs.append(f"results/figures/mip_{mip_patient()}.png")
    outputs += [
        "results/stats/cox_univariate.tsv",
        "results/stats/cox_adjusted.tsv",
        "results/stats/bootstrap.tsv",
        "results/tables/table1.tsv",
        "results/figures/forest.png",
    ]
    followup = FOLLOWUPS[0]
    outputs += [
        f"results/figures/km_{p}_change_{followup}_pct.png"
        for p in config["report"]["figure_parameters"]
    ]
    return outputs
