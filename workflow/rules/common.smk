# Configuration and sheet validation, wildcard constraints and input functions.
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import gc

import pandas as pd

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger

sys.path.insert(0, str(Path(workflow.current_basedir).parent / "src"))

# Python's cyclic garbage collector runs every 700 allocations by default; Snakemake builds
# several objects per file of each job, so for large cohorts the collections took about a
# tenth of the DAG build (BENCHMARKS.md).  Collect less often: the objects live until the end.
gc.set_threshold(100_000, 50, 100)

from netpet.config import load_schema, load_sheet, validate_config  # noqa: E402
from netpet.errors import InputError  # noqa: E402
from netpet.steps.study import figure_columns  # noqa: E402
from netpet.steps.study import analysed_columns  # noqa: E402

try:
    config.update(validate_config(config, source="config (config/config.yaml and --config)"))
except InputError as error:
    raise WorkflowError(str(error)) from None

if config["radiomics"]["enabled"]:
    from netpet.imaging.radiomics import load_radiomics_params

    try:
        load_radiomics_params(config["radiomics"]["params"])
    except InputError as error:
        raise WorkflowError(f"config radiomics.params: {error}") from None

BASELINE = config["timepoints"]["baseline"]
FOLLOWUPS = list(config["timepoints"]["followups"])
TIMEPOINTS = [BASELINE, *FOLLOWUPS]
# Patient-table columns whose Kaplan-Meier, waterfall and cut-point figures are drawn.
FIGURE_COLUMNS = figure_columns(config["report"]["figure_parameters"], followups=FOLLOWUPS)
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


def _load_sheets():
    """The user's samples and clinical sheets (validated), or None for the synthetic cohort."""
    if SYNTHETIC:
        return None, None
    try:
        return load_sheet(config["samples"], "samples"), load_sheet(config["clinical"], "clinical")
    except InputError as error:
        raise WorkflowError(str(error)) from None


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


SAMPLES, CLINICAL = _load_sheets()
SCANS = _scan_index()
PATIENTS = sorted(set(SCANS["patient_id"]))
CLINICAL_SHEET = f"{SYNTHETIC_DIR}/clinical.tsv" if SYNTHETIC else config["clinical"]


# The sheet schema's ID pattern, not an alternation of every ID: Snakemake writes the
# constraint into every path pattern and scans and matches it for every file of every job, so
# an alternation of N IDs costs O(N) per file and O(N^2) for the DAG.  Unknown IDs are caught
# by scan_row.
PATIENT_ID_PATTERN = load_schema("samples")["properties"]["patient_id"]["pattern"].strip("^$")


wildcard_constraints:
    patient=PATIENT_ID_PATTERN,
    timepoint="|".join(map(re.escape, TIMEPOINTS)),


def scan_pairs():
    """(patient, timepoint) of every scan, in sheet order."""
    return list(SCANS[["patient_id", "timepoint"]].itertuples(index=False, name=None))


def per_scan(pattern):
    """Expand a path pattern with {patient} and {timepoint} over every scan."""
    return [pattern.format(patient=p, timepoint=t) for p, t in scan_pairs()]


def _rows_by_scan():
    """Each user scan's samples-sheet row (given cells only), built once for every job."""
    if SYNTHETIC:
        return {}
    rows = {}
    for record in SAMPLES.to_dict("records"):
        given = {k: v for k, v in record.items() if v is not None and v == v and v != ""}
        rows[(record["patient_id"], record["timepoint"])] = given
    return rows


ROWS = _rows_by_scan()


SCAN_KEYS = frozenset(scan_pairs())


def scan_row(wildcards):
    """The samples-sheet row of a user's scan (empty for the synthetic cohort)."""
    key = (wildcards.patient, wildcards.timepoint)
    if key not in SCAN_KEYS:
        raise WorkflowError(
            f"{wildcards.patient}/{wildcards.timepoint} is not a scan of the cohort (samples "
            "sheet, or the synthetic cohort): check the patient and time point of the target"
        )
    return ROWS.get(key, {})


def dicom_folders(wildcards):
    """The scan's DICOM folders: ``pet`` and, when it has one, ``anatomy`` (its CT or MR).

    Synthetic cohort: the scan's folder holds its PET and CT (series are found by UID, in
    any layout below it).
    """
    if SYNTHETIC:
        folder = f"{SYNTHETIC_DIR}/dicom/{wildcards.patient}/{wildcards.timepoint}"
        return {"pet": folder, "anatomy": folder}
    row = scan_row(wildcards)
    folders = {"pet": row["pet_dicom"]}
    modality = anatomy_modality(wildcards)
    if modality:
        folders["anatomy"] = row[f"{modality}_dicom"]
    return folders


def anatomy_modality(wildcards):
    """``ct``, ``mr`` or None: the anatomical image of a scan (CT wins when both are given)."""
    if SYNTHETIC:
        return "ct"
    row = scan_row(wildcards)
    return "ct" if row.get("ct_dicom") else "mr" if row.get("mr_dicom") else None


def suv_overrides(wildcards):
    """The samples sheet's SUV overrides of a scan (empty for the synthetic cohort)."""
    from netpet.imaging.suv import OVERRIDE_KEYS

    row = scan_row(wildcards)
    return {key: row[key] for key in OVERRIDE_KEYS if key in row}


TOTALSEGMENTATOR_LABELS = "results/organs/{patient}/{timepoint}/totalsegmentator_{modality}.nii.gz"


def organ_map(wildcards):
    """(origin, path) of a scan's organ label map; (None, None) when it has none.

    The samples sheet's organ_labels wins; else TotalSegmentator runs on the scan's CT (or MR)
    when enabled; a PET-only scan without organ_labels has no organ map.
    """
    if SYNTHETIC:
        path = f"{SYNTHETIC_DIR}/labels/{wildcards.patient}/{wildcards.timepoint}_organs.nii.gz"
        return "synthetic cohort", path
    row = scan_row(wildcards)
    if row.get("organ_labels"):
        return "samples sheet", row["organ_labels"]
    modality = anatomy_modality(wildcards)
    if modality and TOTALSEGMENTATOR_USABLE:
        path = TOTALSEGMENTATOR_LABELS.format(
            patient=wildcards.patient, timepoint=wildcards.timepoint, modality=modality
        )
        return "TotalSegmentator", path
    return None, None


def _totalsegmentator_usable():
    """Whether scans without organ_labels get TotalSegmentator maps; checked before any job.

    Not installed or no weights: an error for segmentation methods that need organs; with
    method import, a warning, and those scans go on without organs.
    """
    if SYNTHETIC or not config["organs"]["totalsegmentator"]["enabled"]:
        return False
    def column(name):
        return SAMPLES[name].fillna("") if name in SAMPLES else pd.Series("", index=SAMPLES.index)

    needs = column("organ_labels") == ""
    modalities = {
        modality
        for modality in ("ct", "mr")
        if (needs & (column(f"{modality}_dicom") != "")).any()
    }
    if not modalities:
        return True
    from netpet.imaging import totalsegmentator as ts

    settings = ts.TotalSegmentatorSettings.from_dict(
        {k: v for k, v in config["organs"]["totalsegmentator"].items() if k != "enabled"}
    )
    try:
        ts.find_executable(settings.executable)
        weights, source = ts.resolve_weights_dir(settings.weights_dir)
        for modality in sorted(modalities):
            task = ts.task_for_modality(modality)
            ts.check_weights(weights, source, task=task, settings=settings)
    except InputError as error:
        if config["segmentation"]["method"] != "import":
            raise WorkflowError(
                f"{config['samples']}: {int(needs.sum())} scan(s) without organ_labels: {error}"
            ) from None
        logger.warning(f"{error}\nscans without organ_labels go on without organs")
        return False
    return True


def _check_sheets():
    """Cross-checks of the user's sheets and files, before any job runs.

    Every scan's patient has a clinical row; every file and folder the samples sheet names
    exists; every scan has organs (given or made) unless segmentation imports its masks.
    """
    if SYNTHETIC:
        return
    sheet = config["samples"]
    problems = []
    stats = config["stats"]
    for key, columns in (
        ("time", [stats["time"]]),
        ("event", [stats["event"]]),
        ("adjust_for", stats["adjust_for"]),
    ):
        missing_columns = [c for c in columns if c not in CLINICAL.columns]
        if missing_columns:
            raise WorkflowError(
                f"{config['clinical']}: no column {', '.join(missing_columns)} (config stats."
                f"{key}); add it to the clinical sheet or change stats.{key}"
            )
    clinical_ids = set(CLINICAL["patient_id"])
    missing = sorted(set(SAMPLES["patient_id"]) - clinical_ids)
    if missing:
        problems.append(
            f"patient(s) {', '.join(missing[:20])}{' ...' if len(missing) > 20 else ''} of "
            f"{sheet} have no row in the clinical sheet {config['clinical']}: add their "
            "clinical data, or remove their scans"
        )
    without_scans = sorted(clinical_ids - set(SAMPLES["patient_id"]))
    if without_scans:
        logger.warning(
            f"{config['clinical']}: {len(without_scans)} patient(s) without scans in {sheet} "
            f"are left out of the study: {', '.join(without_scans[:20])}"
        )
    no_baseline = sorted(
        set(SAMPLES["patient_id"]) - set(SAMPLES.loc[SAMPLES["timepoint"] == BASELINE, "patient_id"])
    )
    if no_baseline:
        logger.warning(
            f"{sheet}: patient(s) without a {BASELINE} scan get no changes: "
            f"{', '.join(no_baseline[:20])}"
        )
    folders = ("pet_dicom", "ct_dicom", "mr_dicom")
    files = ("organ_labels", "tumour_mask")
    no_organs = []
    for index, row in enumerate(SAMPLES.to_dict("records")):
        line = index + 2
        for column in folders + files:
            value = row.get(column)
            if isinstance(value, str) and value:
                exists = Path(value).is_dir() if column in folders else Path(value).is_file()
                if not exists:
                    kind = "folder" if column in folders else "file"
                    problems.append(f"line {line}, column {column}: {kind} {value} not found")
        wildcards = SimpleNamespace(patient=row["patient_id"], timepoint=row["timepoint"])
        if organ_map(wildcards)[0] is None:
            no_organs.append(f"{row['patient_id']}/{row['timepoint']}")
    if config["segmentation"]["method"] == "import":
        if "tumour_mask" not in SAMPLES:
            problems.append("segmentation.method is import but the sheet has no tumour_mask column")
        else:
            no_mask = SAMPLES.index[SAMPLES["tumour_mask"].fillna("") == ""]
            if len(no_mask):
                lines = ", ".join(str(i + 2) for i in no_mask[:20])
                problems.append(
                    f"segmentation.method is import but line(s) {lines} have no tumour_mask: "
                    "give each scan's mask (an empty mask for a scan without tumour)"
                )
    if no_organs and config["segmentation"]["method"] != "import":
        problems.append(
            f"scan(s) {', '.join(no_organs[:20])} have no organ label map (no organ_labels, and "
            "no CT or MR for TotalSegmentator, or organs.totalsegmentator.enabled is false): "
            f"segmentation.method {config['segmentation']['method']} needs organs to exclude "
            "physiological uptake and to place the liver reference; give organ_labels, or "
            "use segmentation.method import with tumour_mask"
        )
    if problems:
        raise WorkflowError(f"{sheet}:\n  - " + "\n  - ".join(problems))


TOTALSEGMENTATOR_USABLE = _totalsegmentator_usable()
_check_sheets()


def patient_scans(wildcards):
    """What each of a patient's scans needs (params of the patient job), in time order.

    Dicts with the fields of :class:`netpet.steps.patient.ScanInput`.
    """
    scans = []
    for timepoint in PATIENT_TIMEPOINTS[wildcards.patient]:
        scan = SimpleNamespace(patient=wildcards.patient, timepoint=timepoint)
        row = scan_row(scan)
        folders = dicom_folders(scan)
        origin, organ_labels = organ_map(scan)
        scans.append(
            {
                "timepoint": timepoint,
                "pet_dicom": folders["pet"],
                "anatomy_dicom": folders.get("anatomy"),
                "anatomy_modality": anatomy_modality(scan),
                "pet_series_uid": row.get("pet_series_uid"),
                "mr_series_uid": row.get("mr_series_uid"),
                "overrides": suv_overrides(scan),
                "organ_labels": organ_labels,
                "organ_labels_origin": origin,
                "check_organ_labels": row.get("check_organ_labels", "yes") != "no",
                "tumour_mask": row.get("tumour_mask") if IMPORTS_MASKS else None,
            }
        )
    return scans


IMPORTS_MASKS = config["segmentation"]["method"] == "import" and not SYNTHETIC


def patient_inputs(wildcards):
    """Input function of the patient job: the DICOM folders and files its scans read.

    The synthetic cohort's folders; or, per scan, the samples sheet's DICOM folders, organ
    label map and tumour mask.  Plus the pyradiomics parameters and the DICOM SEG UID secret
    when those are on.
    """
    inputs = {}
    if config["radiomics"]["enabled"]:
        inputs["radiomics_params"] = config["radiomics"]["params"]
    if config["segmentation"]["export_dicom_seg"]:
        inputs["uid_salt"] = UID_SALT
    if SYNTHETIC:
        inputs.update(cohort=f"{SYNTHETIC_DIR}/dicom", organ_maps=f"{SYNTHETIC_DIR}/labels")
        return inputs
    for timepoint in PATIENT_TIMEPOINTS[wildcards.patient]:
        scan = SimpleNamespace(patient=wildcards.patient, timepoint=timepoint)
        row = scan_row(scan)
        for key, folder in dicom_folders(scan).items():
            inputs[f"{timepoint}_{key}_dicom"] = folder
        if row.get("organ_labels"):
            inputs[f"{timepoint}_organ_labels"] = row["organ_labels"]
        if IMPORTS_MASKS:
            inputs[f"{timepoint}_tumour_mask"] = row["tumour_mask"]
    return inputs


def patient_outputs():
    """The outputs of the patient job (names as :class:`netpet.steps.patient.PatientOutputs`).

    Folders with a sub-folder (or file) per time point, since patients have different scans;
    tables and figures one per patient.
    """
    outputs = {
        "images_dir": directory("results/images/{patient}"),
        "organs_dir": directory("results/organs/{patient}"),
        "segmentation_dir": directory("results/segmentation/{patient}"),
        "qc_dir": report(
            directory("results/qc/{patient}"),
            patterns=["{timepoint}.png"],
            caption="../report/qc.rst",
            category="Quality control",
            subcategory="{timepoint}",
            labels={"patient": "{patient}", "time point": "{timepoint}"},
        ),
        "registration_dir": report(
            directory("results/longitudinal/registration/{patient}"),
            patterns=["{timepoint}/qc.png"],
            caption="../report/registration_qc.rst",
            category="Quality control",
            subcategory="registration",
            labels={"patient": "{patient}", "time point": "{timepoint}"},
        ),
        # The PET's slice UIDs and geometry (for the DICOM SEG) and scan time (for the
        # intervals between scans): private, since source UIDs and dates identify.
        "pet_slices_dir": directory(f"{PRIVATE_DIR}/pet_slices/{{patient}}"),
        "lesions": "results/features/patients/{patient}_lesions.tsv",
        "scans": "results/features/patients/{patient}_scans.tsv",
        "tracks": "results/longitudinal/patients/{patient}_tracks.tsv",
        "scan_times": "results/longitudinal/patients/{patient}_scan_times.tsv",
        "track_figure": report(
            "results/figures/tracks/{patient}.png",
            caption="../report/tracks.rst",
            category="Lesion response",
            subcategory="lesion tracks",
            labels={"patient": "{patient}"},
        ),
        "mip_figure": report(
            "results/figures/lesion_mip/{patient}.png",
            caption="../report/lesion_mip.rst",
            category="Lesion response",
            subcategory="lesion maps",
            labels={"patient": "{patient}"},
        ),
    }
    if config["radiomics"]["enabled"]:
        outputs["radiomics"] = "results/features/patients/{patient}_radiomics.tsv"
    if config["segmentation"]["export_dicom_seg"]:
        # Source UIDs identify: their map to the SEG's UIDs stays outside results/.
        outputs["uid_map_dir"] = directory(f"{PRIVATE_DIR}/uid_map/{{patient}}")
    return outputs


def totalsegmentator_settings():
    """The TotalSegmentator settings patients' jobs use (resource keys left out)."""
    section = config["organs"]["totalsegmentator"]
    return {k: v for k, v in section.items() if k not in ("enabled", "threads", "mem_mb")}


def patient_threads():
    """TotalSegmentator's threads when it runs in the patients' jobs, else 1."""
    return config["organs"]["totalsegmentator"]["threads"] if TOTALSEGMENTATOR_USABLE else 1


def patient_mem_mb():
    """Memory of a patient's job: the steps run one after another, so the largest counts.

    About 1.5 GB for the analysis of a clinical scan (BENCHMARKS.md), with room for scans of
    more slices; TotalSegmentator's own setting when it runs.
    """
    base_mb = 4000
    if TOTALSEGMENTATOR_USABLE:
        return max(base_mb, config["organs"]["totalsegmentator"]["mem_mb"])
    return base_mb


def patient_runtime_min(wildcards):
    """Time limit of a patient's job (SLURM): 30 min, plus TotalSegmentator's timeout per scan."""
    minutes = 30
    if TOTALSEGMENTATOR_USABLE:
        timeout = config["organs"]["totalsegmentator"]["timeout_minutes"]
        minutes += timeout * len(PATIENT_TIMEPOINTS[wildcards.patient])
    return minutes


def patient_files(pattern, patients=None):
    """``pattern`` with ``{patient}`` and ``{timepoint}`` for each scan of each patient."""
    patients = PATIENTS if patients is None else patients
    return [
        pattern.format(patient=p, timepoint=t) for p in patients for t in PATIENT_TIMEPOINTS[p]
    ]


def _ensure_uid_salt():
    """Create the UID secret once (never by a job: a re-run would change every UID).

    Synthetic cohort: derived from its seed, so the default study is byte-identical on any
    machine.  Your cohort: random, kept in the private folder; keep it with your results.
    """
    path = Path(UID_SALT)
    if path.is_file() or not config["segmentation"]["export_dicom_seg"]:
        return
    import hashlib
    import secrets

    if SYNTHETIC:
        seed = config["synthetic"]["seed"]
        salt = hashlib.sha256(f"netpet synthetic cohort {seed}".encode()).hexdigest()
    else:
        salt = secrets.token_hex(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{salt}\n", encoding="utf-8")
    path.chmod(0o600)
    logger.info(f"created the DICOM SEG UID secret {path} (keep it private, with your results)")


PRIVATE_DIR = config["deidentification"]["private_dir"].rstrip("/")
UID_SALT = f"{PRIVATE_DIR}/uid_salt.txt"
_ensure_uid_salt()


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
    outputs += [f"results/figures/km_{column}.png" for column in FIGURE_COLUMNS]
    # Lesions over time and response criteria.
    outputs += [
        "results/longitudinal/tracks.tsv",
        "results/figures/lesion_response.png",
        "results/stats/criteria_outcomes.tsv",
    ]
    if SYNTHETIC:
        outputs.append("results/validation/track_accuracy.tsv")
    return outputs


def _timepoints_by_patient():
    """Each patient's scans' time points, in the study's time order (baseline first)."""
    order = {t: i for i, t in enumerate(TIMEPOINTS)}
    by_patient = {}
    for patient, timepoint in scan_pairs():
        by_patient.setdefault(patient, []).append(timepoint)
    return {p: sorted(ts, key=order.__getitem__) for p, ts in by_patient.items()}


PATIENT_TIMEPOINTS = _timepoints_by_patient()


def tracked_patients():
    """Patients with a baseline scan: they get lesion tracks."""
    return [p for p, ts in PATIENT_TIMEPOINTS.items() if ts[0] == BASELINE]


def check_registration_settings(section):
    """Stop before any job when longitudinal.registration has an unknown key or a bad value."""
    from netpet.longitudinal.registration import RegistrationSettings

    try:
        RegistrationSettings.from_config(section)
    except InputError as error:
        raise WorkflowError(f"{workflow.configfiles[0]}: {error}") from None
