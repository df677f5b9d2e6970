"""Types of query parameters, for the functions that read a query: pydantic-free at run time.

Each is ``Annotated[int | str, rule]``, where the rule (:class:`Rule`) is a plain function the
dispatcher (:mod:`livestream.dispatch`) runs around pydantic-core's own ``int``/``str`` check, with
the ``Query(...)`` marker's bounds; at docs time pydantic reads the same rule through
``__get_pydantic_core_schema__`` (as it reads its own ``BeforeValidator``/``AfterValidator``), so the
OpenAPI document shows each parameter's type and bounds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal

from livestream.rules import check_text

if TYPE_CHECKING:
    from pydantic_core import CoreSchema

__all__ = ["QueryInt", "QueryText", "Rule"]


class Rule:
    """``Annotated`` metadata: ``check`` runs before (on what was sent) or after (on the checked
    value) the type's own validation; it raises ``ValueError`` to refuse."""

    __slots__ = ("check", "mode")

    def __init__(self, mode: Literal["before", "after"], check: Callable[[Any], Any]) -> None:
        self.mode = mode
        self.check = check

    def wrap(self, schema: CoreSchema) -> CoreSchema:
        from pydantic_core import core_schema as cs

        if self.mode == "before":
            return cs.no_info_before_validator_function(self.check, schema)
        return cs.no_info_after_validator_function(self.check, schema)

    def __get_pydantic_core_schema__(self, source: Any, handler: Callable[[Any], CoreSchema]) -> CoreSchema:
        return self.wrap(handler(source))

    def __repr__(self) -> str:
        return f"Rule({self.mode!r}, {self.check.__name__})"


_ASCII_INTEGER = re.compile(r"-?[0-9]{1,16}")


def ascii_integer(value: Any) -> Any:
    if isinstance(value, str) and not _ASCII_INTEGER.fullmatch(value):
        raise ValueError("must be a whole number")  # in ASCII digits
    return value


QueryInt = Annotated[int, Rule("before", ascii_integer)]
"""An integer query parameter: ASCII digits only (no ``１２``, ``1e3``, ``1_000``, ``+5`` or spaces)."""
QueryText = Annotated[str, Rule("after", check_text)]
"""A text query parameter: valid Unicode, no control characters."""
