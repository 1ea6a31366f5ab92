"""Write the synthetic cohort: DICOM, organ labels, truth images and tables."""

from __future__ import annotations

import datetime as dt
import math
import os
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk
from scipy import ndimage

from netpet import labels
from netpet.errors import InputError
from netpet.io import atomic_path, write_image, write_json, write_tsv
from netpet.synthetic import dicom_writer as dw
from netpet.synthetic.anatomy import Anatomy, Grid, build_anatomy, scan_anatomy
from netpet.synthetic.cohort import (
    CLINICAL_COLUMNS,
    STREAM_SCAN,
    draw_cohort,
    patient_plan,
    pet_spacing_mm,
)
from netpet.synthetic.lesions import SITES, Lesion, response_category
from netpet.synthetic.presets import resolve_settings

LAYOUTS = ("split", "flat", "noext")
FLOAT_FORMAT = "%.10g"
FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
CT_SLAB = 32
LABEL_DTYPE = np.uint8 if max(labels.NAMES) < 256 else np.uint16
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

# Where each site's lesion centre may lie (painted solid names / tissues) and which tissues
# its whole extent may cover; box limits in body mm (x, y, z) restrict the centre.
_HOSTS = {
    "liver": {"centre": ("liver",), "extent": ("liver",)},
    "pancreas primary": {
        "centre": ("pancreas",),
        "extent": ("pancreas", "soft", "bowel", "mesentery"),
    },
    "small-bowel primary": {"centre": ("small_bowel",), "extent": ("bowel", "mesentery", "soft")},
    "lymph node mesenteric": {
        "centre": ("small_bowel", "trunk_in"),
        "extent": ("bowel", "mesentery", "soft"),
        "box": ((-70, 70), (-70, 40), (-230, -120)),
    },
    "retroperitoneal node": {
        "centre": ("trunk_in",),
        "extent": ("soft",),
        "box": ((-75, 75), (10, 80), (-240, -60)),
    },
    "bone": {"centre": ("vertebra_", "iliac_"), "extent": ("bone",)},
    "peritoneum": {
        "centre": ("trunk_in", "small_bowel"),
        "extent": ("soft", "bowel", "mesentery"),
        "box": ((-130, 130), (-110, -20), (-280, -40)),
    },
}
_FALLBACK = ("peritoneum", "lymph node mesenteric", "retroperitoneal node")
_ORGAN_HOSTED = ("liver", "pancreas primary", "small-bowel primary", "bone")


def _grids(settings: dict, height_m: float) -> tuple[Grid, Grid]:
    """PET and CT grids (patient mm) centred on the body; FOV from the chest or the vertex."""
    sz = float(np.clip(height_m / 1.70, 0.92, 1.08))
    out = []
    pet = settings["pet"]
    if settings["include_head"]:
        top = 640.0 * sz
        bottom_edge = top - pet["n_slices"] * pet["slice_mm"]
    else:
        bottom_edge = -395.0 * sz
    for key in ("pet", "ct"):
        g = settings[key]
        n, d, dz = g["matrix"], float(g["pixel_mm"]), float(g["slice_mm"])
        xy0 = -(n - 1) / 2.0 * d
        z0 = round(bottom_edge + dz / 2.0, 3)
        out.append(Grid((xy0, xy0, z0), (d, d, dz), (g["n_slices"], n, n)))
    return out[0], out[1]


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
    return dt.date(2018, 1, 8) + dt.timedelta(days=int(seed % 997))


def _ball(radius_mm: float, spacing_mm) -> np.ndarray:
    """Integer (z, y, x) offsets of voxels whose centres lie within ``radius_mm``."""
    h = [math.ceil(radius_mm / d) for d in spacing_mm]
    zz, yy, xx = np.mgrid[-h[2] : h[2] + 1, -h[1] : h[1] + 1, -h[0] : h[0] + 1]
    d2 = (xx * spacing_mm[0]) ** 2 + (yy * spacing_mm[1]) ** 2 + (zz * spacing_mm[2]) ** 2
    return np.stack([zz[d2 <= radius_mm**2], yy[d2 <= radius_mm**2], xx[d2 <= radius_mm**2]], 1)


class _Placer:
    """Place lesions inside their host tissue, apart from each other, at every time point."""

    def __init__(self, anatomies: list[Anatomy], maps: list[np.ndarray], grid: Grid, shifts):
        self.anat = anatomies[0]
        self.maps = maps
        self.grid = grid
        self.shifts = shifts  # per time point, integer voxel shift (z, y, x)
        self.placed: list[tuple[np.ndarray, float]] = []
        n_solids = len(self.anat.solids) + 1
        self.names = [""] + [s.name for s in self.anat.solids]
        self.tissues = [""] + [s.tissue for s in self.anat.solids]
        self._n = n_solids
        self._candidates: dict[str, np.ndarray] = {}

    def _mask_of(self, names=(), tissues=()) -> np.ndarray:
        ok = np.zeros(self._n, bool)
        for i in range(1, self._n):
            if self.names[i].startswith(tuple(names)) or self.tissues[i] in tissues:
                ok[i] = True
        return ok

    def candidates(self, site: str) -> np.ndarray:
        if site not in self._candidates:
            host = _HOSTS[site]
            ok = self._mask_of(names=host["centre"])
            idx = np.argwhere(ok[self.maps[0]])
            if "box" in host:
                g = self.grid
                xyz = [g.origin_mm[i] + idx[:, 2 - i] * g.spacing_mm[i] for i in range(3)]
                keep = np.ones(len(idx), bool)
                for i, (lo, hi) in enumerate(host["box"]):
                    keep &= (xyz[i] >= lo) & (xyz[i] <= hi)
                idx = idx[keep]
            self._candidates[site] = idx
        return self._candidates[site]

    def place(self, les: Lesion, rng) -> tuple[np.ndarray, str]:
        """Centre voxel (z, y, x) in the basal grid and the site finally used."""
        radius = les.max_bound_mm()
        margin = max(self.grid.spacing_mm)
        ball = _ball(radius + 0.5 * margin, self.grid.spacing_mm)
        shape = np.array(self.grid.shape)
        edge = np.ceil(radius / np.array(self.grid.spacing_mm)[::-1]).astype(int) + 4
        for site in (les.site, *(s for s in _FALLBACK if s != les.site)):
            cand = self.candidates(site)
            if not len(cand):
                continue
            extent = _HOSTS[site]["extent"]
            allowed = self._mask_of(names=extent, tissues=extent)
            for _ in range(300):
                c = cand[rng.integers(len(cand))]
                if any(
                    np.linalg.norm((c - q) * np.array(self.grid.spacing_mm)[::-1])
                    < radius + r + 2 * margin
                    for q, r in self.placed
                ):
                    continue
                fits = True
                for t, (m, sh) in enumerate(zip(self.maps, self.shifts, strict=True)):
                    if not les.present[t]:
                        continue
                    ct = c + sh
                    if np.any(ct < edge) or np.any(ct >= shape - edge):
                        fits = False
                        break
                    pts = ball + ct
                    if not allowed[m[pts[:, 0], pts[:, 1], pts[:, 2]]].all():
                        fits = False
                        break
                if fits:
                    self.placed.append((c, radius))
                    return c, site
        raise RuntimeError(f"no room for lesion {les.lesion_id} ({les.site})")


def pet_image(
    suv: np.ndarray,
    *,
    spacing_mm,
    fwhm_mm: float,
    liver_suv: float,
    liver_cv: float,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Reconstructed-looking PET (SUV) from the intended pre-blur SUV image.

    1. Point-spread: Gaussian blur with ``fwhm_mm`` (sigma = FWHM / (2 sqrt(2 ln 2)) per axis).
    2. Noise (``liver_cv`` > 0): Poisson-like, variance proportional to the blurred value,
       ``x + liver_cv * sqrt(x * liver_suv) * n`` with ``n`` a white Gaussian field smoothed
       by a 0.6-voxel Gaussian and scaled to unit SD, so the coefficient of variation is
       ``liver_cv`` where ``x = liver_suv`` and larger in colder tissue.
    3. Negative values are set to 0 (as OSEM images are non-negative).

    Parameters
    ----------
    suv : numpy.ndarray, shape (z, y, x)
        Intended SUV.
    spacing_mm : sequence of float
        Voxel size (x, y, z), mm.

    Returns
    -------
    numpy.ndarray of float32, shape (z, y, x)
    """
    sigma = [fwhm_mm / FWHM_PER_SIGMA / spacing_mm[2 - i] for i in range(3)]
    pet = ndimage.gaussian_filter(np.asarray(suv, np.float32), sigma, mode="constant")
    if liver_cv > 0:
        white = rng.standard_normal(pet.shape, dtype=np.float32)
        field = ndimage.gaussian_filter(white, 0.6, mode="wrap")
        field /= field.std()
        pet = pet + liver_cv * np.sqrt(np.maximum(pet, 0) * liver_suv) * field
    return np.maximum(pet, 0).astype(np.float32)


def _write_nifti(path: Path, array: np.ndarray, grid: Grid) -> None:
    image = sitk.GetImageFromArray(array)
    image.SetOrigin(grid.origin_mm)
    image.SetSpacing(grid.spacing_mm)
    write_image(path, image)


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
    index = int(patient["patient_index"])
    pid = patient["patient_id"]
    tps = settings["timepoints"]
    n_tp = len(tps)
    rng = np.random.default_rng([settings["seed"], STREAM_SCAN, index])
    plan = patient_plan(settings, index, patient["primary_site"])
    pet_grid, ct_grid = _grids(settings, patient["height_m"])
    solids, suv, hu = build_anatomy(
        rng, weight_kg=patient["weight_kg"], height_m=patient["height_m"]
    )
    spacing = pet_spacing_mm(settings)
    shifts_vox = [np.zeros(3, int)] + [
        np.array([rng.integers(-2, 3), rng.integers(-2, 3), rng.integers(-2, 3)])
        for _ in range(n_tp - 1)
    ]  # (z, y, x) whole PET voxels
    shifts_mm = [tuple(float(s[2 - i] * spacing[i]) for i in range(3)) for s in shifts_vox]
    anatomies = [scan_anatomy(rng, solids, suv, hu, shifts_mm[t]) for t in range(n_tp)]
    maps = [a.render(pet_grid) for a in anatomies]

    placer = _Placer(anatomies, maps, pet_grid, shifts_vox)
    order = sorted(plan.lesions, key=lambda les: -les.max_bound_mm())
    centres: dict[int, np.ndarray] = {}
    sites: dict[int, str] = {}
    for les in order:
        centres[les.lesion_id], sites[les.lesion_id] = placer.place(les, rng)
    organ_of = {}
    for les in plan.lesions:
        c = centres[les.lesion_id]
        solid = anatomies[0].solids[maps[0][tuple(c)] - 1]
        organ_of[les.lesion_id] = solid.label if sites[les.lesion_id] in _ORGAN_HOSTED else 0

    # Scan dates and times.
    identity = _identity(rng, int(patient["age_years"]), _epoch(settings["seed"]))
    basal_date = _epoch(settings["seed"]) + dt.timedelta(days=index * 9 + int(rng.integers(0, 7)))
    birth = dt.datetime.strptime(identity["PatientBirthDate"], "%Y%m%d").date()
    study_uid_seed = (settings["seed"], pid)
    lesion_rows, scan_rows, sample_rows, id_rows = [], [], [], []
    days = 0
    for t, tp in enumerate(tps):
        if t:
            days += round(settings["months_between_scans"] * 30.44 + int(rng.integers(-10, 11)))
        day = basal_date + dt.timedelta(days=days)
        scan_index = index * n_tp + t
        lay = _scan_layout(settings, scan_index, rng)
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
        ident = {**identity, "AccessionNumber": accession}
        header = dw.ScanHeader(
            variant=lay["variant"],
            identity=ident,
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
            bed_seconds=150.0,
            crosses_midnight=lay["crosses_midnight"],
        )
        anat = anatomies[t]
        suv_lut = anat.lookup()[0]
        # PET: intended SUV, lesions painted, PSF, noise.
        pet_pre = suv_lut[maps[t]].astype(np.float32)
        lesion_label = np.zeros(pet_grid.shape, np.uint16)
        for les in plan.lesions:
            if not les.present[t]:
                continue
            start, inside, vals = les.voxelise(spacing, t)
            c = centres[les.lesion_id] + shifts_vox[t] + np.array(start)
            box = tuple(slice(c[i], c[i] + inside.shape[i]) for i in range(3))
            pet_pre[box][inside] = vals[inside]
            lesion_label[box][inside] = les.lesion_id
        pet = pet_image(
            pet_pre,
            spacing_mm=spacing,
            fwhm_mm=settings["psf_fwhm_mm"],
            liver_suv=anat.suv["liver"],
            liver_cv=settings["liver_cv"] if settings["noise"] else 0.0,
            # Own stream: noise on or off leaves every other draw unchanged.
            rng=np.random.default_rng([settings["seed"], STREAM_SCAN, index, t, 8]),
        )

        tp_dir = out_dir / "dicom" / pid / tp
        tp_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{tp}.", dir=tp_dir.parent))
        try:
            pet_sub = ct_sub = ""
            if lay["layout"] == "split":
                pet_sub, ct_sub = "PT", "CT"
            (tmp / pet_sub).mkdir(exist_ok=True)
            (tmp / ct_sub).mkdir(exist_ok=True)
            n_pet, n_ct = pet_grid.shape[0], ct_grid.shape[0]
            dw.write_pet(
                tmp / pet_sub,
                dw.slice_names(lay["layout"], "PT", n_pet, 1),
                pet,
                pet_grid,
                header,
                series_number=4,
            )
            if lay["extra"] == "nac_pet":
                nac = ndimage.gaussian_filter(pet * 0.35, 1.0)
                dw.write_pet(
                    tmp / pet_sub,
                    dw.slice_names(lay["layout"], "NAC", n_pet, 5000),
                    nac,
                    pet_grid,
                    header,
                    series_number=5,
                    attenuation_corrected=False,
                )
            elif lay["extra"] == "ct_scout":
                name = dw.slice_names(lay["layout"], "SCOUT", 1, 9000)[0]
                dw.write_scout(tmp / ct_sub, name, header, series_number=1)

            organs = np.zeros(ct_grid.shape, LABEL_DTYPE)
            lesion_place = {
                "centres": centres,
                "shift_vox": shifts_vox[t],
                "pet_grid": pet_grid,
                "organ_of": organ_of,
                "sites": sites,
            }
            ct_rng = np.random.default_rng([settings["seed"], STREAM_SCAN, index, t, 7])

            dw.write_ct(
                tmp / ct_sub,
                dw.slice_names(lay["layout"], "CT", n_ct, 2000),
                _ct_slabs(anat, ct_grid, organs, ct_rng, settings, plan.lesions, t, lesion_place),
                ct_grid,
                header,
                series_number=2,
            )
            dw.replace_dir(tmp, tp_dir)
        except BaseException:
            # A failed scan leaves no half-written DICOM folder behind.
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _write_nifti(out_dir / "labels" / pid / f"{tp}_organs.nii.gz", organs, ct_grid)
        _write_nifti(
            out_dir / "truth" / "lesion_labels" / pid / f"{tp}.nii.gz", lesion_label, pet_grid
        )
        if settings["write_truth_suv"]:
            _write_nifti(out_dir / "truth" / "suv" / pid / f"{tp}.nii.gz", pet, pet_grid)

        rel = out_dir / "dicom" / pid / tp
        sample_rows.append(
            {
                "patient_id": pid,
                "timepoint": tp,
                "pet_dicom": str(rel / pet_sub) if pet_sub else str(rel),
                "ct_dicom": str(rel / ct_sub) if ct_sub else str(rel),
                "organ_labels": str(out_dir / "labels" / pid / f"{tp}_organs.nii.gz"),
            }
        )
        present = [les for les in plan.lesions if les.present[t]]
        scan_rows.append(
            {
                "patient_id": pid,
                "timepoint": tp,
                "header_variant": lay["variant"],
                "layout": lay["layout"],
                "extra_series": lay["extra"],
                "crosses_midnight": int(lay["crosses_midnight"]),
                "days_from_basal": days,
                "uptake_s": uptake_s,
                "series_after_acquisition_s": int((series_time - scan_start).total_seconds()),
                "injected_dose_bq": dose_bq,
                "dose_at_scan_start_bq": header.dose_at_scan_start_bq(),
                "bqml_per_suv": header.bqml_per_suv(),
                "weight_kg": header.weight_kg,
                "height_m": header.height_m,
                "wtv_ml": plan.wtv_ml[t],
                "tre": plan.tre[t],
                "suvmax": plan.suvmax[t],
                "suvmean": plan.tre[t] / plan.wtv_ml[t] if plan.wtv_ml[t] > 0 else math.nan,
                "lesion_count": len(present),
                "liver_suvmean": anat.suv["liver"],
                "spleen_suvmean": anat.suv["spleen"],
                "shift_x_mm": shifts_mm[t][0],
                "shift_y_mm": shifts_mm[t][1],
                "shift_z_mm": shifts_mm[t][2],
                "psf_fwhm_mm": settings["psf_fwhm_mm"],
                "noise": int(settings["noise"]),
                "pet_size": "x".join(str(v) for v in pet_grid.shape[::-1]),
                "ct_size": "x".join(str(v) for v in ct_grid.shape[::-1]),
            }
        )
        for les in plan.lesions:
            first = les.present.index(True)
            if t < first:
                continue
            tr = les.truth[t]
            c = centres[les.lesion_id]
            centre_mm = [
                pet_grid.origin_mm[i] + c[2 - i] * spacing[i] + les.offset_mm[i] + shifts_mm[t][i]
                for i in range(3)
            ]
            status = "present" if les.present[t] else "disappeared"
            if les.present[t] and t == first and t > 0:
                status = "new"
            lesion_rows.append(
                {
                    "patient_id": pid,
                    "timepoint": tp,
                    "lesion_id": les.lesion_id,
                    "site": sites[les.lesion_id],
                    "organ_label": organ_of[les.lesion_id],
                    "centre_x_mm": centre_mm[0],
                    "centre_y_mm": centre_mm[1],
                    "centre_z_mm": centre_mm[2],
                    "volume_ml": tr["volume_ml"],
                    "n_voxels": tr["n_voxels"],
                    "suvmean": tr["suvmean"],
                    "suvmax": tr["suvmax"],
                    "suvtotal": tr["suvmean"] * tr["n_voxels"] if tr["n_voxels"] else 0.0,
                    "shape": les.shape,
                    "heterogeneous": "yes" if les.pattern != "uniform" else "no",
                    "pattern": les.pattern,
                    "status": status,
                    "response": response_category(les, t),
                }
            )
        id_rows.append({"patient_id": pid, "timepoint": tp, **ident})
    return {
        "samples": pd.DataFrame(sample_rows),
        "lesions": pd.DataFrame(lesion_rows),
        "scans": pd.DataFrame(scan_rows),
        "identifiers": pd.DataFrame(id_rows),
    }


def _ct_slabs(anat, ct_grid, organs, rng, settings, lesions, t, lesion_place):
    """Yield CT slabs (HU, z, y, x) and fill the organ label map ``organs`` on the way."""
    _, hu_lut, lab_lut = anat.lookup()
    n_ct = ct_grid.shape[0]
    for z0 in range(0, n_ct, CT_SLAB):
        z1 = min(n_ct, z0 + CT_SLAB)
        idx = anat.render(ct_grid, (z0, z1))
        hu_slab = hu_lut[idx]
        lab = lab_lut[idx].astype(LABEL_DTYPE)
        _paint_ct_lesions(hu_slab, lab, lesions, t, ct_grid, (z0, z1), **lesion_place)
        organs[z0:z1] = lab
        if settings["ct_noise_hu"] > 0:
            hu_slab = hu_slab + rng.normal(0, settings["ct_noise_hu"], hu_slab.shape)
        yield hu_slab


def _paint_ct_lesions(
    hu, lab, lesions, t, ct_grid, z_range, centres, shift_vox, pet_grid, organ_of, sites
):
    """Paint present lesions into a CT slab: HU of the site; organ label of the host or 0."""
    x = ct_grid.axis(0)
    y = ct_grid.axis(1)
    z = ct_grid.axis(2)[z_range[0] : z_range[1]]
    for les in lesions:
        if not les.present[t]:
            continue
        c = centres[les.lesion_id] + shift_vox
        centre = [
            pet_grid.origin_mm[i] + c[2 - i] * pet_grid.spacing_mm[i] + les.offset_mm[i]
            for i in range(3)
        ]
        r = les.bound_mm * les.scale[t] + 1.0
        ix = np.nonzero(np.abs(x - centre[0]) <= r)[0]
        iy = np.nonzero(np.abs(y - centre[1]) <= r)[0]
        iz = np.nonzero(np.abs(z - centre[2]) <= r)[0]
        if not (ix.size and iy.size and iz.size):
            continue
        box = (slice(iz[0], iz[-1] + 1), slice(iy[0], iy[-1] + 1), slice(ix[0], ix[-1] + 1))
        inside, _ = les.evaluate(
            (x[box[2]] - centre[0])[None, None, :],
            (y[box[1]] - centre[1])[None, :, None],
            (z[box[0]] - centre[2])[:, None, None],
            t,
        )
        hu[box][inside] = SITES[sites[les.lesion_id]]["hu"]
        lab[box][inside] = organ_of[les.lesion_id]


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
    write_json(out / "truth" / "settings.json", settings)
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


__all__ = ["generate_cohort", "generate_patient", "pet_image"]
