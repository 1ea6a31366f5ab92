"""netpet: somatostatin-receptor PET/CT response analysis for NET patients treated with PRRT.

The package holds all the science of the workflow; Snakemake rules and scripts only call it.
Stages, in the order of the study: :mod:`netpet.synthetic` (reference cohort),
:mod:`netpet.imaging` (DICOM, SUV, organs, segmentation, features), :mod:`netpet.steps` (what
the workflow's scripts call), :mod:`netpet.stats`, :mod:`netpet.figures` and
:mod:`netpet.report`.
"""

__version__ = "0.1.0"
