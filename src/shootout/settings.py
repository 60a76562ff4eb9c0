"""The base of every settings model a user writes (run config, provider and benchmark
options): a true/false where a number is meant is an error. Pydantic's lax mode reads
`limit: true` as 1 and `temperature: false` as 0.0, which silently runs something else."""

from __future__ import annotations

import types
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator


def _kinds(annotation: Any) -> set[Any]:
    """The plain types an annotation admits (through unions, Optional, Annotated)."""
    origin = get_origin(annotation)
    if origin is Union or origin is types.UnionType or str(origin) == "typing.Annotated":
        return set().union(*(_kinds(a) for a in get_args(annotation)))
    return {origin or annotation}


def number_only(annotation: Any) -> bool:
    """True where a field takes a number and not a boolean."""
    kinds = _kinds(annotation)
    return bool(kinds & {int, float}) and not kinds & {bool, Any, object}


class Settings(BaseModel):
    # no setting is infinite or NaN (`-M timeout=inf` was taken: a request that never times
    # out; a replica's weight of 1e999): pydantic's default reads them as numbers. A
    # subclass's own model_config is merged with this one.
    model_config = ConfigDict(allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_number(cls, v: Any, info: ValidationInfo) -> Any:
        if isinstance(v, bool) and info.field_name is not None:
            field = cls.model_fields.get(info.field_name)
            if field is not None and number_only(field.annotation):
                raise ValueError(f"Input should be a number, not {str(v).lower()}")
        return v
