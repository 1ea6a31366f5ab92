"""pyradiomics features of the whole tumour and of each lesion (STUDY.md section 3.5).

The parameter file (``config/radiomics_pet.yaml``) is validated before any image is touched:
against pyradiomics' own schema (pykwalify) and against netpet's requirements for PET
(:data:`REQUIRED_SETTINGS`; a fixed SUV bin width, never a bin count).  Feature definitions
are pyradiomics 3.0.1's (https://pyradiomics.readthedocs.io), which document where they
differ from the IBSI standard; note the fixed-bin-width discretisation uses bin edges at
multiples of ``binWidth`` from 0 SUV.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk
import yaml

from netpet.errors import InputError
from netpet.imaging.grid import check_same_grid, voxel_volume_ml

# Settings netpet needs in the ``setting`` section of the parameter file.
REQUIRED_SETTINGS = ("binWidth", "resampledPixelSpacing", "interpolator")
# Columns in front of the feature columns.
ID_COLUMNS = ("mask", "lesion_id", "volume_ml", "error")
WHOLE_TUMOUR = "whole_tumour"
LESION = "lesion"


def _quiet_pyradiomics() -> None:
    """pyradiomics logs every step at INFO: keep only warnings and errors."""
    import radiomics

    radiomics.setVerbosity(logging.WARNING)
    logger = logging.getLogger("radiomics")
    logger.setLevel(logging.WARNING)
    # Records of child loggers (radiomics.glcm) bypass parent filters: filter the handler.
    handler = radiomics.handler
    if not any(isinstance(f, _DropGlcmNote) for f in handler.filters):
        handler.addFilter(_DropGlcmNote())


class _DropGlcmNote(logging.Filter):
    """Drop pyradiomics' per-mask note that symmetric GLCMs make SumAverage redundant."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "GLCM is symmetrical" not in record.getMessage()


def load_radiomics_params(path: str | os.PathLike) -> dict:
    """Read and validate a pyradiomics parameter file for PET.

    Checks, each failure an :class:`InputError` naming the file and key: YAML syntax; a
    mapping with a ``setting`` section holding :data:`REQUIRED_SETTINGS`; ``binWidth`` > 0 and
    no ``binCount`` (PET needs a fixed SUV bin width); ``resampledPixelSpacing`` three
    positive numbers; then pyradiomics' own schema validation.

    Returns
    -------
    dict
        The parsed parameters.
    """
    path = Path(path)
    try:
        params = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise InputError(f"{path}: cannot read the radiomics parameter file ({error})") from error
    if not isinstance(params, dict) or not isinstance(params.get("setting"), dict):
        raise InputError(f"{path}: needs a 'setting' mapping (pyradiomics parameter file)")
    setting = params["setting"]
    for key in REQUIRED_SETTINGS:
        if key not in setting:
            raise InputError(f"{path}: setting.{key} is required (see config/radiomics_pet.yaml)")
    if "binCount" in setting:
        raise InputError(
            f"{path}: setting.binCount is not allowed for PET; use a fixed setting.binWidth in SUV"
        )
    if not isinstance(setting["binWidth"], int | float) or setting["binWidth"] <= 0:
        raise InputError(f"{path}: setting.binWidth must be a positive number of SUV")
    spacing = setting["resampledPixelSpacing"]
    if (
        not isinstance(spacing, list)
        or len(spacing) != 3
        or not all(isinstance(s, int | float) and s > 0 for s in spacing)
    ):
        raise InputError(f"{path}: setting.resampledPixelSpacing must be 3 positive numbers (mm)")
    _extractor(path)  # pyradiomics' schema validation
    return params


def _extractor(path: Path):
    """pyradiomics feature extractor from a parameter file (raises InputError if invalid)."""
    _quiet_pyradiomics()
    from radiomics.featureextractor import RadiomicsFeatureExtractor

    try:
        with warnings.catch_warnings():
            # pykwalify (pyradiomics' validator) loads its extension with a deprecated call.
            warnings.filterwarnings("ignore", "the load_module", DeprecationWarning)
            return RadiomicsFeatureExtractor(str(path))
    except Exception as error:  # pykwalify SchemaError and friends
        raise InputError(f"{path}: invalid pyradiomics parameters: {error}") from error


def radiomics_table(
    suv: sitk.Image,
    labels: sitk.Image,
    params_path: str | os.PathLike,
    *,
    min_volume_ml: float = 1.0,
    per_lesion: bool = True,
) -> pd.DataFrame:
    """pyradiomics features of the whole-tumour mask and of each large enough lesion.

    Parameters
    ----------
    suv : SimpleITK.Image
        SUV image.
    labels : SimpleITK.Image
        Lesion label map on the SUV grid (0 = background).
    params_path : path-like
        Parameter file (validated by :func:`load_radiomics_params`).
    min_volume_ml : float, keyword-only
        Lesions smaller than this get no row (texture of a few voxels is noise).
    per_lesion : bool, keyword-only
        Also compute one row per lesion.

    Returns
    -------
    pandas.DataFrame
        One row per mask: ``mask`` (``"whole_tumour"`` or ``"lesion"``), ``lesion_id`` (0 for
        the whole tumour), ``volume_ml`` (on the PET grid), ``error`` (empty, or why
        pyradiomics refused the mask; features are then NaN), then one column per feature
        (``original_<class>_<feature>``, sorted). No row when there is no tumour.
    """
    params_path = Path(params_path)
    load_radiomics_params(params_path)
    extractor = _extractor(params_path)
    # The diagnostics (hashes and statistics of the whole image, per mask) are not kept.
    extractor.settings["additionalInfo"] = False
    check_same_grid(labels, suv, what="lesion label map")
    lesion_zyx = sitk.GetArrayViewFromImage(labels)
    voxel_ml = voxel_volume_ml(suv)
    image = sitk.Cast(suv, sitk.sitkFloat32)

    masks = []
    tumour = lesion_zyx > 0
    if tumour.any():
        masks.append((WHOLE_TUMOUR, 0, tumour))
    if per_lesion:
        ids, counts = np.unique(lesion_zyx[tumour], return_counts=True)
        for lesion_id, count in zip(ids, counts, strict=True):
            if count * voxel_ml >= min_volume_ml - 1e-9:
                masks.append((LESION, int(lesion_id), lesion_zyx == lesion_id))

    rows = []
    for kind, lesion_id, mask in masks:
        mask_image = sitk.GetImageFromArray(mask.astype(np.uint8))
        mask_image.CopyInformation(suv)
        row = {
            "mask": kind,
            "lesion_id": lesion_id,
            "volume_ml": float(mask.sum()) * voxel_ml,
            "error": "",
        }
        try:
            result = extractor.execute(image, mask_image, label=1)
        except ValueError as error:  # e.g. mask too small after resampling
            row["error"] = str(error).replace("\n", " ")[:200]
        else:
            row.update(
                {
                    key: float(value)
                    for key, value in result.items()
                    if not key.startswith("diagnostics_")
                }
            )
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return pd.DataFrame(columns=list(ID_COLUMNS))
    features = sorted(c for c in table.columns if c not in ID_COLUMNS)
    return table[list(ID_COLUMNS) + features]
