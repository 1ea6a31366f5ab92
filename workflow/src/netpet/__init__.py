"""netpet: somatostatin-receptor PET/CT response analysis for NET patients treated with PRRT.

The package holds all the science of the workflow; Snakemake rules and scripts only call it.
Stages, in the order of the study: :mod:`netpet.synthetic` (reference cohort),
:mod:`netpet.dicom` and :mod:`netpet.suv` (images), :mod:`netpet.organs`,
:mod:`netpet.segment`, :mod:`netpet.features`, :mod:`netpet.stats` and the figures/tables.
"""

__version__ = "0.1.0"
