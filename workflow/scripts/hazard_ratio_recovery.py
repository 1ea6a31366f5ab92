"""Estimated versus true hazard ratios of the synthetic cohort (Snakemake adapter)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))

from netpet.accuracy import hazard_ratio_recovery
from netpet.logs import log_to

if __name__ == "__main__":
    with log_to(snakemake.log[0]):
        hazard_ratio_recovery(
            patients_path=snakemake.input.patients,
            truth_dir=snakemake.input.truth,
            followup=snakemake.params.followup,
            out=snakemake.output[0],
        )
