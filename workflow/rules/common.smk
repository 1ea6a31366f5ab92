# Configuration and sheet validation, wildcard constraints and input functions.
import re
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

sys.path.insert(0, str(Path(workflow.current_basedir).parent / "src"))

from netpet.config import load_sheet, validate_config  # noqa: E402
from netpet.errors import InputError  # noqa: E402

try:
    config.update(validate_config(config, source="config (config/config.yaml and --config)"))
except InputError as error:
    raise WorkflowError(str(error)) from None

BASELINE = config["timepoints"]["baseline"]
FOLLOWUPS = list(config["timepoints"]["followups"])
TIMEPOINTS = [BASELINE, *FOLLOWUPS]
SYNTHETIC = config["synthetic"]["enabled"]
SYNTHETIC_DIR = f"resources/synthetic/{config['synthetic']['name']}"


def _scan_index():
    """The scans the study analyses: (patient_id, timepoint) pairs, known before any job runs."""
    if SYNTHETIC:
        from netpet.synthetic import scan_index

        return scan_index(config["synthetic"])
    try:
        samples = load_sheet(config["samples"], "samples")
        load_sheet(config["clinical"], "clinical")
    except InputError as error:
        raise WorkflowError(str(error)) from None
    unknown = sorted(set(samples["timepoint"]) - set(TIMEPOINTS))
    if unknown:
        raise WorkflowError(
            f"{config['samples']}: time point(s) {', '.join(unknown)} are not named in the "
            f"config (timepoints.baseline / timepoints.followups: {', '.join(TIMEPOINTS)}); "
            "add them there or remove those rows"
        )
    return samples[["patient_id", "timepoint"]]


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


def sheet_inputs(wildcards):
    """The sheets a per-scan job reads; in synthetic mode they appear when the cohort does."""
    return {"samples": SAMPLES_SHEET}


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
    outputs = per_scan("results/images/{patient}/{timepoint}/pet_suv.nii.gz")
    outputs.append(f"results/figures/mip_{mip_patient()}.png")
    return outputs
