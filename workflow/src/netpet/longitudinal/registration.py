"""Registration of a follow-up scan to the baseline scan of the same patient.

A lesion at follow-up is the same lesion as at baseline only if the two scans are brought into
one frame first: patients lie differently on the table, and the scanner's patient coordinates
say nothing about where the patient lay.  :func:`register_to_baseline` finds the transform
that maps baseline physical points onto follow-up physical points (ITK's convention with the
baseline as *fixed* and the follow-up as *moving* image), so that :func:`labels_to_baseline`
and :func:`image_to_baseline` can carry follow-up lesion maps and SUV onto the baseline PET
grid.

Driver
    The anatomical images (CT, or MR for PET/MR) when both scans have the same kind; the PET
    (log-compressed SUV) when either scan is PET only, or when the two anatomical images are
    of different kinds.  The result says which and why.
Stages
    An initial translation that superimposes the centres of the two bodies, a rigid stage
    (:class:`SimpleITK.Euler3DTransform`), then by default an affine stage (the abdomen's
    shape changes between scans), or an affine plus a B-spline stage; each stage is
    multi-resolution.  Every image is first block-averaged, smoothed and resampled onto an
    isotropic working grid (``working_spacing_mm``), and the metric is evaluated at a fixed
    number of points, so a 512 x 512 CT costs little more than a PET.
Determinism
    Random metric sampling takes ``seed``, and SimpleITK runs with a fixed number of threads
    (``threads``) during the registration (:func:`fixed_threads`): ITK sums per-thread
    partial metric values and derivatives, so the thread count changes the last bits of
    every step.  With both fixed, the same inputs give bit-identical transforms whatever the
    machine's cores or SimpleITK's global thread settings.
Plausibility
    A failed registration silently corrupts lesion tracks, so the result is checked
    (:func:`registration_problems`): the translation at the baseline body centre, the
    affine scaling, the overlap of the two bodies and the normalised cross-correlation (NCC)
    of the driving images after registration.  :func:`check_registration` raises
    :class:`~netpet.errors.InputError` naming the scans and what to check.

Conventions: numpy arrays from SimpleITK are (z, y, x); SimpleITK spacing, origin and points
are (x, y, z) in mm, LPS patient coordinates.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from netpet.errors import InputError
from netpet.imaging.organ_checks import BODY_MIN_HU
from netpet.io import atomic_path
from netpet.steps.ingest import ANATOMY_FILES, ANATOMY_RECORD

TRANSFORMS = ("rigid", "affine", "bspline")
METRICS = ("auto", "mattes", "correlation", "mean_squares")
# Metric of ``metric: auto`` per driver.  CT and log-SUV: normalised correlation (24 pairs of
# the default cohort, CT-driven affine: translation error median 0.30 mm, largest 0.84 mm,
# against 0.39 / 1.00 mm with Mattes mutual information; on an abdomen phantom scaled by
# 4 %, correlation found the affine within 0.15 mm, Mattes 2 mm off).  MR: Mattes mutual
# information, as MR signal has no fixed scale and varies nonlinearly between sessions.
AUTO_METRIC = {"ct": "correlation", "pet": "correlation", "mr": "mattes"}
INITIAL_ALIGNMENTS = ("body_centre", "geometry", "none")
CONFIG_SECTION = "longitudinal.registration"

# CT numbers above this are clipped: dense bone and contrast-filled vessels or bowel vary
# between sessions (contrast timing) and would dominate a squared-difference metric.
CT_MAX_HU = 1000.0
# SUV above which smoothed PET counts as body (tissue SUV is 0.3-1 at its lowest, air ~0).
PET_BODY_SUV = 0.1
# Gaussian sigma (mm) of the smoothing before the body threshold: noise specks stay outside.
BODY_SMOOTHING_MM = 4.0
# NCC may fall by this much during registration before it counts as a failure: the metric
# optimised (e.g. mutual information) is not the NCC, so tiny decreases are harmless.
NCC_DECREASE_TOLERANCE = 0.05


@dataclass(frozen=True)
class RegistrationSettings:
    """Settings of :func:`register_to_baseline` (config section ``longitudinal.registration``).

    Attributes
    ----------
    driver : {"auto", "pet"}
        ``auto``: the anatomical images (CT or MR) when both scans have the same kind, else
        the PET; ``pet``: always the PET.
    transform : {"rigid", "affine", "bspline"}
        Last stage when the CT or MR drives: rigid (6 parameters), affine (12; default) or
        affine then a B-spline free-form deformation (``bspline_grid_spacing_mm``).
    pet_transform : {"rigid", "affine", "bspline"}
        Last stage when the PET drives.  Rigid by default: uptake changes (lesions growing
        or shrinking) pull an affine's scaling; on the 24 pairs of the default cohort the
        PET-driven translation was off by at most 0.70 mm (median 0.27) with rigid, 1.08 mm
        (median 0.32, spurious scaling up to 1.8 %) with affine.
    metric : {"auto", "mattes", "correlation", "mean_squares"}
        Similarity optimised: Mattes mutual information (``histogram_bins`` bins),
        normalised correlation, or mean squared difference (same modality and units only);
        ``auto``: :data:`AUTO_METRIC` of the driver (correlation for CT and PET, Mattes for
        MR).
    histogram_bins : int
        Mattes mutual information: joint-histogram bins.
    metric_samples : int
        Points of the baseline body at which the metric is evaluated per resolution level
        (random positions within voxels, drawn with ``seed``; all voxels when the level has
        fewer).  A number rather than a fraction: the run time then hardly depends on the
        image size.
    iterations : int
        Most optimiser iterations per resolution level and stage.
    initial_step_mm : float
        First step of the gradient descent (rigid and affine stages) at each level, about
        the largest voxel displacement (mm) the step causes (ITK's physical-shift scales).
    min_step_mm : float
        The descent stops when its step falls below this, mm.
    relaxation : float
        The step is multiplied by this whenever the gradient turns.  0.7 rather than ITK's
        0.5: with 0.5 the step shrank below ``min_step_mm`` before a 4 degree rotation of a
        phantom was found (3.36 degrees, 0.76 mm off at the body's edge; 0.7: 4.005
        degrees, 0.05 mm).
    shrink_factors : tuple of int
        Working grid shrink factor per resolution level, coarse to fine (e.g. (4, 2, 1)).
    smoothing_sigmas_mm : tuple of float
        Gaussian smoothing sigma per level, mm (same length as ``shrink_factors``).
    working_spacing_mm : float
        Isotropic voxel size (mm) of the grid the images are smoothed and resampled onto
        before registration; finer images (a 0.98 mm CT) are registered at this resolution.
    bspline_grid_spacing_mm : float
        ``bspline``: control-point spacing of the B-spline grid, mm.
    bspline_levels : int
        ``bspline``: the B-spline stage runs on this many of the finest resolution levels
        (coarse levels blur away what a local deformation would correct).
    bspline_metric_samples : int
        ``bspline``: metric points per level of the B-spline stage.  ITK fills a derivative
        over every B-spline parameter at every point, so the time grows with points x
        control points; too few points per parameter let the grid fit noise.
    bspline_iterations : int
        ``bspline``: most L-BFGS-B iterations per level (twice as many metric evaluations);
        also a brake on deformations the data do not support.
    initial_alignment : {"body_centre", "geometry", "none"}
        Starting translation: superimpose the centroids of the two body masks, the centres
        of the two images, or none (the scanners' coordinates as they are).
    seed : int
        Seed of the random metric sampling.
    threads : int
        Threads of SimpleITK during the registration (fixed, so that the result does not
        depend on the machine; another value gives other last bits).
    max_translation_mm : float
        Largest plausible translation (mm) of the baseline body centre; beyond: an error.
    max_scale_change : float
        Largest plausible relative change of size along any axis of the affine stage (0.15:
        singular values of its matrix within [1/1.15, 1.15]).
    min_ncc : float
        Smallest plausible normalised cross-correlation of the driving images inside the
        baseline body after registration.
    min_overlap_fraction : float
        Smallest plausible fraction of the baseline body that lies inside the follow-up's
        field of view after registration.
    """

    driver: str = "auto"
    transform: str = "affine"
    pet_transform: str = "rigid"
    metric: str = "auto"
    histogram_bins: int = 32
    metric_samples: int = 20000
    iterations: int = 100
    initial_step_mm: float = 2.0
    min_step_mm: float = 0.02
    relaxation: float = 0.7
    shrink_factors: tuple[int, ...] = (4, 2, 1)
    smoothing_sigmas_mm: tuple[float, ...] = (8.0, 4.0, 0.0)
    working_spacing_mm: float = 4.0
    bspline_grid_spacing_mm: float = 100.0
    bspline_levels: int = 1
    bspline_metric_samples: int = 20000
    bspline_iterations: int = 30
    initial_alignment: str = "body_centre"
    seed: int = 20240607
    threads: int = 1
    max_translation_mm: float = 150.0
    max_scale_change: float = 0.15
    min_ncc: float = 0.5
    min_overlap_fraction: float = 0.5

    def __post_init__(self) -> None:
        object.__setattr__(self, "shrink_factors", tuple(int(s) for s in self.shrink_factors))
        object.__setattr__(
            self, "smoothing_sigmas_mm", tuple(float(s) for s in self.smoothing_sigmas_mm)
        )
        choices = {
            "driver": ("auto", "pet"),
            "transform": TRANSFORMS,
            "pet_transform": TRANSFORMS,
            "metric": METRICS,
            "initial_alignment": INITIAL_ALIGNMENTS,
        }
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                _bad(key, getattr(self, key), f"one of {list(allowed)}")
        positive = (
            "histogram_bins",
            "metric_samples",
            "iterations",
            "initial_step_mm",
            "min_step_mm",
            "working_spacing_mm",
            "bspline_grid_spacing_mm",
            "bspline_levels",
            "bspline_metric_samples",
            "bspline_iterations",
            "threads",
            "max_translation_mm",
        )
        for key in positive:
            if not getattr(self, key) > 0:
                _bad(key, getattr(self, key), "a number above 0")
        if not 0 < self.relaxation < 1:
            _bad("relaxation", self.relaxation, "a factor in (0, 1)")
        for key in ("max_scale_change", "min_overlap_fraction"):
            if not 0 <= getattr(self, key) <= 1:
                _bad(key, getattr(self, key), "a fraction in [0, 1]")
        if not -1 <= self.min_ncc <= 1:
            _bad("min_ncc", self.min_ncc, "a correlation in [-1, 1]")
        if self.bspline_levels > len(self.shrink_factors):
            _bad(
                "bspline_levels",
                self.bspline_levels,
                f"at most the number of shrink factors ({len(self.shrink_factors)})",
            )
        if not self.shrink_factors or any(s < 1 for s in self.shrink_factors):
            _bad("shrink_factors", list(self.shrink_factors), "a list of integers >= 1")
        if len(self.smoothing_sigmas_mm) != len(self.shrink_factors) or any(
            s < 0 for s in self.smoothing_sigmas_mm
        ):
            _bad(
                "smoothing_sigmas_mm",
                list(self.smoothing_sigmas_mm),
                f"one sigma >= 0 per shrink factor ({len(self.shrink_factors)})",
            )

    @classmethod
    def from_config(cls, section: Mapping | None) -> RegistrationSettings:
        """Settings from the config's ``longitudinal.registration`` section.

        Parameters
        ----------
        section : mapping or None
            Keys named as the attributes; missing keys take the defaults, None gives all
            defaults.

        Raises
        ------
        InputError
            An unknown key or a value out of range (the message names the key).
        """
        section = dict(section or {})
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(section) - set(names))
        if unknown:
            raise InputError(
                f"config {CONFIG_SECTION}: unknown key(s) {unknown}; known keys: {names}"
            )
        return cls(**section)

    def to_dict(self) -> dict:
        """The settings as a JSON-ready dict (tuples as lists)."""
        return {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in dataclasses.asdict(self).items()
        }


def _bad(key: str, value, expected: str):
    raise InputError(f"config {CONFIG_SECTION}.{key} is {value!r}; give {expected}")


@dataclass(frozen=True)
class ScanImages:
    """The images of one scan that registration uses.

    Attributes
    ----------
    name : str
        The scan in messages, e.g. ``"NET001 interim"`` (study IDs only).
    pet_suv : SimpleITK.Image
        SUV, float, PET grid.
    anatomy : SimpleITK.Image or None
        The CT (HU) or MR on its own grid; None for a PET-only scan.
    modality : {"ct", "mr", None}
        What ``anatomy`` is.
    """

    name: str
    pet_suv: sitk.Image
    anatomy: sitk.Image | None = None
    modality: str | None = None

    def __post_init__(self) -> None:
        if self.modality not in ("ct", "mr", None):
            raise InputError(
                f"{self.name}: anatomy modality {self.modality!r}: give ct, mr or None"
            )
        if (self.anatomy is None) != (self.modality is None):
            raise InputError(f"{self.name}: give both the anatomical image and its modality")


def read_scan_images(images_dir: str | os.PathLike, *, name: str) -> ScanImages:
    """Read one scan's ``pet_suv.nii.gz`` and, as ``anatomy/anatomy.json`` says, its CT or MR.

    Parameters
    ----------
    images_dir : path
        ``results/images/{patient}/{timepoint}/`` as :func:`netpet.steps.ingest.ingest_scan`
        writes it.
    name : str
        The scan in messages (e.g. ``"NET001 interim"``).
    """
    images_dir = Path(images_dir)
    record_path = images_dir / "anatomy" / ANATOMY_RECORD
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise InputError(
            f"{name}: cannot read {record_path} ({error}); run the DICOM conversion of this "
            "scan first"
        ) from error
    modality = record.get("modality")
    if modality not in ("ct", "mr", None):
        raise InputError(f"{record_path}: modality {modality!r} is not ct, mr or null")
    anatomy = None
    if modality is not None:
        anatomy = sitk.ReadImage(str(images_dir / "anatomy" / ANATOMY_FILES[modality][0]))
    pet = sitk.ReadImage(str(images_dir / "pet_suv.nii.gz"), sitk.sitkFloat32)
    return ScanImages(name=name, pet_suv=pet, anatomy=anatomy, modality=modality)


@dataclass
class RegistrationResult:
    """What :func:`register_to_baseline` found.

    Attributes
    ----------
    transform : SimpleITK.Transform
        Maps baseline physical points (mm, LPS) onto follow-up points: an
        :class:`~SimpleITK.Euler3DTransform` (rigid), :class:`~SimpleITK.AffineTransform`
        (affine) or a :class:`~SimpleITK.CompositeTransform` of the affine and a
        :class:`~SimpleITK.BSplineTransform` (bspline; the B-spline applies first).
    metrics : dict
        JSON-ready record for ``registration.json`` (see :func:`register_to_baseline`).
    """

    transform: sitk.Transform
    metrics: dict = field(default_factory=dict)


def choose_driver(baseline: ScanImages, followup: ScanImages, *, driver: str = "auto"):
    """The images that drive the registration: ``(driver, reason)``.

    ``driver`` is ``"ct"`` or ``"mr"`` when both scans have that kind of anatomical image
    (and ``driver`` is ``"auto"``), else ``"pet"``; ``reason`` says why in words.
    """
    if driver == "pet":
        return "pet", "PET chosen in the config (driver: pet)"
    missing = [scan.name for scan in (baseline, followup) if scan.modality is None]
    if missing:
        return "pet", f"PET only: no CT or MR for {' and '.join(missing)}"
    if baseline.modality != followup.modality:
        return "pet", (
            f"different anatomical images ({baseline.name} {baseline.modality.upper()}, "
            f"{followup.name} {followup.modality.upper()})"
        )
    return baseline.modality, f"both scans have {baseline.modality.upper()}"


def working_image(image: sitk.Image, driver: str, spacing_mm: float) -> sitk.Image:
    """The image as registered: intensities prepared, smoothed and resampled isotropically.

    Axes at least twice finer than ``spacing_mm`` are first averaged in blocks of whole
    voxels (a 0.98 mm CT in 4 x 4 blocks).  CT numbers are then clipped to [-1000,
    :data:`CT_MAX_HU`]; SUV becomes ``log(1 + SUV)`` (lesion and bladder uptake, which change
    between scans, would otherwise dominate); MR is kept.  Axes still finer than
    ``spacing_mm`` are smoothed with a Gaussian of sigma ``sqrt(spacing_mm^2 - s^2) / 2``
    (anti-aliasing), then every axis is resampled linearly onto a grid of ``spacing_mm``
    covering the same field of view (same direction).

    Parameters
    ----------
    image : SimpleITK.Image
        CT (HU), MR or SUV image, any grid.
    driver : {"ct", "mr", "pet"}
    spacing_mm : float
        Isotropic voxel size of the result, mm.

    Returns
    -------
    SimpleITK.Image
        float32, isotropic ``spacing_mm``.
    """
    native = np.asarray(image.GetSpacing(), float)
    # Block averages first (cheap, and anti-aliasing): a 512 x 512 CT becomes ~128 x 128
    # before anything else, which keeps time and memory low.
    factors = [max(1, int(spacing_mm // s)) for s in native]
    out = sitk.Cast(image, sitk.sitkFloat32)
    if max(factors) > 1:
        out = sitk.BinShrink(out, factors)
    if driver == "ct":
        out = sitk.Clamp(out, sitk.sitkFloat32, -1000.0, CT_MAX_HU)
    elif driver == "pet":
        out = sitk.Log(sitk.Clamp(out, sitk.sitkFloat32, 0.0) + 1.0)
    spacing = np.asarray(out.GetSpacing(), float)
    sigmas = np.sqrt(np.clip(spacing_mm**2 - spacing**2, 0.0, None)) / 2.0
    if np.any(sigmas > 0.05 * spacing_mm):
        # Per-axis sigma; an axis that needs none gets a negligible one (0 is refused).
        out = sitk.SmoothingRecursiveGaussian(out, [max(float(s), 1e-3) for s in sigmas])
    size = [
        max(1, round(float(n * s / spacing_mm)))
        for n, s in zip(image.GetSize(), native, strict=True)
    ]
    direction = np.asarray(image.GetDirection()).reshape(3, 3)
    corner = np.asarray(image.GetOrigin()) - direction @ (native / 2.0)
    origin = corner + direction @ np.full(3, spacing_mm / 2.0)
    reference = sitk.Image(size, sitk.sitkFloat32)
    reference.SetSpacing([spacing_mm] * 3)
    reference.SetOrigin([float(v) for v in origin])
    reference.SetDirection(image.GetDirection())
    outside = {"ct": -1000.0, "mr": 0.0, "pet": 0.0}[driver]
    return sitk.Resample(out, reference, sitk.Transform(), sitk.sitkLinear, outside)


def body_mask(working: sitk.Image, driver: str) -> sitk.Image:
    """The body on a working image (:func:`working_image`): uint8, 1 inside.

    CT above :data:`~netpet.imaging.organ_checks.BODY_MIN_HU`, PET above
    :data:`PET_BODY_SUV` after a Gaussian of :data:`BODY_SMOOTHING_MM`, MR above Otsu's
    threshold; then the largest connected part, with each axial slice's holes (lungs, bowel
    gas) filled.
    """
    if driver == "ct":
        inside = sitk.GetArrayFromImage(working) > BODY_MIN_HU
    else:
        smooth = sitk.SmoothingRecursiveGaussian(working, BODY_SMOOTHING_MM)
        if driver == "pet":
            inside = sitk.GetArrayFromImage(smooth) > math.log1p(PET_BODY_SUV)
        else:
            # OtsuThreshold(image, inside value, outside value): 1 above the threshold.
            inside = sitk.GetArrayFromImage(sitk.OtsuThreshold(smooth, 0, 1)) > 0
    components, count = ndimage.label(inside)
    if count > 1:
        sizes = np.bincount(components.ravel())
        sizes[0] = 0
        inside = components == int(np.argmax(sizes))
    inside = np.stack([ndimage.binary_fill_holes(plane) for plane in inside])
    mask = sitk.GetImageFromArray(inside.astype(np.uint8))
    mask.CopyInformation(working)
    return mask


def _centroid_mm(mask: sitk.Image) -> np.ndarray:
    """Centroid (x, y, z) in mm of a mask's voxels; the image centre for an empty mask."""
    index_zyx = np.argwhere(sitk.GetArrayViewFromImage(mask) > 0)
    if index_zyx.size == 0:
        centre = (np.asarray(mask.GetSize()) - 1) / 2.0
    else:
        centre = index_zyx.mean(axis=0)[::-1]
    return np.asarray(mask.TransformContinuousIndexToPhysicalPoint([float(c) for c in centre]))


def _image_centre_mm(image: sitk.Image) -> np.ndarray:
    centre = (np.asarray(image.GetSize()) - 1) / 2.0
    return np.asarray(image.TransformContinuousIndexToPhysicalPoint([float(c) for c in centre]))


@dataclass(frozen=True)
class _Level:
    """One resolution level: smoothed, shrunk working images and the metric's sampling."""

    fixed: sitk.Image
    moving: sitk.Image
    body_voxels: float  # expected voxels of the baseline body at this level

    def sampling_fraction(self, samples: int) -> float:
        """Share of the level's voxels ITK draws so that ~``samples`` fall in the body."""
        return min(1.0, samples / max(self.body_voxels, 1.0))


def _pyramid(fixed, moving, fixed_mask, settings: RegistrationSettings) -> list[_Level]:
    """The resolution levels, coarse to fine, computed once for every stage.

    Each level is the working image smoothed with a Gaussian of that level's sigma (mm) and
    subsampled by its shrink factor, as ITK's own pyramid does; building it here, once,
    instead of inside every stage's registration saves most of the set-up time.  ITK draws
    a share of a level's voxels at random and keeps those inside the baseline body mask,
    hence the body voxels recorded per level.
    """
    mask = sitk.GetArrayViewFromImage(fixed_mask)
    body_fraction = max(float(np.count_nonzero(mask)) / mask.size, 1e-6)
    levels = []
    for shrink, sigma in zip(settings.shrink_factors, settings.smoothing_sigmas_mm, strict=True):
        images = []
        for image in (fixed, moving):
            if sigma > 0:
                image = sitk.SmoothingRecursiveGaussian(image, sigma)
            if shrink > 1:
                image = sitk.Shrink(image, [shrink] * 3)
            images.append(image)
        voxels = float(np.prod(images[0].GetSize()))
        levels.append(_Level(images[0], images[1], body_fraction * voxels))
    return levels


def _method(fixed_mask, level: _Level, settings: RegistrationSettings, counter: list, samples):
    """A one-level registration method: the settings' metric, ``samples`` in the body."""
    method = sitk.ImageRegistrationMethod()
    if settings.metric == "mattes":
        method.SetMetricAsMattesMutualInformation(numberOfHistogramBins=settings.histogram_bins)
    elif settings.metric == "correlation":
        method.SetMetricAsCorrelation()
    else:
        method.SetMetricAsMeanSquares()
    method.SetMetricFixedMask(fixed_mask)
    method.SetMetricSamplingStrategy(method.RANDOM)
    method.SetMetricSamplingPercentage(level.sampling_fraction(samples), settings.seed)
    method.SetInterpolator(sitk.sitkLinear)
    method.SetNumberOfThreads(settings.threads)  # and fixed_threads() for the rest
    method.AddCommand(sitk.sitkIterationEvent, lambda: counter.append(1))
    return method


def _linear_stage(levels: list[_Level], fixed_mask, transform, settings) -> dict:
    """Optimise a rigid or affine ``transform`` in place, level by level.

    Returns the stage record: ``metric_value`` (last level), ``iterations`` (all levels),
    ``stop`` (the last level's stop condition).
    """
    counter: list = []
    for level in levels:
        method = _method(fixed_mask, level, settings, counter, settings.metric_samples)
        method.SetOptimizerAsRegularStepGradientDescent(
            learningRate=settings.initial_step_mm,
            minStep=settings.min_step_mm,
            numberOfIterations=settings.iterations,
            relaxationFactor=settings.relaxation,
            gradientMagnitudeTolerance=1e-8,
        )
        # Parameters scaled so that a unit step moves a voxel by about 1 mm: the step sizes
        # are then in mm for rotations, translations and matrix entries alike.
        method.SetOptimizerScalesFromPhysicalShift()
        method.SetInitialTransform(transform, inPlace=True)
        method.Execute(level.fixed, level.moving)
    return _stage_record(method, counter)


def _stage_record(method, counter: list) -> dict:
    return {
        "metric_value": float(method.GetMetricValue()),
        "iterations": len(counter),
        "stop": method.GetOptimizerStopConditionDescription(),
    }


def _bspline_stage(levels: list[_Level], fixed_mask, affine, settings):
    """B-spline on top of ``affine`` (applied after it); returns (bspline, stage record)."""
    fixed = levels[-1].fixed
    extent = np.asarray(fixed.GetSize()) * np.asarray(fixed.GetSpacing())
    mesh = [max(1, round(float(e / settings.bspline_grid_spacing_mm))) for e in extent]
    bspline = sitk.BSplineTransformInitializer(fixed, mesh, order=3)
    counter: list = []
    for level in levels[-settings.bspline_levels :]:
        method = _method(fixed_mask, level, settings, counter, settings.bspline_metric_samples)
        method.SetOptimizerAsLBFGSB(
            gradientConvergenceTolerance=1e-5,
            numberOfIterations=settings.bspline_iterations,
            maximumNumberOfCorrections=5,
            maximumNumberOfFunctionEvaluations=2 * settings.bspline_iterations,
            costFunctionConvergenceFactor=1e7,
        )
        method.SetMovingInitialTransform(affine)
        method.SetInitialTransform(bspline, inPlace=True)
        method.Execute(level.fixed, level.moving)
    return bspline, _stage_record(method, counter)


def similarity(
    fixed: sitk.Image, moving: sitk.Image, fixed_mask: sitk.Image, transform: sitk.Transform
) -> tuple[float, float]:
    """Normalised cross-correlation and overlap of two working images under ``transform``.

    Parameters
    ----------
    fixed, moving : SimpleITK.Image
        Working images (:func:`working_image`) of the baseline and the follow-up.
    fixed_mask : SimpleITK.Image
        The baseline body (:func:`body_mask`).
    transform : SimpleITK.Transform
        Baseline points to follow-up points.

    Returns
    -------
    ncc : float
        Pearson correlation of the two images' values over the baseline body voxels whose
        mapped position lies inside the follow-up's field of view (NaN if fewer than 2).
    overlap_fraction : float
        Fraction of the baseline body voxels mapped inside the follow-up's field of view.
    """
    # GetArrayFromImage (a copy): a view of a temporary image would outlive its memory.
    warped = sitk.GetArrayFromImage(
        sitk.Resample(moving, fixed, transform, sitk.sitkLinear, 0.0, sitk.sitkFloat32)
    )
    ones = sitk.Image(moving.GetSize(), sitk.sitkUInt8) + 1
    ones.CopyInformation(moving)
    inside_fov = sitk.GetArrayFromImage(
        sitk.Resample(ones, fixed, transform, sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8)
    )
    body = sitk.GetArrayViewFromImage(fixed_mask) > 0
    used = body & (inside_fov > 0)
    n_body = int(body.sum())
    overlap = float(used.sum()) / n_body if n_body else 0.0
    if used.sum() < 2:
        return float("nan"), overlap
    a = sitk.GetArrayViewFromImage(fixed)[used].astype(np.float64)
    b = warped[used].astype(np.float64)
    a -= a.mean()
    b -= b.mean()
    denominator = math.sqrt(float((a * a).sum() * (b * b).sum()))
    ncc = float((a * b).sum() / denominator) if denominator > 0 else float("nan")
    return ncc, overlap


def register_to_baseline(
    baseline: ScanImages,
    followup: ScanImages,
    settings: RegistrationSettings | None = None,
    *,
    check: bool = True,
) -> RegistrationResult:
    """Register a follow-up scan to the baseline scan of the same patient.

    Parameters
    ----------
    baseline, followup : ScanImages
        The two scans (:func:`read_scan_images`).
    settings : RegistrationSettings, optional
        Defaults if None.
    check : bool
        Raise :class:`InputError` if the result is implausible
        (:func:`check_registration`); False returns it with ``metrics["problems"]`` listing
        what is wrong (to draw the QC picture of a failed registration).

    Returns
    -------
    RegistrationResult
        ``transform`` maps baseline points (mm) onto follow-up points; ``metrics`` holds
        ``baseline``, ``followup`` (scan names), ``driver`` (ct, mr or pet),
        ``driver_reason``, ``transform`` (the last stage run: rigid, affine or bspline),
        ``metric`` (the one used, ``auto`` resolved),
        ``final_metric_value`` (ITK's value, lower is better: negative MI or correlation),
        ``stages`` (per stage: ``metric_value``, ``iterations``, ``stop``), ``iterations``
        (total), ``initial_translation_mm`` (x, y, z), ``translation_mm`` (x, y, z, the
        displacement of ``body_centre_mm``, the baseline body centroid), ``translation_norm_mm``,
        ``rotation_deg`` (x, y, z of the rigid stage), ``scale_factors`` (singular values
        of the final linear part), ``bspline_max_displacement_mm`` (bspline only),
        ``ncc_before``, ``ncc_after`` (driving images over the baseline body, identity vs
        found transform), ``overlap_fraction_before``, ``overlap_fraction_after``,
        ``problems`` (empty when plausible), ``settings`` and ``simpleitk_version``.

    Raises
    ------
    InputError
        With ``check``: an implausible result (see :func:`registration_problems`).
    """
    settings = settings or RegistrationSettings()
    with fixed_threads(settings.threads):
        result = _register(baseline, followup, settings)
    if check:
        check_registration(result.metrics, settings)
    return result


@contextlib.contextmanager
def fixed_threads(threads: int) -> Iterator[None]:
    """Run SimpleITK with ``threads`` threads and the platform threader, then restore.

    ITK splits work, and sums partial metric values and derivatives, by thread: the last
    bits of a registration depend on the thread count.  The registration method's own
    ``SetNumberOfThreads`` does not reach every part (measured: the metric still follows the
    global default), so the global default is fixed for the duration.  Process-wide: do not
    run other SimpleITK work in parallel threads of the same process meanwhile.
    """
    process = sitk.ProcessObject
    before = (process.GetGlobalDefaultNumberOfThreads(), process.GetGlobalDefaultThreader())
    process.SetGlobalDefaultThreader("PLATFORM")
    process.SetGlobalDefaultNumberOfThreads(threads)
    try:
        yield
    finally:
        process.SetGlobalDefaultThreader(before[1])
        process.SetGlobalDefaultNumberOfThreads(before[0])


def _register(baseline: ScanImages, followup: ScanImages, settings: RegistrationSettings):
    """:func:`register_to_baseline` without the check (threads fixed by the caller)."""
    record = settings.to_dict()
    driver, reason = choose_driver(baseline, followup, driver=settings.driver)
    if settings.metric == "auto":
        settings = dataclasses.replace(settings, metric=AUTO_METRIC[driver])
    if driver == "pet":
        settings = dataclasses.replace(settings, transform=settings.pet_transform)
    if driver == "pet":
        fixed_source, moving_source = baseline.pet_suv, followup.pet_suv
    else:
        fixed_source, moving_source = baseline.anatomy, followup.anatomy
    fixed = working_image(fixed_source, driver, settings.working_spacing_mm)
    moving = working_image(moving_source, driver, settings.working_spacing_mm)
    fixed_mask = body_mask(fixed, driver)
    moving_mask = body_mask(moving, driver)
    centre = _centroid_mm(fixed_mask)
    if settings.initial_alignment == "body_centre":
        initial = _centroid_mm(moving_mask) - centre
    elif settings.initial_alignment == "geometry":
        initial = _image_centre_mm(moving) - _image_centre_mm(fixed)
    else:
        initial = np.zeros(3)

    rigid = sitk.Euler3DTransform()
    rigid.SetCenter([float(c) for c in centre])
    rigid.SetTranslation([float(t) for t in initial])
    levels = _pyramid(fixed, moving, fixed_mask, settings)
    stages = {"rigid": _linear_stage(levels, fixed_mask, rigid, settings)}
    transform: sitk.Transform = rigid
    linear = rigid
    if settings.transform in ("affine", "bspline"):
        affine = sitk.AffineTransform(3)
        affine.SetCenter(rigid.GetCenter())
        affine.SetMatrix(rigid.GetMatrix())
        affine.SetTranslation(rigid.GetTranslation())
        stages["affine"] = _linear_stage(levels, fixed_mask, affine, settings)
        transform = linear = affine
    bspline_max = None
    if settings.transform == "bspline":
        bspline, stages["bspline"] = _bspline_stage(levels, fixed_mask, linear, settings)
        transform = sitk.CompositeTransform([linear, bspline])
        bspline_max = _max_displacement_mm(bspline, fixed_mask)
    del levels

    ncc_before, overlap_before = similarity(fixed, moving, fixed_mask, sitk.Transform())
    ncc_after, overlap_after = similarity(fixed, moving, fixed_mask, transform)
    translation = np.asarray(transform.TransformPoint([float(c) for c in centre])) - centre
    matrix = np.asarray(linear.GetMatrix()).reshape(3, 3)
    metrics = {
        "baseline": baseline.name,
        "followup": followup.name,
        "driver": driver,
        "driver_reason": reason,
        "transform": settings.transform,
        "metric": settings.metric,
        "final_metric_value": stages[settings.transform]["metric_value"],
        "stages": stages,
        "iterations": int(sum(stage["iterations"] for stage in stages.values())),
        "body_centre_mm": _rounded(centre),
        "initial_translation_mm": _rounded(initial),
        "translation_mm": _rounded(translation),
        "translation_norm_mm": round(float(np.linalg.norm(translation)), 4),
        "rotation_deg": _rounded(
            np.degrees([rigid.GetAngleX(), rigid.GetAngleY(), rigid.GetAngleZ()])
        ),
        "scale_factors": _rounded(np.linalg.svd(matrix, compute_uv=False), 6),
        "bspline_max_displacement_mm": bspline_max,
        "ncc_before": _finite(ncc_before),
        "ncc_after": _finite(ncc_after),
        "overlap_fraction_before": round(overlap_before, 6),
        "overlap_fraction_after": round(overlap_after, 6),
        "settings": record,
        "simpleitk_version": sitk.Version.VersionString(),
    }
    metrics["problems"] = registration_problems(metrics, settings)
    return RegistrationResult(transform=transform, metrics=metrics)


def _finite(value: float, digits: int = 6) -> float | None:
    """``value`` rounded, None for NaN (JSON has no NaN)."""
    return round(value, digits) if math.isfinite(value) else None


def _rounded(values, digits: int = 4) -> list[float]:
    return [round(float(v), digits) for v in values]


def _max_displacement_mm(bspline: sitk.Transform, fixed_mask: sitk.Image) -> float:
    """Largest displacement (mm) of the B-spline over the baseline body."""
    field_image = sitk.TransformToDisplacementField(
        bspline,
        sitk.sitkVectorFloat64,
        fixed_mask.GetSize(),
        fixed_mask.GetOrigin(),
        fixed_mask.GetSpacing(),
        fixed_mask.GetDirection(),
    )
    lengths = np.linalg.norm(sitk.GetArrayViewFromImage(field_image), axis=-1)
    body = sitk.GetArrayViewFromImage(fixed_mask) > 0
    return round(float(lengths[body].max()), 4) if body.any() else 0.0


def registration_problems(metrics: Mapping, settings: RegistrationSettings) -> list[str]:
    """Why a registration result is implausible (empty list: plausible).

    Checked: ``translation_norm_mm`` <= ``max_translation_mm``; every scale factor within
    [1 / (1 + ``max_scale_change``), 1 + ``max_scale_change``]; ``overlap_fraction_after``
    >= ``min_overlap_fraction``; ``ncc_after`` >= ``min_ncc`` and not below ``ncc_before``
    by more than :data:`NCC_DECREASE_TOLERANCE`.
    """
    problems = []
    key = CONFIG_SECTION
    if metrics["translation_norm_mm"] > settings.max_translation_mm:
        problems.append(
            f"translation {metrics['translation_norm_mm']:.1f} mm exceeds "
            f"{key}.max_translation_mm = {settings.max_translation_mm:g}"
        )
    high = 1.0 + settings.max_scale_change
    scales = metrics["scale_factors"]
    if min(scales) < 1.0 / high or max(scales) > high:
        problems.append(
            f"affine scale factors {scales} lie outside [{1 / high:.3f}, {high:.3f}] "
            f"({key}.max_scale_change = {settings.max_scale_change:g})"
        )
    overlap = metrics["overlap_fraction_after"]
    if not overlap >= settings.min_overlap_fraction:
        problems.append(
            f"only {100 * overlap:.0f} % of the baseline body lies in the follow-up's field of "
            f"view after registration ({key}.min_overlap_fraction = "
            f"{settings.min_overlap_fraction:g})"
        )
    ncc_before, ncc_after = metrics["ncc_before"], metrics["ncc_after"]
    if ncc_after is None:
        problems.append("the two bodies do not overlap after registration (no NCC)")
    elif not ncc_after >= settings.min_ncc:
        problems.append(
            f"{metrics['driver'].upper()} similarity after registration (NCC {ncc_after:.3f}) "
            f"is below {key}.min_ncc = {settings.min_ncc:g}"
        )
    elif ncc_before is not None and ncc_before - ncc_after > NCC_DECREASE_TOLERANCE:
        problems.append(
            f"registration lowered the {metrics['driver'].upper()} similarity (NCC "
            f"{ncc_before:.3f} before, {ncc_after:.3f} after)"
        )
    return problems


def check_registration(metrics: Mapping, settings: RegistrationSettings) -> None:
    """Raise :class:`InputError` if :func:`registration_problems` finds any.

    The message names both scans, the driver, every problem and what to check.
    """
    problems = registration_problems(metrics, settings)
    if not problems:
        return
    raise InputError(
        f"registration of {metrics['followup']} to {metrics['baseline']} "
        f"({metrics['driver'].upper()}-driven, {metrics['transform']}) looks implausible: "
        + "; ".join(problems)
        + ". Check that both scans are of the same patient and body region, that each "
        "scan's CT/MR belongs to its PET (anatomy/anatomy.json) and look at the registration "
        f"QC picture (draw it with check off); if the scans really differ this much, relax "
        f"the limits under {CONFIG_SECTION} in the config or try driver: pet"
    )


def write_transform(transform: sitk.Transform, path: str | os.PathLike) -> None:
    """Write ``transform`` atomically as an ITK transform file (``.tfm``, text)."""
    with atomic_path(path) as tmp:
        sitk.WriteTransform(transform, str(tmp))


def read_transform(path: str | os.PathLike) -> sitk.Transform:
    """Read a transform written by :func:`write_transform`."""
    try:
        return sitk.ReadTransform(str(path))
    except RuntimeError as error:
        raise InputError(f"cannot read the transform file {path}: {error}") from error


def labels_to_baseline(
    followup_labels: sitk.Image, transform: sitk.Transform, baseline_pet: sitk.Image
) -> sitk.Image:
    """Follow-up lesion labels on the baseline PET grid (nearest neighbour).

    Parameters
    ----------
    followup_labels : SimpleITK.Image
        Integer label map (lesion ids) on the follow-up PET grid.
    transform : SimpleITK.Transform
        Baseline points to follow-up points (:func:`register_to_baseline`).
    baseline_pet : SimpleITK.Image
        Grid of the result.

    Returns
    -------
    SimpleITK.Image
        Same pixel type and label ids as ``followup_labels``; 0 where the baseline grid
        maps outside the follow-up's field of view.
    """
    return sitk.Resample(
        followup_labels,
        baseline_pet,
        transform,
        sitk.sitkNearestNeighbor,
        0,
        followup_labels.GetPixelID(),
    )


def image_to_baseline(
    image: sitk.Image,
    transform: sitk.Transform,
    reference: sitk.Image,
    *,
    default_value: float = 0.0,
) -> sitk.Image:
    """A follow-up image (SUV, CT) on the grid of ``reference`` (linear interpolation).

    Parameters
    ----------
    image : SimpleITK.Image
        Follow-up image on any grid.
    transform : SimpleITK.Transform
        Baseline points to follow-up points.
    reference : SimpleITK.Image
        Baseline image whose grid the result takes.
    default_value : float
        Value outside the follow-up's field of view (0 for SUV, -1000 for CT).

    Returns
    -------
    SimpleITK.Image
        float32.
    """
    return sitk.Resample(
        image, reference, transform, sitk.sitkLinear, float(default_value), sitk.sitkFloat32
    )


__all__ = [
    "RegistrationResult",
    "RegistrationSettings",
    "ScanImages",
    "check_registration",
    "choose_driver",
    "image_to_baseline",
    "labels_to_baseline",
    "read_scan_images",
    "read_transform",
    "register_to_baseline",
    "registration_problems",
    "write_transform",
]
