"""Synthetic [68Ga]Ga-DOTA-TOC PET/CT cohort with known ground truth (STUDY.md section 6).

``generate_cohort(out_dir, settings=config["synthetic"], workers=2)`` writes, under
``out_dir`` (``resources/synthetic/<name>/``):

``dicom/<patient>/<timepoint>/``
    A PET series (PET Image Storage, int16 with per-slice RescaleSlope) and a CT series (CT
    Image Storage) sharing StudyInstanceUID and FrameOfReferenceUID, one file per slice, in
    one of three layouts (``PT/`` + ``CT/`` subfolders; one folder with ``.dcm`` files; one
    folder with extension-less ``IM00001`` files).  Some folders hold a third, irrelevant
    series: a non-attenuation-corrected PET (CorrectedImage without ``ATTN``) or a CT
    localizer.  PET headers follow one of five variants (``siemens``; ``ge``: SeriesTime
    after the acquisition, per-bed AcquisitionTime, private scan datetime (0009,100D);
    ``philips``: Units CNTS with private SUV (7053,1000) and activity (7053,1009) factors;
    ``midnight``: injection before and scan after midnight; ``time_only``: only
    RadiopharmaceuticalStartTime, every second one before midnight; opt-in ``ge_jitter``:
    ``ge`` with GE Discovery ST slice positions, rounded to 0.01 mm with 3.19/3.29 mm steps
    at bed boundaries for 3.27 mm slices, the pixel data still the truth grid's slices).
    Decay correction START: stored Bq/mL = SUV x dose x 2^(-(scan start - injection) / T1/2)
    / weight in g.
``labels/<patient>/<timepoint>_organs.nii.gz``
    Organ label map on the CT grid, TotalSegmentator numbers (:mod:`netpet.labels`): liver,
    spleen, kidneys, adrenals, pancreas, stomach, small bowel (the mesenteric region holding
    the loops), colon, bladder, lung lobes, heart, aorta, vertebrae (those
    :mod:`netpet.labels` defines), thyroid and pituitary (when the neck and head are in
    view).
    Liver, pancreas, small-bowel and vertebral lesions keep their organ's label; nodal and
    peritoneal lesions are 0.
``samples.tsv``
    One row per scan: ``patient_id``, ``timepoint``, ``pet_dicom``, ``ct_dicom``,
    ``organ_labels`` (paths start with ``out_dir`` as given).
``clinical.tsv``
    One row per patient: ``patient_id``, ``sex``, ``age_years``, ``who_grade``, ``ki67``,
    ``primary_site``, ``pfs_months``, ``progression``, ``os_months``, ``death``.
``truth/lesions.tsv``
    One row per lesion and scan from its first appearance on: ``lesion_id`` (= its value in
    the truth label maps), ``site``, ``organ_label``, ``centre_x_mm``/``_y_mm``/``_z_mm``
    (LPS, that scan's coordinates), ``volume_ml``, ``n_voxels``, ``suvmean``, ``suvmax``,
    ``suvtotal``, ``shape`` (sphere/ellipsoid/lobulated), ``heterogeneous``, ``pattern``
    (uniform/necrotic/gradient), ``status`` (present/new/disappeared; split for a split
    child's first scan), ``response`` versus baseline by SUVtotal
    (baseline/decreasing/stable/increasing/new/disappearing; a split child takes its
    family's).  True extent = the PET voxels whose centres lie inside the analytic object
    (before the point-spread blur); volume_ml = voxel count x voxel volume; suvmean/suvmax =
    mean/max of the intended pre-blur SUV over those voxels.  A lesion keeps its
    ``lesion_id`` at every scan.  With ``split_probability`` > 0 two more columns:
    ``parent_lesion_id`` (the lesion a split child split from; empty for every other lesion)
    and ``family_response`` (the category of the family, parent plus children, by its summed
    SUVtotal versus the parent's baseline SUVtotal; equal to ``response`` for a lesion that
    never split).  Before its split a parent's extent also holds the child part and a bridge
    (:mod:`netpet.synthetic.lesions`).
``truth/scans.tsv``
    One row per scan: ``header_variant``, ``layout``, ``extra_series``, ``crosses_midnight``,
    ``days_from_basal``, ``uptake_s`` (scan start - injection), ``injected_dose_bq``,
    ``bqml_per_suv``, ``weight_kg``; ``wtv_ml`` (sum of lesion volumes), ``tre`` (sum of
    volume x SUVmean, mL x SUV), ``suvmax`` (max lesion SUVmax), ``suvmean`` (TRE / WTV),
    ``lesion_count``, ``liver_suvmean`` and ``spleen_suvmean`` (intended normal-organ SUV),
    the body shift versus baseline (``shift_*_mm``), PSF FWHM, noise, grid sizes.
``truth/patients.tsv``
    One row per patient: WHO grade, true ``dwtv_pct_<tp>``, ``dtre_pct_<tp>``,
    ``dsuvmax_pct_<tp>`` per follow-up (%), the true groups ``dwtv_high``/``dtre_high``
    (first follow-up, delta >= cut) and the ``linear_predictor`` of the PFS hazard model
    (see :mod:`netpet.synthetic.outcomes`; the configured HRs are its true values).
``truth/lesion_labels/<patient>/<timepoint>.nii.gz``
    uint16 label map of the true lesion extents on the PET grid (label = ``lesion_id``).
``truth/suv/<patient>/<timepoint>.nii.gz``
    Only with ``write_truth_suv: true``: the float32 SUV image that the PET DICOM encodes
    (after blur and noise, before int16 quantisation).  ``noise: false`` gives noise-free PET
    with otherwise identical draws.
``truth/identifiers.tsv``
    The fake DICOM identities (names, MRN, birth date, accession, institution, staff) per
    scan, so tests can check that none of them leaks into outputs.
``truth/settings.json``
    The complete settings used (the lesion-tracking events ``split_probability``,
    ``new_lesion_resolve_probability`` and ``distinct_body_shifts`` only when switched on).

Lesion-tracking events (off by default, streams of their own, so a cohort without them is
byte-identical to one made before they existed): ``split_probability`` (a baseline lesion
splits at a follow-up), ``new_lesion_resolve_probability`` (a new lesion is gone at the next
scan), ``distinct_body_shifts`` (every follow-up's body shift non-zero and its own).  Body
shifts are whole-PET-voxel translations only: a rotation would change each lesion's voxelised
extent between scans and break the exact, placement-independent truth.

Everything is deterministic: the same settings give byte-identical files whatever
``workers`` is.
"""

from netpet.synthetic.cohort import CLINICAL_COLUMNS, draw_cohort, scan_index
from netpet.synthetic.generate import generate_cohort, generate_patient
from netpet.synthetic.presets import PRESETS, default_settings, resolve_settings
from netpet.synthetic.render import pet_image

__all__ = [
    "CLINICAL_COLUMNS",
    "PRESETS",
    "default_settings",
    "draw_cohort",
    "generate_cohort",
    "generate_patient",
    "pet_image",
    "resolve_settings",
    "scan_index",
]
