"""Tables 1-4 and S1 (Snakemake adapter)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))

from netpet.logs import log_to
from netpet.steps.study import tables_step

if __name__ == "__main__":
    stats = snakemake.params.stats
    with log_to(snakemake.log[0]):
        tables_step(
            patients_path=snakemake.input.patients,
            cutpoints_path=snakemake.input.cutpoints,
            cox_univariate_path=snakemake.input.cox_univariate,
            cox_adjusted_path=snakemake.input.cox_adjusted,
            bootstrap_path=snakemake.input.bootstrap,
            scans_path=snakemake.input.scans,
            baseline=snakemake.params.baseline,
            followups=snakemake.params.followups,
            parameters=stats["parameters"],
            time_col=stats["time"],
            event_col=stats["event"],
            corrected_p=stats["corrected_p"],
            formats=snakemake.params.formats,
            stems=snakemake.params.stems,
        )
