"""Organ label numbers: TotalSegmentator v2 ``total`` task convention.

One place for these numbers: the synthetic cohort writes them, the organ stage reads them.
Pituitary is not in the ``total`` task; it uses the ``head_glands_cavities`` number offset
into a free range so one label map can hold it (documented in the README).
"""

SPLEEN = 1
KIDNEY_RIGHT = 2
KIDNEY_LEFT = 3
GALLBLADDER = 4
LIVER = 5
STOMACH = 6
PANCREAS = 7
ADRENAL_RIGHT = 8
ADRENAL_LEFT = 9
LUNG_UPPER_LEFT = 10
LUNG_LOWER_LEFT = 11
LUNG_UPPER_RIGHT = 12
LUNG_MIDDLE_RIGHT = 13
LUNG_LOWER_RIGHT = 14
THYROID = 17
SMALL_BOWEL = 18
DUODENUM = 19
COLON = 20
URINARY_BLADDER = 21
SACRUM = 25
# Vertebrae S1, L5 ... L1, T12 ... T1, C7 ... C1 are 26 ... 50 in TotalSegmentator v2.
_VERTEBRA_LEVELS = (
    ["S1"] + [f"L{i}" for i in range(5, 0, -1)] + [f"T{i}" for i in range(12, 0, -1)]
) + [f"C{i}" for i in range(7, 0, -1)]
VERTEBRAE = {f"vertebrae_{level}": 26 + i for i, level in enumerate(_VERTEBRA_LEVELS)}
VERTEBRAE_L1 = VERTEBRAE["vertebrae_L1"]
HEART = 51
AORTA = 52
# Not in the TotalSegmentator ``total`` task; a free number in its range.
PITUITARY = 200

NAMES: dict[int, str] = {
    SPLEEN: "spleen",
    KIDNEY_RIGHT: "kidney_right",
    KIDNEY_LEFT: "kidney_left",
    GALLBLADDER: "gallbladder",
    LIVER: "liver",
    STOMACH: "stomach",
    PANCREAS: "pancreas",
    ADRENAL_RIGHT: "adrenal_gland_right",
    ADRENAL_LEFT: "adrenal_gland_left",
    LUNG_UPPER_LEFT: "lung_upper_lobe_left",
    LUNG_LOWER_LEFT: "lung_lower_lobe_left",
    LUNG_UPPER_RIGHT: "lung_upper_lobe_right",
    LUNG_MIDDLE_RIGHT: "lung_middle_lobe_right",
    LUNG_LOWER_RIGHT: "lung_lower_lobe_right",
    THYROID: "thyroid_gland",
    SMALL_BOWEL: "small_bowel",
    DUODENUM: "duodenum",
    COLON: "colon",
    URINARY_BLADDER: "urinary_bladder",
    SACRUM: "sacrum",
    **{number: name for name, number in VERTEBRAE.items()},
    HEART: "heart",
    AORTA: "aorta",
    PITUITARY: "pituitary",
}

LUNGS = (LUNG_UPPER_LEFT, LUNG_LOWER_LEFT, LUNG_UPPER_RIGHT, LUNG_MIDDLE_RIGHT, LUNG_LOWER_RIGHT)
KIDNEYS = (KIDNEY_RIGHT, KIDNEY_LEFT)
ADRENALS = (ADRENAL_RIGHT, ADRENAL_LEFT)

# Organs with physiological somatostatin-receptor uptake, excluded from tumour segmentation
# by default (STUDY.md section 3.3). Pancreas is not excluded: primaries grow there.
PHYSIOLOGICAL_UPTAKE = (SPLEEN, *KIDNEYS, *ADRENALS, URINARY_BLADDER, PITUITARY)
