"""Accuracy of the lesion tracks against the synthetic truth (Snakemake adapter)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))

from netpet.logs import log_to
from netpet.steps.longitudinal import track_accuracy_step

if __name__ == "__main__":
    with log_to(snakemake.log[0]):
        track_accuracy_step(
            tracks_path=snakemake.input.tracks,
            truth_dir=snakemake.input.truth,
            scans=snakemake.params.scans,
            seg_paths=snakemake.params.segmentations,
            timepoints=snakemake.params.timepoints,
            out=snakemake.output[0],
        )
