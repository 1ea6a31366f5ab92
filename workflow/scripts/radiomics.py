"""pyradiomics features of one scan (Snakemake adapter)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))

from netpet.logs import log_to
from netpet.steps.scan import radiomics_step

if __name__ == "__main__":
    with log_to(snakemake.log[0]):
        radiomics_step(
            patient_id=snakemake.wildcards.patient,
            timepoint=snakemake.wildcards.timepoint,
            pet_suv_path=snakemake.input.pet_suv,
            labels_path=snakemake.input.labels,
            params_path=snakemake.input.params,
            min_volume_ml=snakemake.params.min_volume_ml,
            per_lesion=snakemake.params.per_lesion,
            out=snakemake.output[0],
        )
