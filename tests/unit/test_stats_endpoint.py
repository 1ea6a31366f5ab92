"""The configured survival columns and adjusters reach every study step, labels included.

The study steps run as the workflow runs them, with ``stats.time: os_months``,
``stats.event: death`` and ``stats.adjust_for: [who_grade, ki67]``, on a small cohort whose
PFS and OS differ: the statistics must equal those computed directly on the OS columns (and
not those of PFS), and tables and figures must say OS, death, and "WHO grade and Ki-67".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from netpet.errors import InputError
from netpet.report import labels
from netpet.stats.cox import cox_table
from netpet.stats.cutpoint import maxstat_test
from netpet.stats.patients import build_patient_table
from netpet.stats.survival import median_survival
from netpet.steps import study as study_steps

TIME, EVENT = "os_months", "death"
ADJUST_FOR = ["who_grade", "ki67"]
PARAMETERS = ["wtv_ml", "tre", "suvmax"]
BASELINE, FOLLOWUPS = "basal", ["interim"]
COLUMNS = study_steps.analysed_columns(PARAMETERS, baseline=BASELINE, followups=FOLLOWUPS)
FIGURE_COLUMNS = study_steps.figure_columns(["wtv_ml", "tre"], followups=FOLLOWUPS)
TABLES = ("table1", "table2", "table3", "table4", "tableS1")


def _cohort(n: int = 20, seed: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Clinical sheet (PFS and OS unrelated) and scans table (SUV type lbm) of ``n`` patients."""
    rng = np.random.default_rng(seed)
    ids = [f"P{i:02d}" for i in range(n)]
    clinical = pd.DataFrame(
        {
            "patient_id": ids,
            "sex": np.where(np.arange(n) % 2, "F", "M"),
            "age_years": rng.integers(35, 80, n),
            "who_grade": (["G1", "G2", "G3", "G2"] * n)[:n],
            "ki67": np.round(rng.uniform(1, 40, n), 1),
            "pfs_months": np.round(rng.uniform(2, 30, n), 2),
            "progression": rng.integers(0, 2, n),
            "os_months": np.round(rng.uniform(10, 60, n), 2),
            "death": (np.arange(n) % 3 != 0).astype(int),
        }
    )
    scans = pd.concat(
        [pd.DataFrame({"patient_id": ids, "timepoint": t}) for t in (BASELINE, *FOLLOWUPS)],
        ignore_index=True,
    )
    for parameter in PARAMETERS:
        scans[parameter] = np.round(rng.uniform(5, 300, 2 * n), 2)
    scans["suv_type"] = "lbm"
    return clinical, scans


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """Every statistics, table and figure step with the OS endpoint; the outputs read back."""
    out = tmp_path_factory.mktemp("os_study")
    clinical, scans = _cohort()
    clinical.to_csv(out / "clinical.tsv", sep="\t", index=False)
    scans.to_csv(out / "scans.tsv", sep="\t", index=False)
    survival = {"time_col": TIME, "event_col": EVENT}
    study_steps.patients_step(
        scans_path=out / "scans.tsv",
        clinical_path=out / "clinical.tsv",
        baseline=BASELINE,
        followups=FOLLOWUPS,
        parameters=PARAMETERS,
        out=out / "patients.tsv",
        **survival,
    )
    patients = out / "patients.tsv"
    study_steps.cutpoints_step(
        patients_path=patients,
        columns=COLUMNS,
        minprop=0.1,
        n_permutations=50,
        seed=1,
        out=out / "cutpoints.tsv",
        curves_out=out / "cutpoint_curves.tsv",
        **survival,
    )
    for model, adjust in (("univariate", None), ("adjusted", ADJUST_FOR)):
        study_steps.cox_step(
            patients_path=patients,
            cutpoints_path=out / "cutpoints.tsv",
            columns=COLUMNS,
            adjust_for=adjust,
            out=out / f"cox_{model}.tsv",
            **survival,
        )
    study_steps.bootstrap_step(
        patients_path=patients,
        columns=COLUMNS,
        minprop=0.1,
        n_resamples=10,
        seed=3,
        out=out / "bootstrap.tsv",
        frequencies_out=out / "bootstrap_cutpoints.tsv",
        **survival,
    )
    study_steps.tables_step(
        patients_path=patients,
        cutpoints_path=out / "cutpoints.tsv",
        cox_univariate_path=out / "cox_univariate.tsv",
        cox_adjusted_path=out / "cox_adjusted.tsv",
        bootstrap_path=out / "bootstrap.tsv",
        scans_path=out / "scans.tsv",
        baseline=BASELINE,
        followups=FOLLOWUPS,
        parameters=PARAMETERS,
        corrected_p="p_exact",
        formats=["tsv", "md"],
        stems={name: out / name for name in TABLES},
        **survival,
    )
    km = study_steps.km_step(
        patients_path=patients,
        cutpoints_path=out / "cutpoints.tsv",
        cox_univariate_path=out / "cox_univariate.tsv",
        column=FIGURE_COLUMNS[0],
        time_origin="start of PRRT",
        confidence_band=False,
        out=out / "km.png",
        **survival,
    )
    figures = study_steps.summary_figures_step(
        patients_path=patients,
        cutpoints_path=out / "cutpoints.tsv",
        curves_path=out / "cutpoint_curves.tsv",
        cox_univariate_path=out / "cox_univariate.tsv",
        cox_adjusted_path=out / "cox_adjusted.tsv",
        columns=FIGURE_COLUMNS,
        event_col=EVENT,
        corrected_p="p_exact",
        minprop=0.1,
        clip_pct=100.0,
        forest_out=out / "forest.png",
        waterfall_out=out / "waterfall.png",
        cutpoints_out=out / "cutpoints.png",
    )

    def read(name):
        return pd.read_csv(out / name, sep="\t")

    return {
        "patients": read("patients.tsv"),
        "cutpoints": read("cutpoints.tsv"),
        "cox_adjusted": read("cox_adjusted.tsv"),
        "table1": read("table1.tsv"),
        "md": {name: (out / f"{name}.md").read_text(encoding="utf-8") for name in TABLES},
        "km": km,
        "forest": figures["forest"],
        "waterfall": figures["waterfall"],
    }


def test_statistics_use_the_configured_columns(study):
    patients = study["patients"]
    column = FIGURE_COLUMNS[0]
    row = study["cutpoints"].set_index("parameter").loc[column]
    on_os = maxstat_test(patients[TIME], patients[EVENT], patients[column], n_permutations=0)
    on_pfs = maxstat_test(
        patients["pfs_months"], patients["progression"], patients[column], n_permutations=0
    )
    # TSV cells keep 6 significant digits
    assert (row["cutpoint"], row["statistic"]) == pytest.approx(
        (on_os.cutpoint, on_os.statistic), rel=1e-5
    )
    assert row["statistic"] != pytest.approx(on_pfs.statistic, rel=1e-3)  # endpoints differ
    adjusted = study["cox_adjusted"]
    assert set(adjusted["covariates"]) == {"who_grade, ki67"}
    direct = cox_table(
        patients,
        COLUMNS,
        time_col=TIME,
        event_col=EVENT,
        cutpoints=study["cutpoints"],
        adjust_for=ADJUST_FOR,
    )
    np.testing.assert_allclose(adjusted["hr"], direct["hr"], rtol=1e-5)
    assert adjusted["events"].iloc[0] == patients[EVENT].sum()


def test_table1_names_the_endpoint(study):
    table1 = study["table1"].set_index("characteristic")
    expected = median_survival(study["patients"][TIME], study["patients"][EVENT])
    assert table1.loc["Median OS, months (95 % CI)", "median"] == expected["median"]
    deaths = int(study["patients"][EVENT].sum())
    assert table1.loc["OS events (death), n (%)", "n"] == deaths
    # the event is death: no second "Deaths" row
    assert "Deaths, n (%)" not in table1.index
    assert not any("PFS" in text for text in table1.index)
    assert "NR, not reached; OS, overall survival." in study["md"]["table1"]


def test_cox_tables_name_the_endpoint_and_the_adjustment(study):
    md = study["md"]
    assert "**Table 3. Univariate Cox proportional-hazards models of OS**" in md["table3"]
    assert (
        "**Table 4. Cox proportional-hazards models of OS adjusted for WHO grade and Ki-67**"
        in md["table4"]
    )
    assert (
        "Adjusted for WHO grade (categorical, dummy-coded; lowest level reference) and Ki-67 "
        "(continuous, per unit)." in md["table4"]
    )


def test_table2_says_the_suv_type(study):
    md = study["md"]["table2"]
    assert "| SULmax |" in md and "| TRE (mL·SUL) |" in md and "| WTV (mL) |" in md
    assert "SUL, standardised uptake value normalised to lean body mass" in md


def test_figures_name_the_endpoint_and_the_adjustment(study):
    km_axes = study["km"].axes[0]
    assert km_axes.get_ylabel() == "Overall survival"
    assert km_axes.get_xlabel() == "Time since start of PRRT (months)"
    titles = [text.get_text() for ax in study["forest"].axes for text in ax.texts]
    assert "Adjusted for WHO grade and Ki-67" in titles and "Univariate" in titles
    legend = [t.get_text() for t in study["waterfall"].axes[0].get_legend().get_texts()]
    assert legend[:2] == ["Death", "No death"]


def test_default_labels_keep_their_text():
    pfs = labels.endpoint("pfs_months", "progression")
    assert (pfs.abbreviation, pfs.name, pfs.events, pfs.time_unit) == (
        "PFS",
        "progression-free survival",
        "progression or death",
        "months",
    )
    assert pfs.survival_label == "Progression-free survival"
    assert pfs.event_labels == {1: "Progression", 0: "No progression"}
    assert pfs.time_axis_label("start of PRRT") == "Time since start of PRRT (months)"
    assert labels.adjustment_label(["who_grade"]) == "WHO grade"
    assert labels.suv_parameter_name("suvmax") == "SUVmax"
    assert labels.suv_parameter_name("suvmax", "bw") == "SUVmax (SUVbw)"
    unknown = labels.endpoint("efs_days", "relapse")
    assert (unknown.abbreviation, unknown.time_unit, unknown.survival_label) == (
        "EFS",
        "days",
        "Survival without relapse",
    )


def test_suv_types_are_those_of_the_suv_stage():
    from netpet.imaging.suv import SUV_TYPES

    assert set(labels.SUV_NAMES) == set(SUV_TYPES)


def test_mixed_suv_types_are_refused():
    scans = pd.DataFrame({"patient_id": ["P1", "P2"], "suv_type": ["bw", "lbm"]})
    with pytest.raises(InputError, match="one SUV normalisation"):
        study_steps.study_suv_type(scans, "scans.tsv")
    assert study_steps.study_suv_type(scans.drop(columns="suv_type")) is None


def test_patient_table_needs_only_the_configured_survival_columns():
    clinical, scans = _cohort(n=4)
    clinical = clinical.drop(columns=["pfs_months", "progression"])
    kwargs = {"baseline": BASELINE, "followups": FOLLOWUPS, "parameters": PARAMETERS}
    out = build_patient_table(scans, clinical, time_col=TIME, event_col=EVENT, **kwargs)
    assert out[TIME].tolist() == clinical[TIME].tolist()
    with pytest.raises(InputError, match="'death' must be 0"):
        build_patient_table(
            scans, clinical.assign(death=[0, 1, 2, 0]), time_col=TIME, event_col=EVENT, **kwargs
        )
    with pytest.raises(InputError, match="missing column 'pfs_months'"):
        build_patient_table(scans, clinical, **kwargs)
