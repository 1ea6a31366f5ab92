"""The synthetic patient's scans as acquired: dates, times, dose, layout and DICOM header.

:func:`draw_scans` draws everything the headers and ``truth/scans.tsv`` say about a
patient's scans (no images): the fake identity, the scan dates, injection and uptake times,
injected dose, header variant, folder layout and any extra series.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from netpet.synthetic import dicom_writer as dw

LAYOUTS = ("split", "flat", "noext")
"""DICOM folder layouts, cycled over the cohort's scans: ``PT/`` + ``CT/`` subfolders, one
folder of ``.dcm`` files, one folder of extension-less ``IM00001`` files."""
BED_SECONDS = 150.0  # PET acquisition time per bed position, s
_FIRST = (
    "Anna",
    "Marta",
    "Jonas",
    "Pieter",
    "Elena",
    "Luca",
    "Sofia",
    "Henrik",
    "Ines",
    "Tomas",
    "Greta",
    "Karel",
    "Lea",
    "Mateo",
    "Nora",
    "Oskar",
    "Rosa",
    "Stefan",
    "Vera",
    "Yusuf",
)
_LAST = (
    "Keller",
    "Novak",
    "Moreau",
    "Jansen",
    "Rossi",
    "Berg",
    "Horvat",
    "Lindqvist",
    "Costa",
    "Weber",
    "Dvorak",
    "Meyer",
    "Fischer",
    "Laurent",
    "Santos",
    "Kowalski",
    "Brandt",
)


@dataclass(frozen=True)
class Scan:
    """One scan of a patient as acquired (no images).

    Attributes
    ----------
    t : int
        Index of the time point (0 = baseline).
    timepoint : str
        Its label (``settings["timepoints"][t]``).
    variant : str
        PET header variant (``siemens``, ``ge``, ...).
    layout : str
        DICOM folder layout, one of :data:`LAYOUTS`.
    extra : str
        Extra series beside PET and CT: ``none``, ``nac_pet`` or ``ct_scout``.
    crosses_midnight : bool
        Injection before and scan start after midnight.
    days_from_basal : int
        Days since the baseline scan.
    uptake_s : int
        Scan start - injection, s.
    series_after_acquisition_s : int
        SeriesTime - scan start, s (> 0 for GE headers only).
    dose_bq : float
        Injected dose, Bq.
    header : dicom_writer.ScanHeader
        Everything the DICOM headers say.
    """

    t: int
    timepoint: str
    variant: str
    layout: str
    extra: str
    crosses_midnight: bool
    days_from_basal: int
    uptake_s: int
    series_after_acquisition_s: int
    dose_bq: float
    header: dw.ScanHeader

    @property
    def identifiers(self) -> dict[str, str]:
        """The fake DICOM identity of this scan (accession number included)."""
        return self.header.identity


def _scan_layout(settings: dict, scan_index: int, rng) -> dict:
    variants = settings["header_variants"]
    variant = variants[scan_index % len(variants)]
    layout = LAYOUTS[scan_index % len(LAYOUTS)]
    extra = "none"
    if rng.uniform() < settings["extra_series_fraction"]:
        extra = "nac_pet" if rng.uniform() < 0.5 else "ct_scout"
    # time_only: every second occurrence in the cohort is injected before midnight.
    n_time_only = variants.count("time_only")
    occurrence = (scan_index // len(variants)) * n_time_only + variants[
        : scan_index % len(variants)
    ].count("time_only")
    crosses = variant == "midnight" or (variant == "time_only" and occurrence % 2 == 1)
    return {"variant": variant, "layout": layout, "extra": extra, "crosses_midnight": crosses}


def _identity(rng, age_years: int, basal: dt.date) -> dict[str, str]:
    def name():
        return f"{rng.choice(_LAST)}^{rng.choice(_FIRST)}"

    birth = basal - dt.timedelta(days=int(age_years * 365.25 + rng.integers(1, 360)))
    return {
        "PatientName": name(),
        "PatientID": f"{rng.integers(10_000_000, 99_999_999)}",
        "PatientBirthDate": birth.strftime("%Y%m%d"),
        "InstitutionName": "St. Aurelia University Hospital",
        "InstitutionAddress": "Lindenallee 14, 3012 Bern",
        "ReferringPhysicianName": name(),
        "PerformingPhysicianName": name(),
        "OperatorsName": name(),
        "StationName": "AURPETCT01",
    }


def _epoch(seed: int) -> dt.date:
    """The cohort's first possible scan date (varies with the seed)."""
    return dt.date(2018, 1, 8) + dt.timedelta(days=int(seed % 997))


def draw_scans(rng: np.random.Generator, patient: dict, settings: dict) -> list[Scan]:
    """Draw a patient's scans: identity, dates, times, dose and header, per time point.

    Random draws from ``rng``, in this order: the identity (birth date offset, names, MRN),
    the baseline date, then per time point: the scan interval (follow-ups), extra series,
    injection time, uptake time, GE series delay (GE variants), dose, accession number and
    the weight stated in the header.

    Parameters
    ----------
    rng : numpy.random.Generator
        The patient's scan stream.
    patient : dict
        The patient's row of :func:`netpet.synthetic.cohort.draw_cohort` (``patient_index``,
        ``patient_id``, ``age_years``, ``sex``, ``weight_kg``, ``height_m``).
    settings : dict
        Resolved ``synthetic:`` settings.

    Returns
    -------
    list of Scan
        One per time point, in the order of ``settings["timepoints"]``.
    """
    index = int(patient["patient_index"])
    pid = patient["patient_id"]
    tps = settings["timepoints"]
    identity = _identity(rng, int(patient["age_years"]), _epoch(settings["seed"]))
    basal_date = _epoch(settings["seed"]) + dt.timedelta(days=index * 9 + int(rng.integers(0, 7)))
    birth = dt.datetime.strptime(identity["PatientBirthDate"], "%Y%m%d").date()
    study_uid_seed = (settings["seed"], pid)
    scans = []
    days = 0
    for t, tp in enumerate(tps):
        if t:
            days += round(settings["months_between_scans"] * 30.44 + int(rng.integers(-10, 11)))
        day = basal_date + dt.timedelta(days=days)
        lay = _scan_layout(settings, index * len(tps) + t, rng)
        if lay["crosses_midnight"]:
            inj_s = int(rng.integers(23 * 3600 + 5 * 60, 23 * 3600 + 50 * 60))
        else:
            inj_s = int(rng.integers(7 * 3600 + 30 * 60, 14 * 3600))
        injection = dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=inj_s)
        uptake_s = int(rng.integers(50 * 60, 75 * 60 + 1))
        if lay["crosses_midnight"]:
            # Scan after midnight: at least 5 min past 00:00.
            midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
            uptake_s = max(uptake_s, int((midnight - injection).total_seconds()) + 300)
        scan_start = injection + dt.timedelta(seconds=uptake_s)
        series_time = scan_start
        if lay["variant"] in ("ge", "ge_jitter"):
            series_time = scan_start + dt.timedelta(seconds=int(rng.integers(15 * 60, 40 * 60)))
        dose_bq = float(
            round(np.clip(2.0e6 * patient["weight_kg"] * rng.uniform(0.85, 1.15), 100e6, 200e6), -4)
        )
        accession = f"{scan_start:%y}{rng.integers(10_000_000, 99_999_999)}"
        header = dw.ScanHeader(
            variant=lay["variant"],
            identity={**identity, "AccessionNumber": accession},
            sex=patient["sex"],
            age_years=dw.age_at(birth, scan_start.date()),
            weight_kg=float(round(patient["weight_kg"] + rng.normal(0, 1.5), 1)),
            height_m=float(patient["height_m"]),
            study_uid=dw.make_uid(*study_uid_seed, tp, "study"),
            frame_uid=dw.make_uid(*study_uid_seed, tp, "frame"),
            uid_seed=(*study_uid_seed, tp),
            injection=injection,
            scan_start=scan_start,
            series_time=series_time,
            dose_bq=dose_bq,
            bed_seconds=BED_SECONDS,
            crosses_midnight=lay["crosses_midnight"],
        )
        scans.append(
            Scan(
                t=t,
                timepoint=tp,
                **lay,
                days_from_basal=days,
                uptake_s=uptake_s,
                series_after_acquisition_s=int((series_time - scan_start).total_seconds()),
                dose_bq=dose_bq,
                header=header,
            )
        )
    return scans
