"""Frozen dataclass records built in bulk, and the cyclic garbage collector paused meanwhile.

A frozen dataclass's generated `__init__` sets each field through `object.__setattr__`: ~10 µs
for a 13-field `SampleRow`, which made record building a quarter of a 500k-sample results
build (issue 18). `assemble` gives the same instance (equal, hashable alike, `replace` works)
from a complete dict of its fields, without that `__init__`, for the hot loops that read a
whole run; everywhere else the class is called as usual.
"""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")


_FIELDS: dict[type, frozenset[str]] = {}


def field_names(cls: type) -> frozenset[str]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = frozenset(f.name for f in dataclasses.fields(cls))
    return names


def assemble(cls: type[T], values: dict[str, Any]) -> T:
    """An instance of `cls` (a dataclass without `__post_init__` or slots) whose fields are
    `values`, which must name every field and nothing else (the dict becomes its `__dict__`)."""
    if cls not in _ASSEMBLABLE:
        _check_assemblable(cls)
    obj = object.__new__(cls)
    object.__setattr__(obj, "__dict__", values)
    return obj


_ASSEMBLABLE: set[type] = set()


def _check_assemblable(cls: type) -> None:
    """Refuse a class whose instances `assemble` would build wrongly: one with slots (no
    `__dict__` to set) or a `__post_init__` (which `assemble` would skip)."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"assemble: {cls.__name__} is not a dataclass")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"assemble: {cls.__name__} has a __post_init__, which would be skipped")
    if any("__slots__" in vars(k) for k in cls.__mro__):
        raise TypeError(f"assemble: {cls.__name__} has slots; call the class instead")
    _ASSEMBLABLE.add(cls)


def assemble_or_call(cls: type[T], defaults: dict[str, Any], given: Mapping[str, Any]) -> T:
    """`cls(**given)`, fast where `given` names only fields of `cls` (`defaults` holds every
    field's default); otherwise the class itself is called, and raises as it always did."""
    if given.keys() <= field_names(cls):
        return assemble(cls, {**defaults, **given})
    return cls(**given)


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic collector off for the block (and back on after it, if it was on). Reading a
    500k-sample run allocates millions of acyclic objects that all survive, and each of them
    counts towards the next collection, which then walks every one: 20-25% of the build
    (42.7 and 40.6 s with, 32.7 s without it, same store). Reference counting still frees
    everything; a cycle made meanwhile waits for the next collection."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
