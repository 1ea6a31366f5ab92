"""Response by every criterion per patient and follow-up (Snakemake adapter)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))

from netpet.logs import log_to
from netpet.steps.response import criteria_step

if __name__ == "__main__":
    with log_to(snakemake.log[0]):
        criteria_step(
            scans_path=snakemake.input.scans,
            lesions_path=snakemake.input.lesions,
            clinical_path=snakemake.input.clinical,
            new_lesions_path=snakemake.input.heterogeneity,
            baseline=snakemake.params.baseline,
            followups=snakemake.params.followups,
            settings=dict(snakemake.params.settings),
            out=snakemake.output[0],
        )
