"""Typed task forms: checking a template's form, and a submission against it (pure, no I/O)."""

from __future__ import annotations

import math
import re
import uuid
from datetime import date
from typing import Any

import msgspec

from mobile_contracts.v1.problems import FieldError
from mobile_contracts.v1.tasks import FieldType, Form, FormField
from workbench.errors import DomainError
from workbench.identity.staff import NameNotVisible, visible_name
from workbench.visible import reads_otherwise, shows_something

CHOICES = (FieldType.CHOICE, FieldType.MULTI_CHOICE)
ATTACHED = (FieldType.PHOTO, FieldType.SIGNATURE)
MAX_PHOTOS = 20
MAX_OPTIONS = 200
"""A choice field offers at most this many options: every RM's template list and offline sync
carry them all (each option's label is capped by the contract)."""
NUMBER_LIMIT = 1e15
"""The largest magnitude of a number answer when its field sets no bound (the bound a template
may set): beyond it a float loses whole units, and a 300-digit answer is no answer."""
MAX_LISTED_ERRORS = 50
"""A refused submission lists at most this many field errors (its detail counts them all)."""
BOUNDED = (FieldType.NUMBER, FieldType.PHOTO)  # the types whose answers min/max bound
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class TextNotAsTyped(DomainError):
    """A free text (a note, a cancellation's reason) that would read otherwise than typed
    (`text_reads_otherwise`): 422 naming its path, as a title that does (`staff.visible_name`)."""

    status, code, title = 422, "request.validation_failed", "Invalid request"


# Multi-line text keeps its lines and tabs: `reads_otherwise` reads them as one line would.
_LINE_BREAKS_AND_TABS = str.maketrans(dict.fromkeys("\t\n\r\u2028\u2029", " "))
READS_OTHERWISE = (
    "must not hold a direction override or a control character (line breaks and tabs aside), "
    "which make it read otherwise than typed"
)


def text_reads_otherwise(text: str) -> bool:
    """Whether a multi-line text (a note, a text answer) holds what makes a line read otherwise
    than typed (`visible.reads_otherwise`: a direction override, a control character); its
    line breaks and tabs are text."""
    return reads_otherwise(text.translate(_LINE_BREAKS_AND_TABS))


def check_text(text: str, *, path: str) -> None:
    """`TextNotAsTyped` (422 naming `path`) if `text_reads_otherwise`."""
    if text_reads_otherwise(text):
        raise TextNotAsTyped(
            f"{path}: {READS_OTHERWISE}", errors=[FieldError(path=path, message=READS_OTHERWISE)]
        )


class InvalidForm(DomainError):
    """A template's form is inconsistent (422 with one error per field)."""

    status, code, title = 422, "template.invalid_form", "The form is not valid"


class InvalidSubmission(DomainError):
    """Submitted values do not fit the task's form version (422 with one error per field)."""

    status, code, title = 422, "task.invalid_submission", "Some answers are not valid"


def check_form(form: Form) -> Form:
    """Keys unique, options exactly where choices are, bounds only where the type uses them and
    such that an answer can meet them (a form nobody can submit is refused now, not later).
    Labels and options are text the RM reads: each must show something on one line, and
    options differ once trimmed. The form comes back with them trimmed, as it is stored."""
    errors: list[FieldError] = []
    seen: set[str] = set()
    fields = []
    for i, field in enumerate(form.fields):
        path = f"$.form.fields[{i}]"
        if field.key in seen:
            errors.append(FieldError(path=f"{path}.key", message=f"duplicate key {field.key!r}"))
        seen.add(field.key)
        label = _shown(field.label, f"{path}.label", errors)
        options = field.options
        if field.type in CHOICES and len(options or []) > MAX_OPTIONS:
            message = f"at most {MAX_OPTIONS} options (this field gives {len(options or [])})"
            errors.append(FieldError(path=f"{path}.options", message=message))
        elif field.type in CHOICES:
            options = [
                _shown(o, f"{path}.options[{j}]", errors) for j, o in enumerate(options or [])
            ]
            if not options or len(set(options)) != len(options):
                message = "give distinct options (spaces around them do not count)"
                errors.append(FieldError(path=f"{path}.options", message=message))
        elif field.options is not None:
            errors.append(FieldError(path=f"{path}.options", message="only choice fields"))
        errors.extend(_bound_errors(field, path))
        fields.append(msgspec.structs.replace(field, label=label, options=options))
    if not form.fields:
        errors.append(FieldError(path="$.form.fields", message="a form needs at least one field"))
    if errors:
        raise InvalidForm(f"{len(errors)} problem(s) in the form", errors=errors)
    return msgspec.structs.replace(form, fields=fields)


def _shown(text: str, path: str, errors: list[FieldError]) -> str:
    """`text` trimmed if it shows something on one line (`staff.visible_name`); else an error
    naming `path` is added (and the text comes back as it was)."""
    try:
        return visible_name(text, path=path)
    except NameNotVisible as refused:
        errors.extend(FieldError(**e) for e in refused.extra["errors"])
        return text


def _bound_errors(field: FormField, path: str) -> list[FieldError]:
    """min/max bound a number, or the count of photos (whole numbers up to MAX_PHOTOS: an
    answer holds 1 to MAX_PHOTOS); max_length bounds text. Any other use is a bound nobody
    reads, so it is refused."""
    errors = []
    for name in ("min", "max"):
        if getattr(field, name) is not None and field.type not in BOUNDED:
            errors.append(FieldError(path=f"{path}.{name}", message=_ONLY_BOUNDED))
    if field.max_length is not None and field.type is not FieldType.TEXT:
        errors.append(FieldError(path=f"{path}.max_length", message="only text fields"))
    if field.type is FieldType.PHOTO:
        errors.extend(_photo_count_errors(field, path))
    if field.min is not None and field.max is not None and field.min > field.max:
        errors.append(FieldError(path=f"{path}.min", message="min is above max"))
    return errors


_ONLY_BOUNDED = "only number and photo fields take min/max"


def _photo_count_errors(field: FormField, path: str) -> list[FieldError]:
    """A count of photos is a whole number; an answer holds 1 to MAX_PHOTOS of them."""
    errors = []
    for name, low in (("min", 0), ("max", 1)):
        bound = getattr(field, name)
        if bound is not None and (bound != int(bound) or not low <= bound <= MAX_PHOTOS):
            message = f"a whole number of photos from {low} to {MAX_PHOTOS}"
            errors.append(FieldError(path=f"{path}.{name}", message=message))
    return errors


class Checked:
    """The result of checking a submission: clean values, and what still needs the database."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.errors: list[FieldError] = []  # the first MAX_LISTED_ERRORS of them
        self.error_count = 0
        self.attachment_ids: dict[str, list[uuid.UUID]] = {}  # field key -> ids to verify
        self.customer_ids: dict[str, uuid.UUID] = {}  # field key -> customer to verify
        # attachment -> the field it answers: one image answers one field of a submission (one
        # signature is never both the customer's and the manager's)
        self.answering: dict[uuid.UUID, str] = {}

    def fail(self, key: str, message: str) -> None:
        """Count every error, list the first few: thousands of unknown keys must not make a
        problem answer of hundreds of kilobytes."""
        self.error_count += 1
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append(FieldError(path=f"$.values.{key}", message=message))

    def refusal(self) -> InvalidSubmission:
        """The 422 for these errors: the detail counts them all, `errors` lists the first."""
        detail = f"{self.error_count} answer(s) need fixing"
        if self.error_count > len(self.errors):
            detail += f" (the first {len(self.errors)} are listed)"
        return InvalidSubmission(detail, errors=self.errors)


def check_values(form: Form, values: dict[str, Any]) -> Checked:
    """Check types, required fields, options and bounds; unknown keys are errors too."""
    result = Checked()
    known = {f.key for f in form.fields}
    for key in values:
        if key not in known:
            result.fail(key, "not a field of this form")
    for field in form.fields:
        value = values.get(field.key)
        if _unanswered(value):
            if field.required:
                result.fail(field.key, "required")
            continue
        _check_one(field, value, result)
    return result


def _unanswered(value: Any) -> bool:
    """Nothing, an empty list, or text that shows nothing (spaces or invisible characters only):
    no answer (a required field needs a real one; an optional one stores nothing)."""
    return value is None or value == [] or (isinstance(value, str) and not shows_something(value))


def _check_one(field: FormField, value: Any, result: Checked) -> None:
    key, kind = field.key, field.type
    if kind is FieldType.TEXT:
        if not isinstance(value, str):
            return result.fail(key, "expected text")
        if len(value) > (field.max_length or 2000):
            return result.fail(key, f"at most {field.max_length or 2000} characters")
        if text_reads_otherwise(value):
            return result.fail(key, READS_OTHERWISE)
        result.values[key] = value
    elif kind is FieldType.NUMBER:
        if not isinstance(value, int | float) or isinstance(value, bool) or not _finite(value):
            return result.fail(key, "expected a number")
        low = field.min if field.min is not None else -NUMBER_LIMIT
        high = field.max if field.max is not None else NUMBER_LIMIT
        if value < low:
            return result.fail(key, f"at least {low:g}")
        if value > high:
            return result.fail(key, f"at most {high:g}")
        result.values[key] = value
    elif kind is FieldType.DATE:
        if not isinstance(value, str) or not _ISO_DATE.match(value):
            return result.fail(key, "expected a date like 2026-11-22")
        try:
            result.values[key] = date.fromisoformat(value).isoformat()
        except ValueError:
            result.fail(key, "expected a date like 2026-11-22")
    elif kind is FieldType.CHOICE:
        if value not in (field.options or []):
            return result.fail(key, "not one of the options")
        result.values[key] = value
    elif kind is FieldType.MULTI_CHOICE:
        options = field.options or []
        if not isinstance(value, list) or any(v not in options for v in value):
            return result.fail(key, "expected a list of the options")
        if len(set(value)) != len(value):
            return result.fail(key, "an option is chosen twice")
        result.values[key] = value
    elif kind is FieldType.LOCATION:
        lat, lng = (value.get("lat"), value.get("lng")) if isinstance(value, dict) else (None, None)
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lat, lng)):
            return result.fail(key, "expected {lat, lng}")
        if not (-90 <= lat <= 90 and -180 <= lng <= 180):  # type: ignore[operator]
            return result.fail(key, "latitude or longitude out of range")
        result.values[key] = {"lat": lat, "lng": lng}
    elif kind in ATTACHED:
        ids = value if kind is FieldType.PHOTO and isinstance(value, list) else [value]
        photo = kind is FieldType.PHOTO
        low = max(1, int(field.min or 1)) if photo else 1
        limit = int(field.max or MAX_PHOTOS) if photo else 1
        parsed = _uuids(ids)
        if parsed is None or not low <= len(parsed) <= limit:
            return result.fail(key, f"expected {low} to {limit} attachment id(s)")
        if len(set(parsed)) != len(parsed):
            return result.fail(key, "the same attachment is given twice")
        if taken := next((result.answering[p] for p in parsed if p in result.answering), None):
            return result.fail(key, f"an attachment already given for {taken}")
        result.answering.update(dict.fromkeys(parsed, key))
        result.attachment_ids[key] = parsed
        result.values[key] = [str(p) for p in parsed] if kind is FieldType.PHOTO else str(parsed[0])
    elif kind is FieldType.CUSTOMER:
        parsed = _uuids([value])
        if parsed is None:
            return result.fail(key, "expected a customer id")
        result.customer_ids[key] = parsed[0]
        result.values[key] = str(parsed[0])
    return None


def _finite(value: int | float) -> bool:
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an integer too large for any sensible form
        return False


def _uuids(values: list[Any]) -> list[uuid.UUID] | None:
    try:
        return [uuid.UUID(str(v)) for v in values]
    except ValueError:
        return None
