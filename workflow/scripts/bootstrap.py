"""Bootstrap validation of the cut-point procedure (Snakemake adapter)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))

from netpet.logs import log_to
from netpet.steps.study import bootstrap_step

if __name__ == "__main__":
    stats = snakemake.params.stats
    with log_to(snakemake.log[0]):
        bootstrap_step(
            patients_path=snakemake.input[0],
            columns=snakemake.params.columns,
            time_col=stats["time"],
            event_col=stats["event"],
            minprop=stats["minprop"],
            n_resamples=stats["bootstrap_resamples"],
            seed=stats["seed"],
            out=snakemake.output.summary,
            frequencies_out=snakemake.output.frequencies,
        )
