"""Declared constraints for frozen-dataclass params sections, and the loader that checks them.

Each field declares its constraint next to its default (scikit-learn's
``_parameter_constraints`` idea); the same declaration produces the check and
the message, so a message always names the key, the allowed values and the
value given. Sections live with the code that reads them; ``params`` puts
them together.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from .errors import ParamsError


@dataclass(frozen=True)
class OneOf:
    values: tuple

    def ok(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.values

    def describe(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


@dataclass(frozen=True)
class Number:
    """An int or float in [low, high] (or open at an end, by ``closed``)."""

    kind: type
    low: float | None = None
    high: float | None = None
    closed: str = "both"  # both | left | right | neither

    def ok(self, value: Any) -> bool:
        if isinstance(value, bool):
            return False
        if self.kind is int and not isinstance(value, int):
            return False
        if self.kind is float and not isinstance(value, (int, float)):
            return False
        if isinstance(value, float) and not math.isfinite(value):
            return False
        below = self.low is not None and (
            value < self.low or (value == self.low and self.closed in ("right", "neither"))
        )
        above = self.high is not None and (
            value > self.high or (value == self.high and self.closed in ("left", "neither"))
        )
        return not (below or above)

    def describe(self) -> str:
        name = "an integer" if self.kind is int else "a number"
        if self.low is None and self.high is None:
            return name
        left = "[" if self.closed in ("both", "left") else "("
        right = "]" if self.closed in ("both", "right") else ")"
        low = "-inf" if self.low is None else f"{self.low:g}"
        high = "inf" if self.high is None else f"{self.high:g}"
        return f"{name} in {left}{low}, {high}{right}"


@dataclass(frozen=True)
class Text:
    def ok(self, value: Any) -> bool:
        return isinstance(value, str)

    def describe(self) -> str:
        return "a string"


@dataclass(frozen=True)
class Flag:
    def ok(self, value: Any) -> bool:
        return isinstance(value, bool)

    def describe(self) -> str:
        return "true or false"


@dataclass(frozen=True)
class AutoOrFlag:
    """'auto', or a YAML boolean (``true``/``false``, as ``-S key=true`` writes it)."""

    def ok(self, value: Any) -> bool:
        return value == "auto" or isinstance(value, bool)

    def describe(self) -> str:
        return "'auto', true or false"


@dataclass(frozen=True)
class FlagOr:
    """A YAML boolean or one of ``values`` (a named third way: ``flip: alternating``)."""

    values: tuple

    def ok(self, value: Any) -> bool:
        return isinstance(value, bool) or (isinstance(value, str) and value in self.values)

    def describe(self) -> str:
        return "true, false or " + " or ".join(repr(v) for v in self.values)


@dataclass(frozen=True)
class AutoOr:
    """'auto' (decided from other params at run time), or a value ``inner`` accepts."""

    inner: Any

    def ok(self, value: Any) -> bool:
        return value == "auto" or self.inner.ok(value)

    def describe(self) -> str:
        return f"'auto' or {self.inner.describe()}"


@dataclass(frozen=True)
class OrNull:
    inner: Any

    def ok(self, value: Any) -> bool:
        return value is None or self.inner.ok(value)

    def describe(self) -> str:
        return f"null or {self.inner.describe()}"


@dataclass(frozen=True)
class ListOf:
    inner: Any

    def ok(self, value: Any) -> bool:
        return isinstance(value, list) and all(self.inner.ok(v) for v in value)

    def describe(self) -> str:
        return f"a list, each item {self.inner.describe()}"


UNIT_INTERVAL = Number(float, 0, 1, "left")
POSITIVE = Number(float, 0, None, "neither")


def param(default: Any, constraint: Any) -> Any:
    """A dataclass field whose constraint travels in its metadata."""
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"constraint": constraint})
    return field(default=default, metadata={"constraint": constraint})


def build_section(cls: type, raw: Any, prefix: str, where: str) -> Any:
    """``raw`` (a mapping read from ``where``) as ``cls``, nested sections included.

    Every key must be present and known, every value must meet its constraint, and
    a section's own ``check`` runs last; the first failure raises a ParamsError
    whose message names the dotted key.
    """
    if not isinstance(raw, dict):
        shown = prefix.rstrip(".") or "the top level"
        raise ParamsError(f"{where}: {shown} must be a mapping of keys; got {raw!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in fields:
            section = prefix.rstrip(".") or "the top level"
            raise ParamsError(
                f"{where}: unknown key '{prefix}{key}'; allowed keys under {section}: {', '.join(fields)}"
            )
    values = {}
    for name, f in fields.items():
        dotted = prefix + name
        if name not in raw:
            raise ParamsError(f"{where}: missing key '{dotted}' (every knob must be present for `dvc exp run -S`)")
        value = raw[name]
        section_cls = f.default_factory
        if isinstance(section_cls, type) and dataclasses.is_dataclass(section_cls):
            values[name] = build_section(section_cls, value, dotted + ".", where)
            continue
        constraint = f.metadata["constraint"]
        if not constraint.ok(value):
            raise ParamsError(f"{where}: {dotted} must be {constraint.describe()}; got {value!r}")
        if isinstance(constraint, Number) and constraint.kind is float:
            value = float(value)
        values[name] = value
    obj = cls(**values)
    check = getattr(obj, "check", None)
    if check is not None:
        check(where, prefix)
    return obj


def is_hex(text: str, length: int) -> bool:
    return len(text) == length and all(c in "0123456789abcdefABCDEF" for c in text)
