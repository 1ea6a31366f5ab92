"""Generate the synthetic PET/CT cohort and its ground truth (Snakemake adapter)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))

from netpet.logs import log_to
from netpet.synthetic import generate_cohort

if __name__ == "__main__":
    with log_to(snakemake.log[0]):
        generate_cohort(
            snakemake.params.out_dir,
            settings=dict(snakemake.params.settings),
            workers=snakemake.threads,
        )
