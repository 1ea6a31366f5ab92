"""The per-patient job (netpet.steps.patient): which step gets which files, in which order.

The steps themselves are tested in their own files and end to end in
tests/integration/test_workflow.py; here they are stand-ins that record their calls and
write small tables, so the joining of the scans' tables and the baseline logic can be
checked by hand.
"""

import pandas as pd
import pytest

from netpet.steps import patient as patient_module


def _outputs(root, *, radiomics=True, dicom_seg=True):
    outputs = {
        "images_dir": root / "images/P1",
        "organs_dir": root / "organs/P1",
        "segmentation_dir": root / "segmentation/P1",
        "qc_dir": root / "qc/P1",
        "registration_dir": root / "registration/P1",
        "pet_slices_dir": root / "private/pet_slices/P1",
        "lesions": root / "features/P1_lesions.tsv",
        "scans": root / "features/P1_scans.tsv",
        "tracks": root / "longitudinal/P1_tracks.tsv",
        "scan_times": root / "longitudinal/P1_scan_times.tsv",
        "track_figure": root / "figures/tracks/P1.png",
        "mip_figure": root / "figures/lesion_mip/P1.png",
        "not_an_output_name": root / "ignored",
    }
    if radiomics:
        outputs["radiomics"] = root / "features/P1_radiomics.tsv"
    if dicom_seg:
        outputs["uid_map_dir"] = root / "private/uid_map/P1"
    return outputs


@pytest.fixture
def calls(monkeypatch):
    """Stand-ins for the steps: each records its call and writes what it must."""
    import netpet.steps.ingest as ingest
    import netpet.steps.longitudinal as longitudinal
    import netpet.steps.scan as scan

    calls = []

    def ingest_scan(**kw):
        calls.append(("conversion", kw["timepoint"], kw))

    def scan_analysis(**kw):
        calls.append(("analysis", kw["timepoint"], kw))
        out = kw["outputs"]
        n_lesions = {"basal": 2, "interim": 0, "eot": 1}[kw["timepoint"]]
        lesions = pd.DataFrame(
            {
                "patient_id": ["P1"] * n_lesions,
                "timepoint": [kw["timepoint"]] * n_lesions,
                "lesion_id": list(range(1, n_lesions + 1)),
            },
            columns=["patient_id", "timepoint", "lesion_id"],
        )
        lesions.to_csv(out["lesions"], sep="\t", index=False)
        pd.DataFrame([{"patient_id": "P1", "timepoint": kw["timepoint"]}]).to_csv(
            out["scan"], sep="\t", index=False
        )
        if "radiomics" in out:
            pd.DataFrame([{"patient_id": "P1", "timepoint": kw["timepoint"]}]).to_csv(
                out["radiomics"], sep="\t", index=False
            )

    def register_step(**kw):
        calls.append(("registration", kw["timepoint"], kw))

    def patient_tracks_step(**kw):
        calls.append(("tracks", None, kw))

    monkeypatch.setattr(ingest, "ingest_scan", ingest_scan)
    monkeypatch.setattr(scan, "scan_analysis", scan_analysis)
    monkeypatch.setattr(longitudinal, "register_step", register_step)
    monkeypatch.setattr(longitudinal, "patient_tracks_step", patient_tracks_step)
    return calls


SETTINGS = {
    "suv_type": "bw",
    "max_uptake_half_lives": 6.0,
    "liver_reference_settings": {},
    "organ_checks": {},
    "segmentation_settings": {},
    "radiomics_settings": {},
    "krenning_settings": {},
    "qc_suv_max": 10.0,
    "registration_settings": {},
    "track_settings": {},
}


def _scan(timepoint):
    return {"timepoint": timepoint, "pet_dicom": f"dicom/P1/{timepoint}", "anatomy_modality": "ct"}


def test_each_scan_is_converted_then_analysed_and_the_followups_registered_and_tracked(
    tmp_path, calls
):
    outputs = _outputs(tmp_path)
    patient_module.patient_step(
        patient_id="P1",
        scans=[_scan("basal"), _scan("interim"), _scan("eot")],
        baseline="basal",
        outputs=outputs,
        **SETTINGS,
    )
    order = [(step, timepoint) for step, timepoint, _ in calls]
    assert order == [
        ("conversion", "basal"),
        ("analysis", "basal"),
        ("conversion", "interim"),
        ("analysis", "interim"),
        ("conversion", "eot"),
        ("analysis", "eot"),
        ("registration", "interim"),
        ("registration", "eot"),
        ("tracks", None),
    ]
    conversion = calls[2][2]
    assert conversion["pet_suv_path"] == f"{outputs['images_dir']}/interim/pet_suv.nii.gz"
    assert conversion["pet_slices_path"] == f"{outputs['pet_slices_dir']}/interim.json"
    analysis = calls[3][2]["outputs"]
    assert analysis["labels"] == f"{outputs['segmentation_dir']}/interim/lesions.nii.gz"
    assert analysis["qc"] == f"{outputs['qc_dir']}/interim.png"
    assert analysis["uid_map"] == f"{outputs['uid_map_dir']}/interim.tsv"
    registration = calls[7][2]
    assert registration["baseline_images_dir"].name == "basal"
    assert registration["followup_lesions_path"].endswith("segmentation/P1/eot/lesions.nii.gz")
    tracks = calls[8][2]
    assert tracks["timepoints"] == ["basal", "interim", "eot"]
    assert tracks["label_paths"] == [
        f"{outputs['segmentation_dir']}/basal/lesions.nii.gz",
        f"{outputs['registration_dir']}/interim/lesions_in_baseline.nii.gz",
        f"{outputs['registration_dir']}/eot/lesions_in_baseline.nii.gz",
    ]
    # The patient's lesion table: its scans' lesions in time order (the empty interim table
    # adds no row); scans and radiomics one row per scan.
    lesions = pd.read_csv(outputs["lesions"], sep="\t")
    assert list(zip(lesions["timepoint"], lesions["lesion_id"], strict=True)) == [
        ("basal", 1),
        ("basal", 2),
        ("eot", 1),
    ]
    assert list(pd.read_csv(outputs["scans"], sep="\t")["timepoint"]) == ["basal", "interim", "eot"]
    assert len(pd.read_csv(outputs["radiomics"], sep="\t")) == 3
    # The scratch folder of the per-scan tables is gone.
    assert sorted(p.name for p in (tmp_path / "features").iterdir()) == [
        "P1_lesions.tsv",
        "P1_radiomics.tsv",
        "P1_scans.tsv",
    ]


def test_a_patient_without_baseline_gets_empty_tracks_and_figures_that_say_why(tmp_path, calls):
    from netpet.longitudinal.tracks import TRACK_COLUMNS

    outputs = _outputs(tmp_path, radiomics=False, dicom_seg=False)
    patient_module.patient_step(
        patient_id="P1",
        scans=[_scan("interim")],
        baseline="basal",
        outputs=outputs,
        **SETTINGS,
    )
    assert [step for step, _, _ in calls] == ["conversion", "analysis"]
    assert "uid_map" not in calls[1][2]["outputs"]
    tracks = pd.read_csv(outputs["tracks"], sep="\t")
    assert tracks.empty and list(tracks.columns) == list(TRACK_COLUMNS)
    times = pd.read_csv(outputs["scan_times"], sep="\t")
    assert list(times["timepoint"]) == ["interim"] and times["days_from_baseline"].isna().all()
    for figure in ("track_figure", "mip_figure"):
        assert outputs[figure].stat().st_size > 1000


def test_a_failing_scan_stops_the_patient_and_names_it(tmp_path, calls, monkeypatch):
    import netpet.steps.scan as scan
    from netpet.errors import InputError

    def failing(**kw):
        raise InputError(f"scan P1/{kw['timepoint']}: organ map moved")

    monkeypatch.setattr(scan, "scan_analysis", failing)
    with pytest.raises(InputError, match="P1/basal"):
        patient_module.patient_step(
            patient_id="P1",
            scans=[_scan("basal"), _scan("interim")],
            baseline="basal",
            outputs=_outputs(tmp_path),
            **SETTINGS,
        )
    assert not (tmp_path / "features/P1_lesions.tsv").exists()
    assert not [p for p in (tmp_path / "features").iterdir() if p.name.startswith(".")]
