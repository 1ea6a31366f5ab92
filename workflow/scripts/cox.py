"""Cox models, univariate or adjusted (Snakemake adapter)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))

from netpet.logs import log_to
from netpet.steps.study import cox_step

if __name__ == "__main__":
    stats = snakemake.params.stats
    with log_to(snakemake.log[0]):
        cox_step(
            patients_path=snakemake.input.patients,
            cutpoints_path=snakemake.input.cutpoints,
            columns=snakemake.params.columns,
            time_col=stats["time"],
            event_col=stats["event"],
            adjust_for=snakemake.params.adjust_for,
            out=snakemake.output[0],
        )
