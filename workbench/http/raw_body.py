"""A request body the route's own code decodes, documented as the contract's type it is.

Some bodies are read otherwise than Litestar's decoding would read them: a bank feed's rows
each on its own (`workbench.http.feed_rows`), a survey answer's values each as sent (its wrong
types said at their questions). A route declares the contract's type as its body (so the
OpenAPI document and its examples describe it, as before) with `dto=<subclass>[Type],
return_dto=None`; the subclass decodes the bytes (`decode_bytes`).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any, TypeVar

from litestar.dto import AbstractDTO, DTOFieldDefinition
from litestar.openapi.spec import Reference, Schema
from litestar.typing import FieldDefinition

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator

T = TypeVar("T")


class BodyReadByHandler(AbstractDTO[T]):
    """No transfer model: `decode_bytes` (each subclass's) reads the body; the body is
    documented as the declared type."""

    @classmethod
    def generate_field_definitions(
        cls, model_type: type[Any]
    ) -> Generator[DTOFieldDefinition, None, None]:
        yield from ()

    @classmethod
    def detect_nested_field(cls, field_definition: FieldDefinition) -> bool:
        return False

    @classmethod
    def create_for_field_definition(
        cls, field_definition: FieldDefinition, handler_id: str, backend_cls: Any = None
    ) -> None:
        """Nothing to build; `check_model` looks at the declared type as the app starts."""
        cls.check_model()

    @classmethod
    def check_model(cls) -> None:
        """What a subclass checks of its declared type at start (nothing by default)."""

    @classmethod
    def create_openapi_schema(
        cls, field_definition: FieldDefinition, handler_id: str, schema_creator: SchemaCreator
    ) -> Reference | Schema:
        return schema_creator.for_field_definition(field_definition)  # as declared
