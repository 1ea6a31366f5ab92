"""Response categories of the lesion tracks per follow-up (Snakemake adapter)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))

from netpet.logs import log_to
from netpet.steps.longitudinal import lesion_response_figure_step

if __name__ == "__main__":
    with log_to(snakemake.log[0]):
        lesion_response_figure_step(
            heterogeneity_path=snakemake.input[0],
            timepoints=snakemake.params.timepoints,
            out=snakemake.output[0],
        )
