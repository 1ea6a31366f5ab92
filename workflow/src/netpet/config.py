"""Validation of the workflow configuration and of the samples and clinical sheets.

The JSON schemas in ``workflow/schemas/`` are the contract; this module applies them and turns
schema errors into messages that name the file, the key or column, the row, and the fix.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from netpet.errors import InputError

if TYPE_CHECKING:  # imported where used: load_schema alone (SUV ranges) needs neither
    import jsonschema
    import pandas as pd

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"


def load_schema(name: str) -> dict:
    """Load ``workflow/schemas/<name>.schema.yaml``."""
    with open(SCHEMA_DIR / f"{name}.schema.yaml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _extend_with_defaults(validator_class):
    """A validator that fills in ``default`` values of object properties while validating."""
    import jsonschema

    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for key, subschema in properties.items():
                if "default" in subschema and key not in instance:
                    instance[key] = _copy(subschema["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def _copy(value):
    import copy

    return copy.deepcopy(value)


@functools.cache
def _default_filling_validator():
    import jsonschema

    return _extend_with_defaults(jsonschema.Draft202012Validator)


def _key_path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(part) for part in error.absolute_path) or "(top level)"


def _describe(error: jsonschema.ValidationError) -> str:
    """One readable line for a schema error, naming the key and the fix."""
    where = _key_path(error)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        return (
            f"unknown key(s) {', '.join(map(repr, extra))} under {where}; "
            f"allowed keys are: {', '.join(allowed)} (check the spelling)"
        )
    if error.validator == "required":
        return f"{where}: {error.message}; add it"
    if error.validator == "enum":
        return f"{where}: {error.instance!r} is not one of {error.validator_value}"
    return f"{where}: {error.message}"


def validate_config(config: Mapping[str, Any], *, source: str = "config") -> dict:
    """Validate the workflow configuration against ``config.schema.yaml`` and fill in defaults.

    Parameters
    ----------
    config
        The parsed configuration (e.g. Snakemake's ``config``).  It is not modified.
    source
        Name of the configuration file, for error messages.

    Returns
    -------
    dict
        A copy of ``config`` with schema defaults filled in.

    Raises
    ------
    InputError
        Listing every problem, each with the key path, e.g. ``segmentation.method``.
    """
    filled = _copy(dict(config))
    errors = sorted(
        _default_filling_validator()(load_schema("config")).iter_errors(filled),
        key=lambda e: list(map(str, e.absolute_path)),
    )
    if errors:
        lines = "\n  - ".join(_describe(error) for error in errors)
        raise InputError(f"{source}: invalid configuration:\n  - {lines}")
    return filled


def _cell_value(value: str, column_schema: Mapping[str, Any]) -> Any:
    """Convert a sheet cell (read as text) to the JSON type its column schema asks for."""
    if "enum" in column_schema and "type" not in column_schema:
        numeric = all(isinstance(v, int) for v in column_schema["enum"])
        types = ["integer"] if numeric else ["string"]
    else:
        types = column_schema.get("type", "string")
        types = [types] if isinstance(types, str) else list(types)
    if value == "":
        return None
    for kind in types:
        if kind == "integer":
            try:
                number = float(value)
            except ValueError:
                continue
            if number.is_integer():
                return int(number)
        elif kind == "number":
            try:
                number = float(value)
            except ValueError:
                continue
            if math.isfinite(number):
                return int(number) if number.is_integer() else number
    return value


def load_sheet(path: str | Path, schema_name: str) -> pd.DataFrame:
    """Read a tab-separated sheet and validate each row against a JSON schema.

    Parameters
    ----------
    path
        The sheet (TSV with a header line).  Empty cells mean "not given".
    schema_name
        ``samples`` or ``clinical``: the schema ``workflow/schemas/<name>.schema.yaml``
        describing one row.

    Returns
    -------
    pandas.DataFrame
        The sheet with typed columns (numbers as floats/ints, empty cells as NaN/None).

    Raises
    ------
    InputError
        If the file is missing or malformed, a required column is absent, a column is
        unknown (where the schema forbids extra columns), or a cell has a wrong value; the
        message names the file, the line and the column.
    """
    import jsonschema
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: sheet not found; check the path given in the config")
    try:
        raw = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, comment="#")
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable tab-separated sheet ({exc})") from exc
    raw.columns = [str(c).strip() for c in raw.columns]
    schema = load_schema(schema_name)
    properties = schema["properties"]
    missing = [c for c in schema.get("required", []) if c not in raw.columns]
    if missing:
        raise InputError(
            f"{path}: missing required column(s) {', '.join(missing)}; "
            f"columns found: {', '.join(raw.columns)}"
        )
    if schema.get("additionalProperties") is False:
        unknown = [c for c in raw.columns if c not in properties]
        if unknown:
            raise InputError(
                f"{path}: unknown column(s) {', '.join(unknown)}; allowed columns are "
                f"{', '.join(properties)} (check the spelling)"
            )
    validator = jsonschema.Draft202012Validator(schema)
    records = []
    # Plain dicts, not DataFrame.iterrows (a Series per row: most of the time at 10^4 rows).
    for index, row in enumerate(raw.to_dict("records")):
        line = index + 2  # header is line 1
        record = {
            column: _cell_value(value.strip(), properties.get(column, {}))
            for column, value in row.items()
        }
        present = {k: v for k, v in record.items() if v is not None}
        for error in validator.iter_errors(present):
            column = _key_path(error)
            raise InputError(f"{path}, line {line}, column {column}: {error.message}")
        records.append(record)
    table = pd.DataFrame.from_records(records, columns=list(raw.columns))
    for key_columns in schema.get("x-unique", []):
        duplicated = table.duplicated(subset=key_columns, keep=False)
        if duplicated.any():
            lines = [str(i + 2) for i in table.index[duplicated]]
            raise InputError(
                f"{path}: duplicate {' + '.join(key_columns)} on lines {', '.join(lines)}; "
                "each must appear once"
            )
    return table
