"""The imaging chain: DICOM -> SUV -> organs -> tumour segmentation -> features.

``dicom`` (series, geometry, reading), ``suv`` (SUV factors), ``organs`` (organ maps on the
PET grid, liver reference), ``organ_checks`` (organ maps against their scan),
``totalsegmentator`` (organ maps made from the CT or MR), ``segment`` (tumour segmentation),
``features`` (PET parameters), ``radiomics`` (pyradiomics), ``seg_io`` (masks in and DICOM SEG
out), ``qc`` (the QC picture).
"""
