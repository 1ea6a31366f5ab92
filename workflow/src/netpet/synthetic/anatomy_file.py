"""Read the synthetic anatomy file (``anatomy_v<N>.yaml``): solids as numbers and expressions.

The file (its header documents the format) lists the solids of the reference body in
painting order; every length is a number in mm or an expression in the patient's body-size
factors (:data:`BODY_VARIABLES`, computed by :class:`netpet.synthetic.anatomy.BodySize`) and
in the file's own ``dimensions``.  :func:`read_anatomy_file` parses and checks the whole file
once (every name, key and label), so evaluating it for a patient cannot fail half-way.

Expressions are evaluated node by node with Python's own float arithmetic in the order
written, so ``-95*so`` gives exactly the float that the Python expression ``-95 * so`` gives.
"""

from __future__ import annotations

import ast
import functools
import itertools
import math
import operator
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from netpet import labels
from netpet.errors import InputError

ANATOMY_VERSION = 1
ANATOMY_FILE = Path(__file__).with_name(f"anatomy_v{ANATOMY_VERSION}.yaml")
BODY_VARIABLES = ("sxy", "so", "sz", "fat")
"""Names of the body-size factors an expression may use (see ``anatomy.BodySize``)."""
SCAN_RANGE_KEYS = ("vertex_z", "thigh_z")

# Keys of each shape besides the common ones: (vector keys with their lengths, scalar keys).
_SHAPE_KEYS: dict[str, tuple[dict[str, int], tuple[str, ...]]] = {
    "ellipsoid": ({"centre": 3, "semi_axes": 3}, ()),
    "cylinder": ({"centre_xy": 2, "semi_axes_xy": 2, "z_range": 2}, ()),
    "capsule": ({"start": 3, "end": 3}, ("r",)),
    "capsule_path": ({}, ("r",)),  # and points: a list of [x, y, z]
    "cylinder_stack": ({"centre_xy": 2, "semi_axes_xy": 2}, ("first_z", "pitch", "half_height")),
}
_COMMON_KEYS = ("name", "shape", "tissue", "organ", "planes")
_EXTRA_KEYS = {"ellipsoid": ("loops",), "capsule_path": ("points",), "cylinder_stack": ("levels",)}
_LABEL_OF_NAME = {name: number for number, name in labels.NAMES.items()}
_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_FUNCTIONS: dict[str, Callable[[float], float]] = {"sqrt": math.sqrt}


class Length:
    """One length of the file: a number (mm) or an expression, checked when read.

    Parameters
    ----------
    value : int, float or str
        The YAML value.
    where : str
        Where it stands (file, solid, key), for error messages.
    names : iterable of str
        The variable names the expression may use.
    """

    def __init__(self, value: Any, where: str, names: Iterable[str]):
        self.text = str(value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            self._tree: ast.expr | None = None
            self._number = float(value)
            return
        if not isinstance(value, str):
            raise InputError(f"{where} is {value!r}; give a number (mm) or an expression")
        try:
            self._tree = ast.parse(value, mode="eval").body
        except SyntaxError as error:
            raise InputError(f"{where}: cannot parse {value!r} ({error.msg})") from None
        _check(self._tree, where, value, set(names))

    def __call__(self, variables: dict[str, float]) -> float:
        """The length in mm for these variable values."""
        if self._tree is None:
            return self._number
        return float(_evaluate(self._tree, variables))


def _check(node: ast.expr, where: str, text: str, names: set[str]) -> None:
    """Raise InputError unless ``node`` uses only numbers, ``names``, + - * / and sqrt()."""
    children: list[ast.expr] = []
    if isinstance(node, ast.Constant):
        ok = isinstance(node.value, int | float) and not isinstance(node.value, bool)
    elif isinstance(node, ast.Name):
        if node.id not in names:
            raise InputError(
                f"{where}: {text!r} uses unknown name {node.id!r}; use {sorted(names)}"
            )
        ok = True
    elif isinstance(node, ast.UnaryOp):
        ok = type(node.op) in _UNARY
        children = [node.operand]
    elif isinstance(node, ast.BinOp):
        ok = type(node.op) in _BINARY
        children = [node.left, node.right]
    elif isinstance(node, ast.Call):
        ok = (
            isinstance(node.func, ast.Name)
            and node.func.id in _FUNCTIONS
            and len(node.args) == 1
            and not node.keywords
        )
        children = list(node.args)
    else:
        ok = False
    if not ok:
        raise InputError(
            f"{where}: {text!r} is not a length expression; use numbers, {sorted(names)}, "
            "+ - * / and sqrt()"
        )
    for child in children:
        _check(child, where, text, names)


def _evaluate(node: ast.expr, variables: dict[str, float]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return variables[node.id]
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_evaluate(node.operand, variables))
    if isinstance(node, ast.BinOp):
        left = _evaluate(node.left, variables)
        return _BINARY[type(node.op)](left, _evaluate(node.right, variables))
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)  # checked on reading
    return _FUNCTIONS[node.func.id](_evaluate(node.args[0], variables))


@dataclass(frozen=True)
class SolidEntry:
    """One entry of the file's ``solids`` list, checked; lengths not yet evaluated.

    ``label`` is the organ label number (0: unlabelled); for a ``cylinder_stack`` it is
    ``None`` and ``organ`` the label-name template holding ``{level}``.
    """

    name: str
    shape: str
    tissue: str
    organ: str
    label: int | None
    planes: tuple[tuple[Length, Length, Length, Length], ...]
    vectors: dict[str, tuple[Length, ...]]
    scalars: dict[str, Length]
    points: tuple[tuple[Length, Length, Length], ...] = ()
    levels: tuple[str, ...] = ()
    loops: str | None = None


@dataclass(frozen=True)
class AnatomyFile:
    """A read and checked anatomy file.

    Attributes
    ----------
    path : Path
        The file.
    version : int
        Its ``version``.
    dimensions : tuple of (str, Length)
        Named lengths in file order (each may use the earlier ones).
    scan_range : dict of str to Length
        ``vertex_z`` and ``thigh_z``: the PET field of view's top edge with the head in view
        and its bottom edge without it, mm.
    solids : tuple of SolidEntry
        In painting order.
    """

    path: Path
    version: int
    dimensions: tuple[tuple[str, Length], ...]
    scan_range: dict[str, Length]
    solids: tuple[SolidEntry, ...]

    def variables(self, body: dict[str, float]) -> dict[str, float]:
        """The body-size factors ``body`` (keys :data:`BODY_VARIABLES`) plus the dimensions."""
        values = {name: body[name] for name in BODY_VARIABLES}
        for name, length in self.dimensions:
            values[name] = length(values)
        return values

    def solid_arguments(self, body: dict[str, float]) -> list[dict[str, Any]]:
        """Keyword arguments of :class:`netpet.synthetic.anatomy.Solid`, in painting order.

        Compound entries are expanded (one capsule per path segment, one cylinder per stack
        level).  Each dict also has ``loops``: the tissue of the loops that follow the solid,
        or ``None``.

        Parameters
        ----------
        body : dict of str to float
            The patient's body-size factors, keys :data:`BODY_VARIABLES`.
        """
        v = self.variables(body)
        out = []
        for e in self.solids:
            planes = tuple(tuple(c(v) for c in plane) for plane in e.planes)
            for name, label, geometry in _geometries(e, v):
                out.append(
                    {
                        "name": name,
                        "tissue": e.tissue,
                        "label": label,
                        "planes": planes,
                        "loops": e.loops,
                        **geometry,
                    }
                )
        return out

    def scan_range_mm(self, body: dict[str, float]) -> tuple[float, float]:
        """(``vertex_z``, ``thigh_z``) in mm for the body-size factors ``body``."""
        v = self.variables(body)
        return self.scan_range["vertex_z"](v), self.scan_range["thigh_z"](v)


def _geometries(e: SolidEntry, v: dict[str, float]) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """(name, label, ``Solid`` geometry: kind, a, b, r) of each solid entry ``e`` stands for."""
    vec = {key: tuple(c(v) for c in lengths) for key, lengths in e.vectors.items()}
    if e.shape == "ellipsoid":
        yield e.name, e.label, {"kind": "ellipsoid", "a": vec["centre"], "b": vec["semi_axes"]}
    elif e.shape == "cylinder":
        yield e.name, e.label, _cylinder(vec, *vec["z_range"])
    elif e.shape == "capsule":
        r = e.scalars["r"](v)
        yield e.name, e.label, {"kind": "capsule", "a": vec["start"], "b": vec["end"], "r": r}
    elif e.shape == "capsule_path":
        points = [tuple(c(v) for c in p) for p in e.points]
        r = e.scalars["r"](v)
        for i, (a, b) in enumerate(itertools.pairwise(points)):
            yield f"{e.name}_{i}", e.label, {"kind": "capsule", "a": a, "b": b, "r": r}
    else:  # cylinder_stack: level k centred at first_z + k * pitch
        first, pitch, half = (e.scalars[k](v) for k in ("first_z", "pitch", "half_height"))
        for k, level in enumerate(e.levels):
            zc = first + k * pitch
            label = _LABEL_OF_NAME.get(e.organ.format(level=level), 0)
            yield f"{e.name}_{level}", label, _cylinder(vec, zc - half, zc + half)


def _cylinder(vec: dict[str, tuple[float, ...]], z0: float, z1: float) -> dict[str, Any]:
    """``Solid`` geometry of an elliptic cylinder: a = (cx, cy, z0), b = (sx, sy, z1)."""
    (cx, cy), (sx, sy) = vec["centre_xy"], vec["semi_axes_xy"]
    return {"kind": "cylinder", "a": (cx, cy, z0), "b": (sx, sy, z1)}


@functools.lru_cache(maxsize=4)
def read_anatomy_file(path: Path = ANATOMY_FILE, *, tissues: tuple[str, ...]) -> AnatomyFile:
    """Read and check an anatomy file (cached per path).

    Parameters
    ----------
    path : Path
        The YAML file; default the packaged ``anatomy_v1.yaml``.
    tissues : tuple of str
        The tissue names a solid may use (``anatomy.TISSUES``).

    Returns
    -------
    AnatomyFile

    Raises
    ------
    InputError
        On a YAML error, a wrong ``version``, an unknown or missing key, shape, tissue, organ
        label name or expression name; the message names the file, the solid and the key.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise InputError(f"anatomy file {path}: cannot read it ({error})") from None
    where = path.name
    if not isinstance(data, dict) or set(data) != {"version", "dimensions", "scan_range", "solids"}:
        raise InputError(
            f"{where}: give exactly the top-level keys version, dimensions, scan_range, solids"
        )
    if data["version"] != ANATOMY_VERSION:
        raise InputError(
            f"{where}: version is {data['version']!r}, this code reads version "
            f"{ANATOMY_VERSION}; use anatomy_v{ANATOMY_VERSION}.yaml"
        )
    names = list(BODY_VARIABLES)
    dimensions = []
    for name, value in _mapping(data["dimensions"], f"{where}: dimensions").items():
        dimensions.append((name, Length(value, f"{where}: dimensions.{name}", names)))
        names.append(name)
    scan_range = _mapping(data["scan_range"], f"{where}: scan_range")
    if set(scan_range) != set(SCAN_RANGE_KEYS):
        raise InputError(f"{where}: scan_range needs exactly the keys {list(SCAN_RANGE_KEYS)}")
    ranges = {k: Length(v, f"{where}: scan_range.{k}", names) for k, v in scan_range.items()}
    if not isinstance(data["solids"], list) or not data["solids"]:
        raise InputError(f"{where}: solids must be a non-empty list of mappings")
    solids = tuple(_entry(raw, where, names, set(tissues)) for raw in data["solids"])
    return AnatomyFile(path, ANATOMY_VERSION, tuple(dimensions), ranges, solids)


def _mapping(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise InputError(f"{where} must be a mapping")
    return value


def _entry(raw: Any, where: str, names: list[str], tissues: set[str]) -> SolidEntry:
    """Check one ``solids`` entry; ``where`` is the file name."""
    raw = _mapping(raw, f"{where}: each solid")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise InputError(f"{where}: solid {raw!r} has no name; give name: <text>")
    at = f"{where}: solid {name!r}"
    shape = raw.get("shape")
    if shape not in _SHAPE_KEYS:
        raise InputError(f"{at} key 'shape' is {shape!r}; use one of {sorted(_SHAPE_KEYS)}")
    vector_keys, scalar_keys = _SHAPE_KEYS[shape]
    allowed = {*_COMMON_KEYS, *vector_keys, *scalar_keys, *_EXTRA_KEYS.get(shape, ())}
    required = {"name", "shape", "tissue", *vector_keys, *scalar_keys, *_EXTRA_KEYS.get(shape, ())}
    required.discard("loops")
    if set(raw) - allowed or required - set(raw):
        raise InputError(
            f"{at}: keys {sorted(raw)}; a {shape} needs {sorted(required)} and may have "
            f"{sorted(allowed - required)}"
        )
    for key in ("tissue", *(("loops",) if "loops" in raw else ())):
        if not isinstance(raw[key], str) or raw[key] not in tissues:
            raise InputError(f"{at} key {key!r} is {raw[key]!r}; use one of {sorted(tissues)}")
    organ = raw.get("organ", "")
    if not isinstance(organ, str):
        raise InputError(f"{at} key 'organ' is {organ!r}; give a label name of netpet.labels")
    label: int | None = 0
    if shape == "cylinder_stack":
        label = None
        if organ and "{level}" not in organ:
            raise InputError(f"{at} key 'organ' is {organ!r}; give a template with {{level}}")
        levels = raw["levels"]
        if not isinstance(levels, list) or not levels:
            raise InputError(f"{at} key 'levels' must be a non-empty list")
    elif organ:
        if organ not in _LABEL_OF_NAME:
            raise InputError(
                f"{at} key 'organ' is {organ!r}; use a label name of netpet.labels "
                f"({sorted(_LABEL_OF_NAME)}) or leave it out"
            )
        label = _LABEL_OF_NAME[organ]
    planes = raw.get("planes", [])
    if not isinstance(planes, list) or any(not isinstance(p, list) or len(p) != 4 for p in planes):
        raise InputError(f"{at} key 'planes' must be a list of [nx, ny, nz, d]")
    points = raw.get("points", [])
    if shape == "capsule_path" and (
        not isinstance(points, list) or len(points) < 2 or any(not _is_vector(p, 3) for p in points)
    ):
        raise InputError(f"{at} key 'points' must be a list of at least two [x, y, z]")
    vectors = {}
    for key, n in vector_keys.items():
        if not _is_vector(raw[key], n):
            raise InputError(f"{at} key {key!r} must be a list of {n} lengths")
        vectors[key] = tuple(Length(c, f"{at} key {key!r}", names) for c in raw[key])
    return SolidEntry(
        name=name,
        shape=shape,
        tissue=raw["tissue"],
        organ=organ,
        label=label,
        planes=tuple(
            tuple(Length(c, f"{at} key 'planes'", names) for c in plane) for plane in planes
        ),
        vectors=vectors,
        scalars={key: Length(raw[key], f"{at} key {key!r}", names) for key in scalar_keys},
        points=tuple(tuple(Length(c, f"{at} key 'points'", names) for c in p) for p in points),
        levels=tuple(str(level) for level in raw.get("levels", ())),
        loops=raw.get("loops"),
    )


def _is_vector(value: Any, n: int) -> bool:
    return isinstance(value, list) and len(value) == n
