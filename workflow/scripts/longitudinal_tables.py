"""The cohort's lesion tracks, response heterogeneity and scan times (Snakemake adapter)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))

from netpet.logs import log_to
from netpet.steps.longitudinal import longitudinal_tables_step

if __name__ == "__main__":
    with log_to(snakemake.log[0]):
        longitudinal_tables_step(
            track_tables=snakemake.input.tracks,
            scan_time_tables=snakemake.input.scan_times,
            scans=snakemake.params.scans,
            baseline=snakemake.params.baseline,
            tracks_out=snakemake.output.tracks,
            heterogeneity_out=snakemake.output.heterogeneity,
            scan_times_out=snakemake.output.scan_times,
        )
