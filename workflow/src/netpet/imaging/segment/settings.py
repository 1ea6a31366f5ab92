"""Tumour segmentation settings: a typed view of the config's validated ``segmentation`` section.

The config schema (``workflow/schemas/config.schema.yaml``, ``segmentation``) is the one place
of every default and bound; :func:`netpet.config.validate_config` fills the defaults and
rejects values out of bounds.  :class:`SegmentationSettings` only gives the validated values
names and types, and checks what the schema cannot say.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from netpet.errors import InputError

# The methods of :func:`netpet.imaging.segment.segment_tumours`; the config's fourth,
# ``import``, reads masks of other tools instead (:mod:`netpet.imaging.segment.imported`).
METHODS = ("percent_max", "fixed", "liver")
# Voxels joined when they share a face (6), also an edge (18), also a corner (26): the
# connectivity of scipy's 3-D structuring element.
_CONNECTIVITY_RANK = {6: 1, 18: 2, 26: 3}


@dataclass(frozen=True)
class SegmentationSettings:
    """Tumour segmentation settings (config ``segmentation``; defaults in the config schema).

    Build them with :meth:`from_config` from the config validated by
    :func:`netpet.config.validate_config`.

    Attributes
    ----------
    method : {"percent_max", "fixed", "liver"}
    percent : float
        ``percent_max``: threshold as percent of (reference uptake - background).
    reference : {"peak", "max"}
        ``percent_max``: reference uptake of a lesion (:mod:`netpet.imaging.segment`).
    background : {"organ", "liver", "none"}
        ``percent_max``: background ``b`` subtracted from the reference uptake: ``organ``
        the median SUV of the tissue the seed lies in
        (:func:`~netpet.imaging.segment.percent_max.tissue_statistics`; liver: the liver
        reference SUVmean); ``liver`` the liver SUVmean for seeds in the liver, 0 elsewhere;
        ``none`` 0.
    seed_threshold_suv : float
        ``percent_max``: minimum SUV of a seed (absolute floor, everywhere).
    threshold_suv : float
        ``fixed``: SUV threshold.
    liver_factor, liver_sd_count : float
        Liver threshold = ``liver_factor`` x liver SUVmean + ``liver_sd_count`` x liver SD
        (``liver`` method; seeds inside the liver for ``percent_max``). 1.5 and 2:
        PERCIST's measurability threshold; (1, 3) gives "mean + 3 SD", (1.5, 0) "1.5 x mean".
    liver_seed_sd_count : float or None
        ``percent_max``: seeds inside the liver need the smoothed image (see
        ``growth_floor_smoothing_mm``) >= median + this x robust SD of the smoothed liver
        label (:func:`netpet.imaging.grid.robust_statistics`).  None: the liver threshold
        (:func:`~netpet.imaging.segment.thresholds.liver_threshold`) on the unsmoothed SUV
        instead (the behaviour before).  3.5: on the synthetic cohorts no noise maximum of
        the smoothed liver reached 3.7 robust SD, while follow-up metastases of SUV 10 in
        livers of SUV 7-10 reach 3-5.
    liver_growth_sd_count : float
        ``percent_max``: growth floor in the liver = SUVmean + this x SD of the liver
        reference (both measured on the floor image, see ``growth_floor_smoothing_mm``).
        3 (2 let noise percolate from a lesion into the liver).
    organ_growth_sd_count : float or None
        ``percent_max``: growth floor in every other tissue = its median + this x its upper
        robust SD (:func:`~netpet.imaging.segment.percent_max.tissue_statistics`), capped at
        ``seed_threshold_suv``; None: no floor outside the liver (the behaviour before
        floors).  4 (3 let small lesions beside hot bowel loops, above the organ's 90th
        percentile, grow into them).
    growth_floor_dilation_mm : float
        ``percent_max``: each tissue's floor also holds within this distance around it (the
        highest floor wins): activity spills into unlabelled neighbours.  Around excluded
        organs a floor of ``percent`` % of their median SUV holds within
        ``exclude_dilation_mm`` + this.
    growth_floor_smoothing_mm : float
        ``percent_max``: FWHM (mm) of the Gaussian smoothing of the image on which floors are
        tested (thresholds ``T`` are always tested on the unsmoothed SUV); 0 = none.
        6 mm: noise no longer percolates above a floor and a large lesion of low contrast
        stays whole.
    exclude_labels : tuple of int
        Organ labels (:mod:`netpet.labels`) never counted as tumour.
    exclude_dilation_mm : float
        Dilation of the excluded organs, mm (PSF spill-over, CT/PET misregistration).
    min_volume_ml : float
        Smallest lesion kept, mL.
    connectivity : {6, 18, 26}
        Voxel neighbourhood that joins voxels into one lesion.
    """

    method: str
    percent: float
    background: str
    reference: str
    seed_threshold_suv: float
    threshold_suv: float
    liver_factor: float
    liver_sd_count: float
    liver_growth_sd_count: float
    liver_seed_sd_count: float | None
    organ_growth_sd_count: float | None
    growth_floor_dilation_mm: float
    growth_floor_smoothing_mm: float
    exclude_labels: tuple[int, ...]
    exclude_dilation_mm: float
    min_volume_ml: float
    connectivity: int

    def __post_init__(self) -> None:
        # The schema also allows method "import", which segment_tumours does not do.
        if self.method not in METHODS:
            raise InputError(
                f"segmentation settings: method {self.method!r} is not one of {METHODS}"
            )
        object.__setattr__(self, "exclude_labels", tuple(int(x) for x in self.exclude_labels))

    @classmethod
    def from_config(cls, section: Mapping) -> SegmentationSettings:
        """Settings from the config's ``segmentation`` section, validated with defaults filled.

        Parameters
        ----------
        section : mapping
            ``validate_config(config)["segmentation"]`` (:func:`netpet.config.validate_config`
            fills the schema's defaults and checks every bound).  Its keys that are not
            settings of the segmentation itself (``export_dicom_seg``, ``dicom_seg_type``)
            are left to the steps that use them.

        Raises
        ------
        InputError
            A setting is missing: the mapping was not validated.
        """
        names = [f.name for f in dataclasses.fields(cls)]
        missing = [name for name in names if name not in section]
        if missing:
            raise InputError(
                f"segmentation settings: missing key(s) {missing}; build them from the config "
                "validated by netpet.config.validate_config, which fills the schema's defaults"
            )
        return cls(**{name: section[name] for name in names})

    def structure(self) -> np.ndarray:
        """Boolean 3x3x3 structuring element of :attr:`connectivity` (6, 18 or 26)."""
        return ndimage.generate_binary_structure(3, _CONNECTIVITY_RANK[self.connectivity])

    def to_dict(self) -> dict:
        """Plain mapping of every setting (recorded in outputs)."""
        out = dataclasses.asdict(self)
        out["exclude_labels"] = list(self.exclude_labels)
        return out
