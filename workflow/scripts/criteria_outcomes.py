"""Response criteria compared: response rate, PFS rates, log-rank, HR, concordance; swimmer
plot (Snakemake adapter)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))

from netpet.logs import log_to
from netpet.steps.response import criteria_outcomes_step

if __name__ == "__main__":
    with log_to(snakemake.log[0]):
        criteria_outcomes_step(
            criteria_path=snakemake.input.criteria,
            clinical_path=snakemake.input.clinical,
            patients_path=snakemake.input.patients,
            scan_times_path=snakemake.input.scan_times,
            timepoints=snakemake.params.timepoints,
            time_col=snakemake.params.time,
            event_col=snakemake.params.event,
            settings=dict(snakemake.params.settings),
            outcomes_out=snakemake.output.outcomes,
            km_out=snakemake.output.km,
            swimmer_out=snakemake.output.swimmer,
        )
