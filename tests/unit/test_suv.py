"""netpet.imaging.suv: hand-computed cases for every formula and header convention, and the errors.

Default fixture (``pet_header``): 200 MBq injected at 10:00:00, scan at 11:06:40 (4000 s
later), half-life 4000 s, so the dose at scan start is exactly 100 MBq; 80 kg, 1.80 m, male.
SUVbw factor for Bq/mL images: 80 000 g / 100e6 Bq = 8e-4.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import math

import numpy as np
import pydicom
import pytest
from pet_dicom_fixtures import pet_header
from pydicom.dataset import Dataset

from netpet.errors import InputError
from netpet.imaging import suv
from netpet.imaging.suv.body_size import body_size

SOURCE = "P07/basal (fixture)"


def series(header: Dataset, n: int = 2, per_slice=None) -> list[Dataset]:
    slices = []
    for k in range(n):
        ds = copy.deepcopy(header)
        if per_slice is not None:
            per_slice(ds, k)
        slices.append(ds)
    return slices


def factors(datasets, **kwargs):
    return suv.suv_scale_factors(datasets, source=SOURCE, **kwargs)


# --- formulas ------------------------------------------------------------------------------


def test_decay_factor_one_and_two_half_lives():
    assert suv.decay_factor(4057.7, 4057.7) == pytest.approx(0.5, rel=1e-12)
    assert suv.decay_factor(2 * 6586.2, 6586.2) == pytest.approx(0.25, rel=1e-12)


def test_mean_count_rate_time_matches_numerical_integral():
    half_life, duration = 4000.0, 600.0
    t = np.linspace(0.0, duration, 600_001)
    rate = np.exp(-math.log(2) / half_life * t)
    mean_rate = np.trapezoid(rate, t) / duration
    expected = -math.log(mean_rate) / (math.log(2) / half_life)
    assert suv.mean_count_rate_time_s(duration, half_life) == pytest.approx(expected, rel=1e-9)
    assert expected == pytest.approx(297.40, abs=0.01)  # a little before the frame middle
    assert suv.mean_count_rate_time_s(600.0, 1e15) == pytest.approx(300.0, rel=1e-9)


def test_lean_body_mass_janmahasatian_hand_values():
    # 80 kg, 1.80 m, BMI 24.691: 9270*80/(6680 + 216*24.691) = 61.731 kg
    assert suv.lean_body_mass_janmahasatian_kg(80, 1.80, "M") == pytest.approx(61.7314, abs=1e-4)
    # 60 kg, 1.65 m, BMI 22.039: 9270*60/(8780 + 244*22.039) = 39.287 kg
    assert suv.lean_body_mass_janmahasatian_kg(60, 1.65, "F") == pytest.approx(39.2868, abs=1e-4)
    with pytest.raises(ValueError, match="M or F"):
        suv.lean_body_mass_janmahasatian_kg(60, 1.65, "O")


def test_lean_body_mass_james_hand_values():
    # 1.10*80 - 128*(80/180)^2 = 88 - 25.284 = 62.716 kg
    assert suv.lean_body_mass_james_kg(80, 1.80, "M") == pytest.approx(62.7160, abs=1e-4)
    # 1.07*60 - 148*(60/165)^2 = 64.2 - 19.570 = 44.630 kg
    assert suv.lean_body_mass_james_kg(60, 1.65, "F") == pytest.approx(44.6298, abs=1e-4)


def test_ideal_body_weight_sugawara_hand_values():
    assert suv.ideal_body_weight_kg(1.80, "M") == pytest.approx(48.0 + 1.06 * 28, abs=1e-9)
    assert suv.ideal_body_weight_kg(1.80, "F") == pytest.approx(45.5 + 0.91 * 28, abs=1e-9)
    assert suv.ideal_body_weight_kg(1.80, "O") == pytest.approx((77.68 + 70.98) / 2, abs=1e-9)


def test_body_surface_area_du_bois():
    # Du Bois nomogram: 80 kg, 180 cm -> about 2.00 m2; 70 kg, 175 cm -> about 1.85 m2
    assert suv.body_surface_area_m2(80, 1.80) == pytest.approx(1.9964, abs=1e-4)
    assert suv.body_surface_area_m2(70, 1.75) == pytest.approx(1.8481, abs=1e-4)


@pytest.mark.parametrize(
    ("value", "bq", "unit"),
    [(368.08, 368.08e6, "MBq"), (2000.0, 2.0e9, "MBq"), (368080000.0, 368080000.0, "Bq")],
)
def test_dose_unit_rule(value, bq, unit):
    assert suv.dose_bq_from_header(value) == (pytest.approx(bq), unit)


def test_dicom_time_parsing_variants():
    assert suv.parse_time("1030") == suv.parse_time("103000.000") == suv.parse_time("10:30:00")
    assert suv.parse_time("103000.5").microsecond == 500000
    stamp = suv.parse_datetime("20250102003000.000000+0100")
    assert (stamp.day, stamp.hour, stamp.minute) == (2, 0, 30)


def test_dicom_date_time_parsing_is_cached_but_errors_are_raised_every_time():
    # Parsed values are cached per text (every slice repeats them); bad texts raise each time.
    assert suv.parse_date("2025.01.02") == suv.parse_date("20250102") == dt.date(2025, 1, 2)
    assert suv.parse_time(" 083005.25 ") == dt.time(8, 30, 5, 250000)
    for _ in range(2):
        with pytest.raises(ValueError, match=r"not a DICOM time: '8h30'"):
            suv.parse_time("8h30")
        with pytest.raises(ValueError, match=r"hour must be in 0\.\.23"):
            suv.parse_time("2530")
        with pytest.raises(ValueError, match="does not match format"):
            suv.parse_date("2025x302")


# --- SUV factors: activity images ------------------------------------------------------------


def test_bqml_start_decays_dose_to_scan_start():
    f, prov = factors(series(pet_header()))
    assert f == pytest.approx([8e-4, 8e-4], rel=1e-12)
    assert prov.uptake_time_s == pytest.approx(4000.0)
    assert prov.decayed_dose_bq == pytest.approx(100e6)
    assert prov.scan_reference_time_source == "SeriesDate/SeriesTime"
    assert prov.injection_time_source == "RadiopharmaceuticalStartDateTime"


def test_provenance_is_json_serialisable_and_not_identifying():
    _, prov = factors(series(pet_header()))
    text = json.dumps(dataclasses.asdict(prov))
    assert "2025" not in text  # no absolute dates
    assert json.loads(text)["weight_kg"] == 80.0


def test_admin_means_no_decay():
    f, prov = factors(series(pet_header(decay_correction="ADMIN")))
    assert f == pytest.approx([4e-4, 4e-4], rel=1e-12)  # 80 000 g / 200e6 Bq
    assert prov.decayed_dose_bq == pytest.approx(200e6)


def test_none_decays_to_each_frame_time():
    # Frame reference times 0 s and 4000 s after scan start: dose 100 MBq, then 50 MBq.
    def frames(ds, k):
        ds.FrameReferenceTime = 4000.0 * 1000 * k

    f, prov = factors(series(pet_header(decay_correction="NONE"), per_slice=frames))
    assert f == pytest.approx([8e-4, 16e-4], rel=1e-12)
    assert prov.slice_time_source == "FrameReferenceTime"


def test_none_without_frame_reference_uses_acquisition_plus_mean_count_time():
    def frames(ds, k):
        ds.AcquisitionTime = ["110640", "114000"][k]  # 0 s and 2000 s after scan start
        ds.ActualFrameDuration = 600_000

    f, _ = factors(series(pet_header(decay_correction="NONE"), per_slice=frames))
    mean_time = 297.40093  # mean count-rate time of a 600 s frame, T1/2 = 4000 s
    expected = [80_000 / (100e6 * 2 ** (-(t + mean_time) / 4000)) for t in (0.0, 2000.0)]
    assert f == pytest.approx(expected, rel=1e-6)


def test_dose_in_mbq_is_detected():
    f, prov = factors(series(pet_header(dose=200.0)))
    assert f == pytest.approx([8e-4, 8e-4], rel=1e-12)
    assert prov.dose_unit_in_header == "MBq"


def test_time_only_injection_on_series_date():
    header = pet_header(injection_datetime=None)
    f, prov = factors(series(header))
    assert f == pytest.approx([8e-4, 8e-4], rel=1e-12)
    assert prov.injection_time_source == "RadiopharmaceuticalStartTime on scan date"


def test_time_only_injection_before_midnight():
    # Injection 23:30:00 on 1 March, scan 00:36:40 on 2 March: 4000 s uptake.
    header = pet_header(
        injection_datetime=None,
        injection_time="233000",
        series_date="20250302",
        series_time="003640",
    )
    f, prov = factors(series(header))
    assert prov.uptake_time_s == pytest.approx(4000.0)
    assert f == pytest.approx([8e-4, 8e-4], rel=1e-12)
    assert "day before" in prov.injection_time_source


def test_series_time_after_acquisition_uses_ge_private_datetime():
    # Series time re-written at 12:00 after post-processing; GE private scan datetime is right.
    header = pet_header(series_time="120000", acquisition_time="110700")
    header.add_new(0x0009100D, "DT", "20250301110640.000000")
    f, prov = factors(series(header))
    assert f == pytest.approx([8e-4, 8e-4], rel=1e-12)
    assert prov.scan_reference_time_source == "GE private scan datetime (0009,100D)"


def test_series_time_after_acquisition_back_computes_from_frame_reference_time():
    # Acquisition starts 11:06:40 + 700 s; frame reference 1000 s; frame 600 s:
    # scan start = 11:18:20 - 1000 s + 297.40 s = 11:06:40 - 2.60 s.
    header = pet_header(series_time="130000", acquisition_time="111820")
    header.FrameReferenceTime = 1_000_000.0
    header.ActualFrameDuration = 600_000
    f, prov = factors(series(header))
    assert prov.uptake_time_s == pytest.approx(4000.0 - 2.59907, abs=1e-4)
    assert f[0] == pytest.approx(80_000 / (200e6 * 2 ** (-(4000.0 - 2.59907) / 4000)), rel=1e-7)
    assert "FrameReferenceTime" in prov.scan_reference_time_source


def test_series_time_after_acquisition_falls_back_to_earliest_acquisition():
    header = pet_header(series_time="130000")

    def acquisitions(ds, k):
        ds.AcquisitionTime = ["111000", "110640", "111500"][k]

    f, prov = factors(series(header, n=3, per_slice=acquisitions))
    assert prov.scan_reference_time_source == "earliest AcquisitionDate/AcquisitionTime"
    assert f == pytest.approx([8e-4] * 3, rel=1e-12)


def test_philips_activity_scale_factor():
    header = pet_header(units="CNTS")
    header.add_new(0x70531009, "DS", "0.25")
    f, prov = factors(series(header))
    assert f == pytest.approx([2e-4, 2e-4], rel=1e-12)
    assert "7053,1009" in prov.pixel_scale_source


def test_philips_suv_scale_factor_per_slice():
    def scale(ds, k):
        ds.add_new(0x70531000, "DS", ["0.002", "0.003"][k])

    f, prov = factors(series(pet_header(units="CNTS", dose=None), per_slice=scale))
    assert f == pytest.approx([0.002, 0.003], rel=1e-12)
    assert prov.stored_suv_type == "BW"


def test_philips_private_tag_read_as_unknown_bytes():
    header = pet_header(units="CNTS")
    header.add_new(0x70531000, "UN", b"0.0005 ")
    f, _ = factors(series(header, n=1))
    assert f == pytest.approx([0.0005])


def test_cnts_without_philips_factors_is_an_error():
    with pytest.raises(InputError, match=r"7053,1000.*7053,1009"):
        factors(series(pet_header(units="CNTS")))


def test_factor_is_k_times_n_divided_by_decayed_dose_in_that_order():
    # Bit-exact: the float64 operations (k * N) / D, in that order; 0.13 and 0.26 give another
    # last bit with k * (N / D) and with k / D * N, so the order is pinned.
    def scale(ds, k):
        ds.add_new(0x70531009, "DS", ["0.13", "0.26"][k])

    f, _ = factors(series(pet_header(units="CNTS"), per_slice=scale))
    decayed = 200e6 * float(suv.decay_factor(4000.0, 4000.0))
    k = np.array([0.13, 0.26])
    assert f.tolist() == (k * 80_000.0 / decayed).tolist() != (k * (80_000.0 / decayed)).tolist()


def test_decay_corrections_table():
    assert sorted(suv.DECAY_CORRECTIONS) == ["ADMIN", "NONE", "START"]
    needs = {key: rule.needs_injection_time for key, rule in suv.DECAY_CORRECTIONS.items()}
    assert needs == {"START": True, "ADMIN": False, "NONE": True}


def test_radiopharmaceutical_item():
    assert suv.radiopharmaceutical(pet_header()).RadionuclideTotalDose == 200e6
    assert suv.radiopharmaceutical(Dataset()) is None


def test_body_size_needs_height_only_for_a_normaliser_that_uses_it():
    header = pet_header()
    del header.PatientSize
    body = body_size(header, {"weight_kg": 70.0}, suv_types=("BW", None), source=SOURCE)
    assert (body.weight_kg, body.height_m, body.sex) == (70.0, None, "M")
    assert body.header_weight == 80.0 and body.overrides_applied == ("weight_kg",)
    with pytest.raises(InputError, match=r"PatientSize \(0010,1020\) in m is missing"):
        body_size(header, {}, suv_types=("BW", "BSA"), source=SOURCE)


# --- SUV types ------------------------------------------------------------------------------


def test_sul_uses_janmahasatian_lean_body_mass():
    f, prov = factors(series(pet_header()), suv_type="lbm")
    assert f == pytest.approx([61731.40954 / 100e6] * 2, rel=1e-9)
    assert prov.normaliser == "lean body mass (Janmahasatian)"


def test_suv_bsa_uses_du_bois_in_cm2():
    f, _ = factors(series(pet_header()), suv_type="bsa")
    assert f == pytest.approx([19964.21022 / 100e6] * 2, rel=1e-9)


def test_gml_stored_lbm_james_is_converted_to_suvbw():
    header = pet_header(units="GML", dose=None, injection_datetime=None, injection_time=None)
    header.SUVType = "LBMJAMES128"
    f, prov = factors(series(header))
    assert f == pytest.approx([80 / 62.716049] * 2, rel=1e-7)
    assert prov.stored_suv_type == "LBMJAMES128"


def test_gml_without_suv_type_is_suvbw():
    header = pet_header(units="GML")
    f, _ = factors(series(header))
    assert f == pytest.approx([1.0, 1.0])


def test_cm2ml_is_converted_from_bsa_to_bw():
    header = pet_header(units="CM2ML")
    f, _ = factors(series(header))
    assert f == pytest.approx([80_000 / 19964.21022] * 2, rel=1e-9)


def test_sul_needs_sex():
    with pytest.raises(InputError, match=r"PatientSex \(0010,0040\).*set sex"):
        factors(series(pet_header(sex="O")), suv_type="lbm")
    f, prov = factors(series(pet_header(sex="O")), suv_type="lbm", overrides={"sex": "M"})
    assert f[0] == pytest.approx(61731.40954 / 100e6)
    assert prov.overrides_applied == ["sex"]


# --- errors and overrides --------------------------------------------------------------------


def test_missing_weight_names_attribute_source_and_fix():
    with pytest.raises(InputError) as error:
        factors(series(pet_header(weight_kg=None)))
    message = str(error.value)
    for part in ("PatientWeight", "(0010,1030)", SOURCE, "weight_kg"):
        assert part in message


def test_zero_weight_is_missing():
    with pytest.raises(InputError, match=r"PatientWeight.*missing"):
        factors(series(pet_header(weight_kg=0.0)))


def test_weight_override_fixes_missing_weight_and_is_recorded():
    f, prov = factors(series(pet_header(weight_kg=None)), overrides={"weight_kg": 60.0})
    assert f == pytest.approx([6e-4, 6e-4], rel=1e-12)
    assert prov.overrides_applied == ["weight_kg"]
    assert prov.weight_kg == 60.0


def test_override_wins_over_header_and_empty_values_are_ignored():
    overrides = {
        "injected_activity_mbq": 400.0,
        "injection_datetime": "2025-03-01T10:00:00",
        "height_m": float("nan"),
        "patient_id": "P07",  # other samples-sheet columns are ignored
    }
    f, prov = factors(series(pet_header()), overrides=overrides)
    assert f == pytest.approx([4e-4, 4e-4], rel=1e-12)
    assert prov.overrides_applied == ["injected_activity_mbq", "injection_datetime"]
    assert prov.dose_unit_in_header is None


def test_injection_datetime_override_changes_uptake():
    f, prov = factors(series(pet_header()), overrides={"injection_datetime": "2025-03-01 08:53:20"})
    assert prov.uptake_time_s == pytest.approx(8000.0)
    assert f == pytest.approx([16e-4, 16e-4], rel=1e-12)


@pytest.mark.parametrize("weight", [15.0, 350.0])
def test_implausible_weight(weight):
    with pytest.raises(InputError, match=r"outside the plausible range 20-300"):
        factors(series(pet_header(weight_kg=weight)))


@pytest.mark.parametrize("dose", [None, 5.0e5, 5.0e9])
def test_missing_or_implausible_dose(dose):
    with pytest.raises(InputError, match=r"RadionuclideTotalDose \(0018,1074\).*injected_activity"):
        factors(series(pet_header(dose=dose)))


def test_missing_half_life():
    with pytest.raises(InputError, match=r"RadionuclideHalfLife \(0018,1075\)"):
        factors(series(pet_header(half_life_s=None)))


def test_injection_after_scan_is_an_error():
    with pytest.raises(InputError, match=r"after the scan start.*injection_datetime"):
        factors(series(pet_header(injection_datetime="20250301120000")))


def test_uptake_over_the_half_life_limit_is_an_error():
    # Injected two days before: 49.1 h > 6 x 4000 s = 6.7 h.
    with pytest.raises(InputError) as error:
        factors(series(pet_header(injection_datetime="20250227100000")))
    assert str(error.value) == (
        f"{SOURCE}: uptake time 49.1 h exceeds 6 half-lives of the radionuclide (6 x 4000 s = "
        "6.7 h, suv.max_uptake_half_lives): injection 10:00:00 2 day(s) before the scan date "
        "(RadiopharmaceuticalStartDateTime (0018,1078)) vs scan reference time 11:06:40 "
        "(SeriesDate (0008,0021)/SeriesTime (0008,0031)); check the header or set "
        "injection_datetime in the samples sheet"
    )


def test_uptake_limit_is_in_half_lives_and_configurable():
    # Uptake 3 h 06 min 40 s = 11200 s = 2.8 half-lives of 4000 s.
    header = pet_header(injection_datetime="20250301080000")
    f, prov = factors(series(header))
    assert prov.uptake_time_s == 11200.0 and prov.max_uptake_s == 24000.0
    assert f[0] == pytest.approx(80_000 / (200e6 * 2 ** (-2.8)), rel=1e-12)
    with pytest.raises(InputError, match=r"uptake time 3\.1 h exceeds 2 half-lives.*= 2\.2 h"):
        factors(series(header), max_uptake_half_lives=2)
    # Ga-68 (4057.7 s): an uptake of 7 h is beyond 6 half-lives (6.76 h); 24 h no longer rules.
    ga68 = pet_header(half_life_s=4057.7, injection_datetime="20250301040640")
    with pytest.raises(InputError, match=r"uptake time 7\.0 h exceeds 6 half-lives.*6\.8 h"):
        factors(series(ga68))


def test_time_only_injection_after_series_start_is_not_read_as_the_day_before():
    # The reported case: only RadiopharmaceuticalStartTime, 5 min after the series start.
    # Read as the day before it would be 85,500 s of uptake (SUV x 2^21): an error instead.
    header = pet_header(injection_datetime=None, injection_time="111140")
    with pytest.raises(InputError) as error:
        factors(series(header))
    assert str(error.value) == (
        f"{SOURCE}: injection time 11:11:40 from RadiopharmaceuticalStartTime (0018,1072) (no "
        "RadiopharmaceuticalStartDateTime (0018,1078), so no date) is 5.0 min after the scan "
        "reference time 11:06:40 (SeriesDate (0008,0021)/SeriesTime (0008,0031)); read as the "
        "day before, the uptake time would be 23.9 h, more than the plausible 6.7 h "
        "(suv.max_uptake_half_lives), so neither reading is plausible: check the header times "
        "or set injection_datetime (ISO 8601) in the samples sheet"
    )
    # The samples sheet fixes it.
    f, prov = factors(series(header), overrides={"injection_datetime": "2025-03-01T10:00:00"})
    assert f == pytest.approx([8e-4, 8e-4], rel=1e-12)
    # ADMIN images need no injection time: not an error.
    header.DecayCorrection = "ADMIN"
    f, prov = factors(series(header))
    assert prov.uptake_time_s is None and f == pytest.approx([4e-4, 4e-4], rel=1e-12)


def test_time_only_midnight_scan_still_reads_as_the_day_before():
    # Injection 23:50:00 on 1 March, scan 00:40:00 on 2 March: 3000 s of uptake.
    header = pet_header(
        injection_datetime=None,
        injection_time="235000",
        series_date="20250302",
        series_time="004000",
    )
    f, prov = factors(series(header))
    assert prov.uptake_time_s == pytest.approx(3000.0)
    assert prov.injection_time_source == "RadiopharmaceuticalStartTime, day before scan"
    assert f[0] == pytest.approx(80_000 / (200e6 * 2 ** (-3000 / 4000)), rel=1e-12)


def test_slice_errors_name_the_file():
    def frames(ds, k):
        ds.filename = f"/data/P07/pet/IM{k:04d}"
        if k == 1:
            del ds.AcquisitionTime

    header = pet_header(decay_correction="NONE")
    del header.AcquisitionDate
    with pytest.raises(InputError, match=r"but file IM0001 has neither FrameReferenceTime"):
        factors(series(header, per_slice=frames))

    def philips(ds, k):
        ds.filename = f"/data/P07/pet/IM{k:04d}"
        if k == 0:
            ds.add_new(0x70531009, "DS", "0.25")

    with pytest.raises(InputError, match=r"missing in 1 of 2 slices \(file IM0001\)"):
        factors(series(pet_header(units="CNTS"), per_slice=philips))


def test_missing_injection_time_is_an_error_unless_admin():
    header = pet_header(injection_datetime=None, injection_time=None)
    with pytest.raises(InputError, match=r"RadiopharmaceuticalStartTime \(0018,1072\)"):
        factors(series(header))
    header.DecayCorrection = "ADMIN"
    f, prov = factors(series(header))
    assert f == pytest.approx([4e-4, 4e-4]) and prov.uptake_time_s is None


def test_unsupported_units_and_decay_correction():
    with pytest.raises(InputError, match=r"Units \(0054,1001\)"):
        factors(series(pet_header(units="PROPCNTS")))
    with pytest.raises(InputError, match=r"DecayCorrection \(0054,1102\)"):
        factors(series(pet_header(decay_correction="XYZ")))


def test_dose_override_on_stored_suv_is_refused():
    with pytest.raises(InputError, match="cannot be applied"):
        factors(series(pet_header(units="GML")), overrides={"injected_activity_mbq": 150})


def test_unknown_suv_type_is_a_programming_error():
    with pytest.raises(ValueError, match="suv_type"):
        factors(series(pet_header()), suv_type="ibw")


def test_garbled_times_are_input_errors(monkeypatch):
    # Garbled values as a careless exporter writes them (pydicom would warn on assignment).
    monkeypatch.setattr(pydicom.config.settings, "reading_validation_mode", pydicom.config.IGNORE)
    with pytest.raises(InputError, match=r"unreadable scan time.*AcquisitionTime \(0008,0032\)"):
        factors(series(pet_header(series_time="11h06")))

    def named(ds, k):
        ds.filename = f"/data/P07/pet/IM{k:04d}"

    with pytest.raises(InputError, match=r"unreadable scan time: file IM0000: SeriesDate"):
        factors(series(pet_header(series_time="11h06", acquisition_time="110640"), per_slice=named))
    with pytest.raises(InputError, match=r"RadiopharmaceuticalStartDateTime.*not a DICOM"):
        factors(series(pet_header(injection_datetime="yesterday")))
