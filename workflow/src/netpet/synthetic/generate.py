"""Write the synthetic cohort: DICOM, organ labels, truth images and tables.

:func:`generate_cohort` writes the cohort table and then each patient (:func:`_generate`), one
patient per job.  A patient is made in stages, each drawing from the patient's own scan
stream ``default_rng([seed, STREAM_SCAN, patient_index])`` in a fixed order (the order is part
of the output: the files are byte-identical for the same settings):

1. :func:`_build_scene`: body size, PET/CT grids, anatomy (loop texture and tissue SUVs),
   body shifts and per-scan anatomy, painted-index maps on the PET grid;
2. :func:`netpet.synthetic.placement.place_lesions`: lesion centres;
3. :func:`netpet.synthetic.acquisition.draw_scans`: identity, dates, times, doses, headers;
4. per scan, noise from streams of its own (:func:`_noise_rng`): render the PET
   (:func:`_render_pet`), write the DICOM series with the CT rendered slab by slab on the
   way (:func:`netpet.synthetic.render.ct_slabs`, :func:`_write_dicom`), the truth images
   (:func:`_write_truth_images`) and the table rows (:func:`_sample_row`,
   :func:`_scan_row`, :func:`_lesion_rows`).

The ``distinct_body_shifts`` redraws come from the patient's scene-events stream
``default_rng([seed, STREAM_SCENE_EVENTS, patient_index])`` instead, so the scan stream above is
untouched when it is off.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk
from scipy import ndimage

from netpet.errors import InputError
from netpet.io import atomic_path, write_image, write_json, write_tsv
from netpet.synthetic import dicom_writer as dw
from netpet.synthetic.acquisition import Scan, draw_scans
from netpet.synthetic.anatomy import (
    Anatomy,
    BodySize,
    Grid,
    build_anatomy,
    scan_anatomy,
    scan_range_mm,
)
from netpet.synthetic.cohort import (
    CLINICAL_COLUMNS,
    STREAM_SCAN,
    STREAM_SCENE_EVENTS,
    PatientPlan,
    draw_cohort,
    patient_plan,
)
from netpet.synthetic.lesions import family_response, response_category, suvtotal
from netpet.synthetic.placement import Placement, place_lesions
from netpet.synthetic.presets import MAX_SHIFT_VOX, resolve_settings, settings_record
from netpet.synthetic.render import LABEL_DTYPE, ct_slabs, intended_suv, pet_image

FLOAT_FORMAT = "%.10g"
# Streams of one scan, [seed, STREAM_SCAN, patient_index, t, stream]: noise has streams of
# its own, so switching it off leaves every other draw unchanged.
CT_NOISE_STREAM = 7
PET_NOISE_STREAM = 8


@dataclass(frozen=True)
class _Scene:
    """A patient's body at every time point (index ``t`` of each list).

    Attributes
    ----------
    pet_grid, ct_grid : Grid
        The image grids (the same for every scan).
    anatomies : list of Anatomy
        The anatomy at each scan (bladder and uptake vary, the body is shifted).
    maps : list of numpy.ndarray of uint8, shape (z, y, x)
        Each scan's painted-index map on ``pet_grid`` (``Anatomy.render``).
    shifts_vox : list of numpy.ndarray of int
        Body shift versus the baseline in whole PET voxels (z, y, x); zero at t = 0.
    shifts_mm : list of tuple of float
        The same shifts in mm (x, y, z).
    """

    pet_grid: Grid
    ct_grid: Grid
    anatomies: list[Anatomy]
    maps: list[np.ndarray]
    shifts_vox: list[np.ndarray]
    shifts_mm: list[tuple[float, float, float]]


def _grids(settings: dict, body: BodySize) -> tuple[Grid, Grid]:
    """PET and CT grids (patient mm), centred in-plane on the body.

    The axial field of view starts at the vertex with ``include_head`` (PET slices downwards
    from there), else at the upper thighs; the CT grid starts at the PET grid's bottom edge.
    """
    vertex_z, thigh_z = scan_range_mm(body)
    out = []
    pet = settings["pet"]
    if settings["include_head"]:
        bottom_edge = vertex_z - pet["n_slices"] * pet["slice_mm"]
    else:
        bottom_edge = thigh_z
    for key in ("pet", "ct"):
        g = settings[key]
        n, d, dz = g["matrix"], float(g["pixel_mm"]), float(g["slice_mm"])
        xy0 = -(n - 1) / 2.0 * d
        z0 = round(bottom_edge + dz / 2.0, 3)
        out.append(Grid((xy0, xy0, z0), (d, d, dz), (g["n_slices"], n, n)))
    return out[0], out[1]


def _build_scene(
    rng: np.random.Generator,
    patient: dict,
    settings: dict,
    events_rng: np.random.Generator | None = None,
) -> _Scene:
    """Draw the patient's body: grids, anatomy, body shifts and the anatomy at every scan.

    Random draws from ``rng``, in this order: the anatomy (:func:`build_anatomy`), the body
    shift of each follow-up (integers z, y, x in PET voxels, each within +-MAX_SHIFT_VOX),
    then each scan's anatomy (:func:`scan_anatomy`).  With ``distinct_body_shifts``, a
    follow-up shift that is zero or equals an earlier scan's is redrawn from ``events_rng``
    until it is neither.

    Parameters
    ----------
    rng : numpy.random.Generator
        The patient's scan stream.
    patient : dict
        The patient's row of the cohort table (``weight_kg``, ``height_m``).
    settings : dict
        Resolved ``synthetic:`` settings.
    events_rng : numpy.random.Generator, optional
        The patient's scene-events stream (needed with ``distinct_body_shifts``).

    Returns
    -------
    _Scene
    """
    body = BodySize.of(weight_kg=patient["weight_kg"], height_m=patient["height_m"])
    pet_grid, ct_grid = _grids(settings, body)
    solids, suv, hu = build_anatomy(rng, body)
    spacing = pet_grid.spacing_mm
    n_tp = len(settings["timepoints"])
    shifts_vox = body_shifts(
        rng, n_tp, distinct=settings["distinct_body_shifts"], events_rng=events_rng
    )
    shifts_mm = [tuple(float(s[2 - i] * spacing[i]) for i in range(3)) for s in shifts_vox]
    anatomies = [scan_anatomy(rng, solids, suv, hu, shifts_mm[t]) for t in range(n_tp)]
    maps = [a.render(pet_grid) for a in anatomies]
    return _Scene(pet_grid, ct_grid, anatomies, maps, shifts_vox, shifts_mm)


def body_shifts(
    rng: np.random.Generator,
    n_timepoints: int,
    *,
    distinct: bool = False,
    events_rng: np.random.Generator | None = None,
) -> list[np.ndarray]:
    """Body shift of each scan versus the baseline, in whole PET voxels (z, y, x).

    Zero at the baseline; each follow-up draws three integers (z, y, x order of the draws)
    within +-MAX_SHIFT_VOX from ``rng``.  With ``distinct``, a follow-up shift that is zero or
    equals an earlier scan's is redrawn from ``events_rng`` until it is neither (the ``rng``
    draws stay as they were).

    Parameters
    ----------
    rng : numpy.random.Generator
        The patient's scan stream.
    n_timepoints : int
        Number of scans, baseline included.
    distinct : bool
        Setting ``distinct_body_shifts``.
    events_rng : numpy.random.Generator, optional
        The patient's scene-events stream (needed with ``distinct``).

    Returns
    -------
    list of numpy.ndarray of int, shape (3,)
    """
    lo, hi = -MAX_SHIFT_VOX, MAX_SHIFT_VOX + 1
    shifts = [np.zeros(3, int)] + [
        np.array([rng.integers(lo, hi), rng.integers(lo, hi), rng.integers(lo, hi)])
        for _ in range(n_timepoints - 1)
    ]
    if distinct:
        for t in range(1, n_timepoints):
            while any(np.array_equal(shifts[t], shifts[u]) for u in range(t)):
                shifts[t] = events_rng.integers(lo, hi, size=3)
    return shifts


def _noise_rng(settings: dict, index: int, t: int, stream: int) -> np.random.Generator:
    """The noise stream ``stream`` (CT or PET) of patient ``index``'s scan ``t``."""
    return np.random.default_rng([settings["seed"], STREAM_SCAN, index, t, stream])


def _render_pet(
    t: int,
    plan: PatientPlan,
    placement: Placement,
    scene: _Scene,
    settings: dict,
    index: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Render the PET of scan ``t``: intended SUV with lesions, point-spread, noise.

    Parameters
    ----------
    t : int
        Time-point index.
    plan : PatientPlan
        The patient's lesions.
    placement : Placement
        Their centres.
    scene : _Scene
        The patient's anatomy and grids.
    settings : dict
        Resolved settings (``psf_fwhm_mm``, ``noise``, ``liver_cv``, ``seed``).
    index : int
        The patient's index (for the PET noise stream).

    Returns
    -------
    pet : numpy.ndarray of float32, shape (z, y, x)
        SUV as the PET DICOM encodes it.
    lesion_label : numpy.ndarray of uint16, shape (z, y, x)
        The true lesion extents (label = ``lesion_id``).
    """
    anat = scene.anatomies[t]
    pre_blur, lesion_label = intended_suv(
        anat, scene.maps[t], plan.lesions, placement, scene.shifts_vox[t], t, scene.pet_grid
    )
    pet = pet_image(
        pre_blur,
        spacing_mm=scene.pet_grid.spacing_mm,
        fwhm_mm=settings["psf_fwhm_mm"],
        liver_suv=anat.suv["liver"],
        liver_cv=settings["liver_cv"] if settings["noise"] else 0.0,
        rng=_noise_rng(settings, index, t, PET_NOISE_STREAM),
    )
    return pet, lesion_label


def _subfolders(layout: str) -> tuple[str, str]:
    """PET and CT subfolders of a scan's DICOM folder ("" = the folder itself)."""
    return ("PT", "CT") if layout == "split" else ("", "")


def _write_dicom(
    folder: Path, scan: Scan, pet: np.ndarray, ct: Iterator[np.ndarray], scene: _Scene
) -> None:
    """Write a scan's DICOM folder atomically: PET, any extra series, then the CT.

    The folder is assembled in a temporary sibling and renamed into place, so a failed scan
    leaves no half-written folder behind.

    Parameters
    ----------
    folder : Path
        ``<out_dir>/dicom/<patient>/<timepoint>``.
    scan : Scan
        Layout, extra series and header.
    pet : numpy.ndarray of float32, shape (z, y, x)
        PET SUV on ``scene.pet_grid``; the NAC series is a blurred 35 % of it.
    ct : iterator of numpy.ndarray
        CT slabs (HU) from the lowest slice up (:func:`netpet.synthetic.render.ct_slabs`),
        consumed here.
    scene : _Scene
        The grids.
    """
    pet_grid, ct_grid = scene.pet_grid, scene.ct_grid
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{scan.timepoint}.", dir=folder.parent))
    try:
        pet_sub, ct_sub = _subfolders(scan.layout)
        (tmp / pet_sub).mkdir(exist_ok=True)
        (tmp / ct_sub).mkdir(exist_ok=True)
        n_pet, n_ct = pet_grid.shape[0], ct_grid.shape[0]
        names = dw.slice_names(scan.layout, "PT", n_pet, 1)
        dw.write_pet(tmp / pet_sub, names, pet, pet_grid, scan.header, series_number=4)
        if scan.extra == "nac_pet":
            nac = ndimage.gaussian_filter(pet * 0.35, 1.0)
            dw.write_pet(
                tmp / pet_sub,
                dw.slice_names(scan.layout, "NAC", n_pet, 5000),
                nac,
                pet_grid,
                scan.header,
                series_number=5,
                attenuation_corrected=False,
            )
        elif scan.extra == "ct_scout":
            name = dw.slice_names(scan.layout, "SCOUT", 1, 9000)[0]
            dw.write_scout(tmp / ct_sub, name, scan.header, series_number=1)
        names = dw.slice_names(scan.layout, "CT", n_ct, 2000)
        dw.write_ct(tmp / ct_sub, names, ct, ct_grid, scan.header, series_number=2)
        dw.replace_dir(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_nifti(path: Path, array: np.ndarray, grid: Grid) -> None:
    image = sitk.GetImageFromArray(array)
    image.SetOrigin(grid.origin_mm)
    image.SetSpacing(grid.spacing_mm)
    write_image(path, image)


def _write_truth_images(
    out_dir: Path,
    pid: str,
    tp: str,
    *,
    organs: np.ndarray,
    lesion_label: np.ndarray,
    pet: np.ndarray,
    scene: _Scene,
    write_suv: bool,
) -> None:
    """Write a scan's organ label map, true lesion label map and (``write_suv``) PET SUV.

    Parameters
    ----------
    out_dir : Path
        The cohort folder.
    pid, tp : str
        Patient ID and time point.
    organs : numpy.ndarray, shape (z, y, x) of the CT grid
        Organ labels -> ``labels/<pid>/<tp>_organs.nii.gz``.
    lesion_label : numpy.ndarray of uint16, shape (z, y, x) of the PET grid
        True lesion extents -> ``truth/lesion_labels/<pid>/<tp>.nii.gz``.
    pet : numpy.ndarray of float32, shape (z, y, x) of the PET grid
        The SUV the PET DICOM encodes -> ``truth/suv/<pid>/<tp>.nii.gz``.
    scene : _Scene
        The grids.
    write_suv : bool
        Write ``pet`` too (setting ``write_truth_suv``).
    """
    _write_nifti(out_dir / "labels" / pid / f"{tp}_organs.nii.gz", organs, scene.ct_grid)
    _write_nifti(
        out_dir / "truth" / "lesion_labels" / pid / f"{tp}.nii.gz", lesion_label, scene.pet_grid
    )
    if write_suv:
        _write_nifti(out_dir / "truth" / "suv" / pid / f"{tp}.nii.gz", pet, scene.pet_grid)


def _sample_row(out_dir: Path, pid: str, scan: Scan) -> dict:
    """The ``samples.tsv`` row of a scan (paths start with ``out_dir`` as given)."""
    folder = out_dir / "dicom" / pid / scan.timepoint
    pet_sub, ct_sub = _subfolders(scan.layout)
    return {
        "patient_id": pid,
        "timepoint": scan.timepoint,
        "pet_dicom": str(folder / pet_sub) if pet_sub else str(folder),
        "ct_dicom": str(folder / ct_sub) if ct_sub else str(folder),
        "organ_labels": str(out_dir / "labels" / pid / f"{scan.timepoint}_organs.nii.gz"),
    }


def _scan_row(pid: str, scan: Scan, plan: PatientPlan, scene: _Scene, settings: dict) -> dict:
    """The ``truth/scans.tsv`` row of a scan (columns: see the package docstring)."""
    t, header = scan.t, scan.header
    anat = scene.anatomies[t]
    shift_mm = scene.shifts_mm[t]
    return {
        "patient_id": pid,
        "timepoint": scan.timepoint,
        "header_variant": scan.variant,
        "layout": scan.layout,
        "extra_series": scan.extra,
        "crosses_midnight": int(scan.crosses_midnight),
        "days_from_basal": scan.days_from_basal,
        "uptake_s": scan.uptake_s,
        "series_after_acquisition_s": scan.series_after_acquisition_s,
        "injected_dose_bq": scan.dose_bq,
        "dose_at_scan_start_bq": header.dose_at_scan_start_bq(),
        "bqml_per_suv": header.bqml_per_suv(),
        "weight_kg": header.weight_kg,
        "height_m": header.height_m,
        "wtv_ml": plan.wtv_ml[t],
        "tre": plan.tre[t],
        "suvmax": plan.suvmax[t],
        "suvmean": plan.tre[t] / plan.wtv_ml[t] if plan.wtv_ml[t] > 0 else math.nan,
        "lesion_count": sum(1 for les in plan.lesions if les.present[t]),
        "liver_suvmean": anat.suv["liver"],
        "spleen_suvmean": anat.suv["spleen"],
        "shift_x_mm": shift_mm[0],
        "shift_y_mm": shift_mm[1],
        "shift_z_mm": shift_mm[2],
        "psf_fwhm_mm": settings["psf_fwhm_mm"],
        "noise": int(settings["noise"]),
        "pet_size": "x".join(str(v) for v in scene.pet_grid.shape[::-1]),
        "ct_size": "x".join(str(v) for v in scene.ct_grid.shape[::-1]),
    }


def _lesion_rows(
    pid: str,
    scan: Scan,
    plan: PatientPlan,
    placement: Placement,
    scene: _Scene,
    *,
    splits: bool = False,
) -> list[dict]:
    """The ``truth/lesions.tsv`` rows of a scan: every lesion from its first appearance on.

    ``centre_*_mm`` is the lesion's analytic centre in this scan's patient coordinates (the
    baseline centre voxel, the lesion's sub-voxel offset and the scan's body shift).
    ``status``: ``new`` at a follow-up where a lesion first appears, ``split`` there for a
    split child.  With ``splits`` (``split_probability`` > 0), also ``parent_lesion_id``
    (empty unless a split child) and ``family_response``
    (:func:`netpet.synthetic.lesions.family_response`).
    """
    t, grid = scan.t, scene.pet_grid
    rows = []
    for les in plan.lesions:
        first = les.present.index(True)
        if t < first:
            continue
        tr = les.truth[t]
        c = placement.centres[les.lesion_id]
        centre_mm = [
            grid.origin_mm[i]
            + c[2 - i] * grid.spacing_mm[i]
            + les.offset_mm[i]
            + scene.shifts_mm[t][i]
            for i in range(3)
        ]
        status = "present" if les.present[t] else "disappeared"
        if les.present[t] and t == first and t > 0:
            status = "new" if les.parent is None else "split"
        row = {
            "patient_id": pid,
            "timepoint": scan.timepoint,
            "lesion_id": les.lesion_id,
            "site": placement.sites[les.lesion_id],
            "organ_label": placement.organ_of[les.lesion_id],
            "centre_x_mm": centre_mm[0],
            "centre_y_mm": centre_mm[1],
            "centre_z_mm": centre_mm[2],
            "volume_ml": tr["volume_ml"],
            "n_voxels": tr["n_voxels"],
            "suvmean": tr["suvmean"],
            "suvmax": tr["suvmax"],
            "suvtotal": suvtotal(les, t),
            "shape": les.shape,
            "heterogeneous": "yes" if les.pattern != "uniform" else "no",
            "pattern": les.pattern,
            "status": status,
            "response": response_category(les, t),
        }
        if splits:
            row["parent_lesion_id"] = les.parent_lesion_id
            row["family_response"] = family_response(les, t)
        rows.append(row)
    return rows


def generate_patient(
    out_dir: str | os.PathLike, patient_id: str, *, settings: dict
) -> dict[str, pd.DataFrame]:
    """Write one patient's DICOM, organ labels and truth images under ``out_dir``.

    Parameters
    ----------
    out_dir : path
        Cohort folder (``resources/synthetic/<name>``).
    patient_id : str
        A study patient ID of the cohort (``NET001``, ...).
    settings : dict
        The ``synthetic:`` config section.

    Returns
    -------
    dict of pandas.DataFrame
        This patient's rows of ``samples``, ``lesions``, ``scans`` and ``identifiers``
        (see :func:`generate_cohort` for the columns).
    """
    settings = resolve_settings(settings)
    cohort = draw_cohort(settings)
    match = cohort[cohort["patient_id"] == patient_id]
    if match.empty:
        raise InputError(
            f"synthetic: patient_id {patient_id!r} is not in the cohort "
            f"({cohort['patient_id'].iloc[0]}..{cohort['patient_id'].iloc[-1]})"
        )
    return _generate(Path(out_dir), match.iloc[0].to_dict(), settings)


def _generate(out_dir: Path, patient: dict, settings: dict) -> dict[str, pd.DataFrame]:
    """Write one patient's files and return its table rows (stages: see the module docstring).

    Parameters
    ----------
    out_dir : Path
        The cohort folder; paths in the ``samples`` rows start with it as given.
    patient : dict
        The patient's row of :func:`netpet.synthetic.cohort.draw_cohort`.
    settings : dict
        Resolved ``synthetic:`` settings.

    Returns
    -------
    dict of pandas.DataFrame
        The patient's rows of ``samples``, ``lesions``, ``scans`` and ``identifiers``.
    """
    index = int(patient["patient_index"])
    pid = patient["patient_id"]
    rng = np.random.default_rng([settings["seed"], STREAM_SCAN, index])
    events_rng = np.random.default_rng([settings["seed"], STREAM_SCENE_EVENTS, index])
    plan = patient_plan(settings, index, patient["primary_site"])
    scene = _build_scene(rng, patient, settings, events_rng)
    placement = place_lesions(
        rng, plan.lesions, scene.anatomies[0], scene.maps, scene.pet_grid, scene.shifts_vox
    )
    scans = draw_scans(rng, patient, settings)

    rows: dict[str, list[dict]] = {"samples": [], "lesions": [], "scans": [], "identifiers": []}
    for scan in scans:
        t, tp = scan.t, scan.timepoint
        pet, lesion_label = _render_pet(t, plan, placement, scene, settings, index)
        organs = np.zeros(scene.ct_grid.shape, LABEL_DTYPE)  # filled as the CT is written
        ct = ct_slabs(
            scene.anatomies[t],
            scene.ct_grid,
            organs,
            lesions=plan.lesions,
            placement=placement,
            shift_vox=scene.shifts_vox[t],
            t=t,
            pet_grid=scene.pet_grid,
            noise_hu=settings["ct_noise_hu"],
            rng=_noise_rng(settings, index, t, CT_NOISE_STREAM),
        )
        _write_dicom(out_dir / "dicom" / pid / tp, scan, pet, ct, scene)
        _write_truth_images(
            out_dir,
            pid,
            tp,
            organs=organs,
            lesion_label=lesion_label,
            pet=pet,
            scene=scene,
            write_suv=settings["write_truth_suv"],
        )
        rows["samples"].append(_sample_row(out_dir, pid, scan))
        rows["lesions"] += _lesion_rows(
            pid, scan, plan, placement, scene, splits=settings["split_probability"] > 0
        )
        rows["scans"].append(_scan_row(pid, scan, plan, scene, settings))
        rows["identifiers"].append({"patient_id": pid, "timepoint": tp, **scan.identifiers})
    return {key: pd.DataFrame(value) for key, value in rows.items()}


def _generate_job(args):
    out_dir, patient, settings = args
    return _generate(Path(out_dir), patient, settings)


class _TsvStream:
    """Append DataFrames to a TSV written atomically at the end (bounded memory)."""

    def __init__(self, path: Path):
        self._ctx = atomic_path(path)
        self._tmp = self._ctx.__enter__()
        self._fh = open(self._tmp, "w", encoding="utf-8", newline="")
        self._header = True

    def write(self, df: pd.DataFrame) -> None:
        df.to_csv(
            self._fh,
            sep="\t",
            index=False,
            header=self._header,
            float_format=FLOAT_FORMAT,
            lineterminator="\n",
        )
        self._header = False

    def close(self, error: BaseException | None = None) -> None:
        """Rename the finished file into place, or drop it when ``error`` is given."""
        self._fh.close()
        if error is None:
            self._ctx.__exit__(None, None, None)
        else:
            self._ctx.__exit__(type(error), error, error.__traceback__)


def generate_cohort(out_dir: str | os.PathLike, *, settings: dict, workers: int = 1) -> None:
    """Write the whole synthetic cohort under ``out_dir`` (see the package docstring).

    Parameters
    ----------
    out_dir : path
        ``resources/synthetic/<name>``; paths in ``samples.tsv`` start with it as given.
    settings : dict
        The ``synthetic:`` config section.
    workers : int
        Processes; the files are byte-identical whatever the number.
    """
    settings = resolve_settings(settings)
    out = Path(out_dir)
    cohort = draw_cohort(settings)
    write_tsv(out / "clinical.tsv", cohort[list(CLINICAL_COLUMNS)], float_format=FLOAT_FORMAT)
    tps = settings["timepoints"]
    truth_cols = ["patient_id", "who_grade", "dwtv_high", "dtre_high", "linear_predictor"]
    for tp in tps[1:]:
        truth_cols += [f"dwtv_pct_{tp}", f"dtre_pct_{tp}", f"dsuvmax_pct_{tp}"]
    write_tsv(out / "truth" / "patients.tsv", cohort[truth_cols], float_format=FLOAT_FORMAT)
    write_json(out / "truth" / "settings.json", settings_record(settings))
    streams = {
        "samples": _TsvStream(out / "samples.tsv"),
        "lesions": _TsvStream(out / "truth" / "lesions.tsv"),
        "scans": _TsvStream(out / "truth" / "scans.tsv"),
        "identifiers": _TsvStream(out / "truth" / "identifiers.tsv"),
    }
    jobs = ((str(out), row, settings) for row in cohort.to_dict("records"))
    error = None
    try:
        if workers > 1:
            with ProcessPoolExecutor(workers) as pool:
                for result in pool.map(_generate_job, jobs, chunksize=1):
                    for key, df in result.items():
                        streams[key].write(df)
        else:
            for job in jobs:
                for key, df in _generate_job(job).items():
                    streams[key].write(df)
    except BaseException as exc:
        error = exc
        raise
    finally:
        for stream in streams.values():
            stream.close(error)


__all__ = ["body_shifts", "generate_cohort", "generate_patient"]
