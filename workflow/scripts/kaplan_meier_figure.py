"""Kaplan-Meier curves of one dichotomised parameter (Snakemake adapter)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))

from netpet.logs import log_to
from netpet.steps.study import km_step

if __name__ == "__main__":
    stats = snakemake.params.stats
    with log_to(snakemake.log[0]):
        km_step(
            patients_path=snakemake.input.patients,
            cutpoints_path=snakemake.input.cutpoints,
            cox_univariate_path=snakemake.input.cox_univariate,
            column=snakemake.wildcards.column,
            time_col=stats["time"],
            event_col=stats["event"],
            time_origin=stats["time_origin"],
            confidence_band=snakemake.params.confidence_band,
            out=snakemake.output[0],
        )
