"""The conda environments pin the same versions as requirements.lock."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[_normal(name)] = version
    return pins


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _env_pins(path: Path) -> dict[str, str]:
    spec = yaml.safe_load(path.read_text())
    pins = {}
    for dep in spec["dependencies"]:
        entries = dep["pip"] if isinstance(dep, dict) else [dep]
        for entry in entries:
            match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*==?\s*([^\s=]+)", entry)
            if match and _normal(match[1]) not in {"python", "pip"}:
                pins[_normal(match[1])] = match[2]
    return pins


ENV_FILES = sorted((ROOT / "envs").glob("*.yaml"))


def test_there_are_environments():
    assert {p.stem for p in ENV_FILES} >= {"imaging", "stats", "figures"}


@pytest.mark.parametrize("env_file", ENV_FILES, ids=lambda p: p.name)
def test_environment_versions_equal_lock(env_file):
    lock = _lock()
    lock["pyradiomics"] = _makefile_pyradiomics()
    pins = _env_pins(env_file)
    assert pins, f"{env_file.name} pins nothing"
    wrong = {name: (v, lock.get(name)) for name, v in pins.items() if lock.get(name) != v}
    assert not wrong, f"{env_file.name}: versions differ from requirements.lock: {wrong}"


def _makefile_pyradiomics() -> str:
    match = re.search(r"pyradiomics==([\w.]+)", (ROOT / "Makefile").read_text())
    assert match, "Makefile must pin pyradiomics"
    return match[1]


def test_lock_pins_every_package_exactly():
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            assert re.fullmatch(r"[A-Za-z0-9_.-]+==[\w.+-]+", line), line
