"""The patient table (Snakemake adapter)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))

from netpet.logs import log_to
from netpet.steps.study import patients_step

if __name__ == "__main__":
    with log_to(snakemake.log[0]):
        patients_step(
            scans_path=snakemake.input.scans,
            clinical_path=snakemake.input.clinical,
            baseline=snakemake.params.baseline,
            followups=snakemake.params.followups,
            parameters=snakemake.params.parameters,
            time_col=snakemake.params.time,
            event_col=snakemake.params.event,
            heterogeneity_path=snakemake.input.heterogeneity,
            out=snakemake.output[0],
        )
