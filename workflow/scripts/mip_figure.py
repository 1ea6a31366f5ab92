"""MIPs of one patient's PET at every time point (Snakemake adapter)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))

from netpet.logs import log_to
from netpet.steps.study import mip_step

if __name__ == "__main__":
    with log_to(snakemake.log[0]):
        mip_step(
            patient_id=snakemake.wildcards.patient,
            timepoints=snakemake.params.timepoints,
            pet_suv_paths=list(snakemake.input.pet_suv),
            lesion_paths=list(snakemake.input.lesions),
            suv_provenance_paths=list(snakemake.input.suv_provenance),
            suv_max=snakemake.params.suv_max,
            out=snakemake.output[0],
        )
