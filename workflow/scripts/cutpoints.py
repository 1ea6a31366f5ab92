"""Cut-point search of every analysed column (Snakemake adapter)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))

from netpet.logs import log_to
from netpet.steps.study import cutpoints_step

if __name__ == "__main__":
    stats = snakemake.params.stats
    with log_to(snakemake.log[0]):
        cutpoints_step(
            patients_path=snakemake.input[0],
            columns=snakemake.params.columns,
            time_col=stats["time"],
            event_col=stats["event"],
            minprop=stats["minprop"],
            n_permutations=stats["n_permutations"],
            seed=stats["seed"],
            out=snakemake.output.cutpoints,
            curves_out=snakemake.output.curves,
        )
