"""Request types validated by pydantic-core alone, the contract written once.

pydantic's Python package costs a cold start about a third of the floor: importing it (~40 ms here)
and, on a model's first use, generating its core schema (~20 ms). pydantic-core, the engine that does
the validating, costs ~12 ms. So a request type here is a plain class that declares its
pydantic-core schema directly (:meth:`Validated.fields`, built with :func:`field` and :func:`text`):

- at run time, :meth:`Validated.validate` builds a ``SchemaValidator`` once per container and
  answers an instance of the class (fields as attributes); the errors are pydantic's (the same
  ``type``, ``loc``, ``msg`` and ``ctx``), so ``livestream.api`` words them as before;
- at docs time, pydantic reads the same schema through ``__get_pydantic_core_schema__`` and renders
  its JSON Schema into the OpenAPI document: titles, constraints, descriptions and examples come
  from the one declaration.

Descriptions and examples ride in the schema's ``metadata`` under ``pydantic_js_updates``, the key
pydantic's JSON Schema generator merges into a field's schema.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, ClassVar, Optional, TypeVar

from pydantic_core import SchemaValidator
from pydantic_core import core_schema as cs

from livestream.rules import check_text

__all__ = ["Validated", "field", "text"]

V = TypeVar("V", bound="Validated")
_REQUIRED: Any = object()


def text(
    *, min_length: Optional[int] = None, max_length: Optional[int] = None, pattern: Optional[str] = None, line_breaks: bool = False
) -> cs.CoreSchema:
    """A JSON string (not a number, boolean or list) of valid Unicode without control characters
    (``line_breaks``: tabs and line breaks allowed), then within the given bounds: checked in that
    order, as pydantic checks its ``Annotated[str, AfterValidator(...), Field(max_length=...)]``."""
    rule = partial(check_text, line_breaks=True) if line_breaks else check_text
    unicode_text = cs.no_info_after_validator_function(rule, cs.str_schema(strict=True))
    bounds = {"min_length": min_length, "max_length": max_length, "pattern": pattern}
    if all(value is None for value in bounds.values()):
        return unicode_text
    # a chain documents its first step: the bounds are shown as pydantic shows them
    shown = {"minLength": min_length, "maxLength": max_length, "pattern": pattern}
    metadata = {"pydantic_js_updates": {key: value for key, value in shown.items() if value is not None}}
    return cs.chain_schema([unicode_text, cs.str_schema(min_length=min_length, max_length=max_length, pattern=pattern)], metadata=metadata)


def field(
    schema: cs.CoreSchema,
    *,
    default: Any = _REQUIRED,
    default_factory: Optional[Callable[[], Any]] = None,
    alias: Optional[str] = None,
    description: Optional[str] = None,
    examples: Optional[list[Any]] = None,
    json_schema: Optional[dict[str, Any]] = None,
) -> cs.ModelField:
    """A field of a :class:`Validated` type: required unless it has a default (or a factory of one),
    read from ``alias`` when given; ``description``, ``examples`` and ``json_schema`` only document it."""
    if default_factory is not None:
        schema = cs.with_default_schema(schema, default_factory=default_factory)
    elif default is not _REQUIRED:
        schema = cs.with_default_schema(schema, default=default)
    shown = {"description": description, "examples": examples, **(json_schema or {})}
    updates = {key: value for key, value in shown.items() if value is not None}
    metadata = {"pydantic_js_updates": updates} if updates else None
    return cs.model_field(schema, validation_alias=alias, serialization_alias=alias, metadata=metadata)


class Validated:
    """A request type: subclasses declare :meth:`fields` (and ``config``: ``strict``,
    ``extra_fields_behavior``, ``validate_by_name``...), optionally :meth:`check` for rules across
    fields; :meth:`validate` answers an instance whose attributes are the validated fields."""

    # pydantic-core keeps the fields in ``__dict__`` and its bookkeeping in these slots, as on a BaseModel
    __slots__ = ("__dict__", "__pydantic_extra__", "__pydantic_fields_set__", "__pydantic_private__")

    config: ClassVar[cs.CoreConfig] = {}
    # read by pydantic's JSON Schema generator at docs time, as it reads a BaseModel's
    model_config: ClassVar[dict[str, Any]] = {}
    __pydantic_root_model__: ClassVar[bool] = False
    _validator: ClassVar[Optional[SchemaValidator]] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.model_config = {"title": cls.__name__}
        if "extra_fields_behavior" in cls.config:
            cls.model_config["extra"] = cls.config["extra_fields_behavior"]
        cls._validator = None

    @classmethod
    def fields(cls) -> dict[str, cs.ModelField]:
        raise NotImplementedError(f"{cls.__name__} declares no fields")

    @classmethod
    def check(cls: type[V], value: V) -> V:
        """Rules across fields, once each field is valid: raise ``ValueError`` to refuse."""
        return value

    @classmethod
    def core_schema(cls) -> cs.CoreSchema:
        fields = cs.model_fields_schema(cls.fields(), model_name=cls.__name__)
        ref = f"{cls.__module__}.{cls.__qualname__}:{id(cls)}"  # as pydantic names a model's $defs entry
        schema: cs.CoreSchema = cs.model_schema(cls, fields, config={"title": cls.__name__, **cls.config}, ref=ref)
        if cls.check.__func__ is not Validated.check.__func__:  # type: ignore[attr-defined]  # a subclass's cross-field rules
            schema = cs.no_info_after_validator_function(cls.check, schema)
        return schema

    @classmethod
    def validator(cls) -> SchemaValidator:
        """Built on first use, once per container (a SnapStart snapshot holds it built)."""
        if cls._validator is None:
            cls._validator = SchemaValidator(cls.core_schema())
        return cls._validator

    @classmethod
    def validate(cls: type[V], data: Any, *, context: Optional[dict[str, Any]] = None) -> V:
        """``data`` validated (raises ``pydantic_core.ValidationError``)."""
        validated: V = cls.validator().validate_python(data, context=context)
        return validated

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> cs.CoreSchema:
        return cls.core_schema()

    def as_dict(self) -> dict[str, Any]:
        """The validated fields by name."""
        return {name: getattr(self, name) for name in self.fields()}

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in self.as_dict().items())
        return f"{type(self).__name__}({shown})"
