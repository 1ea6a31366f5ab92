"""One patient's lesion tracks, scan times, track plot and lesion MIPs (Snakemake adapter)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))

from netpet.logs import log_to
from netpet.steps.longitudinal import patient_tracks_step

if __name__ == "__main__":
    with log_to(snakemake.log[0]):
        patient_tracks_step(
            patient_id=snakemake.wildcards.patient,
            timepoints=snakemake.params.timepoints,
            label_paths=snakemake.input.labels,
            lesion_tables=snakemake.input.lesions,
            pet_suv_paths=snakemake.input.pet_suv,
            pet_slices_paths=snakemake.input.pet_slices,
            transform_paths=snakemake.params.transforms,
            settings=dict(snakemake.params.settings),
            suv_max=snakemake.params.suv_max,
            tracks_out=snakemake.output.tracks,
            scan_times_out=snakemake.output.scan_times,
            track_figure_out=snakemake.output.track_figure,
            mip_figure_out=snakemake.output.mip_figure,
        )
