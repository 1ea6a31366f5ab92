"""Accuracy of lesion tracks, response categories, heterogeneity and response criteria.

Generates the three-time-point synthetic cohort of ``config/longitudinal.yaml`` for two seeds
(6 patients each instead of 12, to keep the run short), runs the per-scan chain, the
registration of every follow-up, the tracks and their scoring against the truth
(``benchmarks/tracks.py``), and asserts the issue's targets where they are met and the
measured level where they are not, so that a regression fails.  Everything is seeded: the
same code gives the same numbers.

Measured when this test was written (two 6-patient cohorts, pooled; ``benchmarks/tracks.py
--patients 6``): continuity 0.978 (n 91), new / split / disappeared recall 1.0 (9, 7, 3),
new precision 0.913 (23), disappeared precision 0.647 (17), category agreement 0.865 of
lesions >= 1 mL (170) and 0.842 of all (228), heterogeneity agreement 0.917 (24); no false
new or disappeared call caused by the tracks.  The 12-patient cohorts of the benchmark
(README, validation section) give lower heterogeneity agreement (0.75): there the targets
for categories and heterogeneity are not met (see the comments below).  Run time: 2.7 min
of CPU; 4.0 min wall on 2 cores shared with other jobs (load about 5), about 1.5-2 min on two
idle cores.
"""

import pytest
from workflow_runs import load_benchmark

from netpet.longitudinal.accuracy import TARGETS

SEEDS = (20240607, 20240608)
N_PATIENTS = 6

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    bench = load_benchmark("tracks")
    base = tmp_path_factory.mktemp("tracks")
    results = {
        seed: bench.run_seed(seed, base / str(seed), n_patients=N_PATIENTS, workers=2)
        for seed in SEEDS
    }
    per_seed = {seed: r["metrics"].set_index("metric") for seed, r in results.items()}
    pooled = bench.pool_metrics([r["metrics"] for r in results.values()]).set_index("metric")
    return per_seed, pooled


def test_tracks_are_continuous_and_events_found(measured):
    per_seed, pooled = measured
    target = TARGETS["track_continuity_ge_1ml"]
    for seed, metrics in per_seed.items():
        assert metrics.loc["track_continuity_ge_1ml", "value"] >= target, seed
        assert metrics.loc["track_continuity_ge_1ml", "n"] >= 30, seed
    # measured 0.978 (89 of 91; one split whose pieces tie in shared voxels)
    assert pooled.loc["track_continuity_ge_1ml", "value"] >= 0.97
    assert pooled.loc["true_tracks_broken_ge_1ml", "value"] <= 1
    for name in ("new_recall_ge_1ml", "split_recall_ge_1ml", "disappeared_recall_ge_1ml"):
        assert pooled.loc[name, "value"] >= TARGETS[name], name  # measured 1.0
        assert pooled.loc[name, "n"] >= 3, name


def test_no_false_event_is_the_tracks_fault(measured):
    _, pooled = measured
    # Every false new / disappeared call comes from the segmentation: a false positive, or
    # a true lesion below detection at the scan before (new) or now (disappeared).
    assert pooled.loc["new_false_tracking", "value"] == 0
    assert pooled.loc["disappeared_false_tracking", "value"] == 0
    # Precision: measured 0.913 (new, target 0.80 met) and 0.647 (disappeared).  Target 0.80
    # for disappearances not met: 5 of 6 false ones are lesions that shrank or faded below
    # detection (a decreasing lesion measured as gone), 1 a segmentation false positive.
    assert pooled.loc["new_precision", "value"] >= 0.85
    assert pooled.loc["disappeared_precision", "value"] >= 0.6


def test_categories_and_heterogeneity_at_their_measured_level(measured):
    _, pooled = measured
    # Target 0.90, not met: measured 0.865 of lesions >= 1 mL (0.867 on the benchmark's
    # two 12-patient cohorts).  The disagreements are true changes near the +-30 % limits,
    # SUVtotal of small lesions off by partial volume and segmentation extent, and lesions
    # that shrank below detection (measured disappearing, truly decreasing); none is a
    # tracking error (benchmarks/tracks.py lists the reason of each).
    assert pooled.loc["category_agreement_ge_1ml", "value"] >= 0.85
    assert pooled.loc["category_agreement_ge_1ml", "n"] >= 150
    assert pooled.loc["category_agreement", "value"] >= 0.82  # all lesions: measured 0.842
    # Target 0.90: measured 0.917 here, but 0.75 on the benchmark's 12-patient cohorts
    # (single false-positive regions and missed small lesions flip a patient's flag), so
    # only the level is held: one flag of 24 may change.
    assert pooled.loc["heterogeneity_agreement", "value"] >= 0.875


def test_response_criteria_agree_with_the_truth(measured):
    _, pooled = measured
    # No target in the issue: the measured agreement (24 patient follow-ups), less one row.
    # PERCIST's truth runs on the true SUVmax (the truth has no SUVpeak).
    floors = {
        "percist": 0.75,  # measured 0.792
        "eortc": 0.79,  # 0.833
        "sst_tv": 0.75,  # 0.792
        "early_sst_tv_reduction": 0.91,  # 0.958
        "sstr_density": 0.83,  # 0.875
    }
    for criterion, floor in floors.items():
        row = pooled.loc[f"criteria_agreement_{criterion}"]
        assert row["n"] == 2 * N_PATIENTS * 2, criterion  # 2 follow-ups per patient
        assert row["value"] >= floor, criterion
