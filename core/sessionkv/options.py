"""Typed store options: each backend declares its options once; URL query text and keyword
overrides are converted and checked against that declaration."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ConfigurationError
from .namespaces import check_namespace

DEFAULT_NAMESPACE = "sessionkv:"


def _to_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true/false, yes/no, on/off or 1/0")


def _to_positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or math.isinf(value):
        raise ValueError("expected a finite number > 0")
    return value


def _to_positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise ValueError("expected a whole number > 0")
    return value


_PARSERS: dict[type, Callable[[str], Any]] = {bool: _to_bool, int: int, float: float, str: str}


@dataclass(frozen=True)
class Option:
    """One option a backend accepts: its type, default and a line of help.

    ``positive`` requires numbers > 0; ``parse`` overrides the text conversion; ``validate`` checks
    (and may normalise) the typed value from either source, raising ``ConfigurationError``.
    """

    type: type
    default: Any
    help: str = ""
    positive: bool = False
    parse: Callable[[str], Any] | None = None
    validate: Callable[[Any], Any] | None = None

    def from_text(self, name: str, text: str) -> Any:
        """Convert query-string text to this option's type, or raise ``ConfigurationError``."""
        parser = self.parse or (
            _to_positive_float
            if self.positive and self.type is float
            else _to_positive_int
            if self.positive and self.type is int
            else _PARSERS.get(self.type, self.type)
        )
        try:
            value = parser(text)
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"option {name}={text!r} is not a valid {self.type.__name__}: {exc}") from None
        return value if self.validate is None else self.validate(value)

    def check(self, name: str, value: Any) -> Any:
        """Check a keyword override (already typed) and return it."""
        if value is None and self.default is None:
            return None
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, self.type) or (self.type is not bool and isinstance(value, bool)):
            raise ConfigurationError(f"option {name} must be {self.type.__name__}, not {type(value).__name__}")
        if self.positive and not (isinstance(value, (int, float)) and value > 0 and not math.isinf(value)):
            raise ConfigurationError(f"option {name} must be > 0, got {value!r}")
        return value if self.validate is None else self.validate(value)


NAMESPACE_OPTION = Option(
    str,
    DEFAULT_NAMESPACE,
    "prefix of every key this store writes: one segment ending in ':' or '/' (e.g. myapp:)",
    validate=check_namespace,
)


def resolve_options(
    spec: Mapping[str, Option], query: Mapping[str, str], overrides: Mapping[str, Any], *, scheme: str
) -> dict[str, Any]:
    """Merge defaults, URL query text and keyword overrides into typed option values.

    An option that ``spec`` does not declare raises ``ConfigurationError`` listing the valid ones.
    """
    unknown = sorted((set(query) | set(overrides)) - set(spec))
    if unknown:
        valid = ", ".join(sorted(spec)) or "none"
        raise ConfigurationError(f"unknown option(s) for {scheme}://: {', '.join(unknown)}. Valid options: {valid}")
    values = {name: opt.default for name, opt in spec.items()}
    for name, text in query.items():
        values[name] = spec[name].from_text(name, text)
    for name, value in overrides.items():
        values[name] = spec[name].check(name, value)
    return values
