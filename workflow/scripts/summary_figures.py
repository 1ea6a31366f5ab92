"""Forest, waterfall and cut-point figures (Snakemake adapter)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))

from netpet.logs import log_to
from netpet.steps.study import summary_figures_step

if __name__ == "__main__":
    stats = snakemake.params.stats
    with log_to(snakemake.log[0]):
        summary_figures_step(
            patients_path=snakemake.input.patients,
            cutpoints_path=snakemake.input.cutpoints,
            curves_path=snakemake.input.curves,
            cox_univariate_path=snakemake.input.cox_univariate,
            cox_adjusted_path=snakemake.input.cox_adjusted,
            columns=snakemake.params.columns,
            event_col=stats["event"],
            corrected_p=stats["corrected_p"],
            minprop=stats["minprop"],
            clip_pct=snakemake.params.clip_pct,
            forest_out=snakemake.output.forest,
            waterfall_out=snakemake.output.waterfall,
            cutpoints_out=snakemake.output.cutpoints,
        )
