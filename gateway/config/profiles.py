"""Modbus register maps (``profile:`` of a Modbus device): the shipped ones and a
campus's own, loaded and checked against the kind of device they are for."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from campuswatch.configfile import Strict, load_model
from campuswatch.protocol import KINDS, Kind
from gateway.config.types import FieldName

DataType = Literal["int16", "uint16", "int32", "uint32", "float32"]


class RegisterField(Strict):
    """One value read from one or two registers: ``value = raw x scale``."""

    field: FieldName
    # "register" in the file; named address here (BaseModel has a register attribute).
    address: Annotated[int, Field(ge=0, le=65535, alias="register")]
    datatype: DataType
    scale: float = 1.0
    function: Literal["holding", "input"] | None = None
    word_order: Literal["big", "little"] | None = None


class ModbusProfile(Strict):
    """A device model's register map (``firmware_configs/modbus/<profile>.yaml``)."""

    model: str
    source: str = Field(min_length=1)
    # The kind of device the map is for; when given, devices of another kind are refused.
    kind: Kind | None = None
    function: Literal["holding", "input"] = "holding"
    word_order: Literal["big", "little"] = "big"
    fields: list[RegisterField] = Field(min_length=1)


def profile_problems(profile: ModbusProfile, kind: str | None = None) -> list[str]:
    """Fields that ``kind`` (default: the profile's own) does not have as numbers."""
    kind = kind or profile.kind
    if kind is None:
        return []
    types = KINDS[kind].types
    problems = [
        f"fields[{i}].field: {f.field!r} is not a numeric field of kind {kind}"
        for i, f in enumerate(profile.fields)
        if f.field in types and types[f.field].value not in ("float", "int")
    ]
    names = {f.field for f in profile.fields}
    spec = KINDS[kind]
    needed = [n for n in spec.required if n not in names]
    if spec.one_of and not names.intersection(spec.one_of):
        needed.append(" or ".join(spec.one_of))
    problems += [
        f"fields: a {kind} reading needs {n!r}, which this map does not read" for n in needed
    ]
    return problems


# The register maps installed with the gateway (also firmware_configs/modbus).
SHIPPED_PROFILES = Path(__file__).resolve().parent.parent / "modbus_profiles"


def load_profile(directory: Path, name: str) -> ModbusProfile:
    """Load and check one register map: ``directory``'s own, else the shipped one."""
    path = directory / f"{name}.yaml"
    if not path.exists() and (SHIPPED_PROFILES / f"{name}.yaml").exists():
        path = SHIPPED_PROFILES / f"{name}.yaml"
    return load_model(path, ModbusProfile, profile_problems)
