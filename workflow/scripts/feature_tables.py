"""Concatenate per-scan tables into cohort tables (Snakemake adapter)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))

from netpet.logs import log_to
from netpet.steps.scan import concatenate_tables

if __name__ == "__main__":
    with log_to(snakemake.log[0]):
        for name in snakemake.output.keys() or [None]:
            inputs = snakemake.input[name] if name else snakemake.input
            output = snakemake.output[name] if name else snakemake.output[0]
            concatenate_tables(list(inputs), output)
