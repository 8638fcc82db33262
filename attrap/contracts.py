"""Typed contracts for the files a maintainer writes, and the one-line errors they give.

Each file a maintainer edits (``attrap.toml``, the channels file, ``scrapers/*.toml``,
``patterns/*.toml``) has a pydantic model of its shape: a :class:`Contract`, which takes no key
it does not name and no value of another type than the one it declares (TOML gives native
values: ``max_pages = "300"`` is a string, not a number). :func:`validate` checks a parsed file
against its model and turns pydantic's report into a :class:`~attrap.errors.ConfigError` of one
line naming the file, the entry (a rule, a channel…) and the key::

    attrap.toml: unknown key 'crawl.reqest_delay' (known: request_delay)
    ATTRAP_REQUEST_DELAY must be a number, not 'abc'

A value is never repeated in a message when its key speaks of a token, nor for an unknown key
(which may be a misspelt ``access_token``).
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, SecretStr, ValidationError
from pydantic_core import ErrorDetails

from attrap.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


class Contract(BaseModel):
    """The shape of a file (or of one of its tables): no unknown key, no loosely typed value."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def validate(model: type[M], data: Any, where: str = "") -> M:
    """``data`` as ``model``, else a ConfigError: ``"<where>: <what is wrong>"`` (one line)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problem = explain(exc, model)
    # raised here, not in the except clause: the ValidationError (which holds every input,
    # tokens included) is neither the cause nor the context of what a user is shown
    raise ConfigError(f"{where}: {problem}" if where else problem)


def explain(exc: ValidationError, model: type[BaseModel] | None = None) -> str:
    """The first problem pydantic found, in words (and how many others there are)."""
    errors = exc.errors(include_url=False)
    first = _describe(errors[0], model)
    if len(errors) > 1:
        more = len(errors) - 1
        first += f" (and {more} more problem{'s' if more > 1 else ''})"
    return first


#: what a value must be, by pydantic error type
_MUST_BE = {
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "a string",
    "list_type": "a list",
    "tuple_type": "a list",
    "set_type": "a list",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "dataclass_type": "a table",
    "date_type": "a date (YYYY-MM-DD)",
    "date_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_inexact": "a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "a date (YYYY-MM-DD)",
    "path_type": "a path",
}
_BOUNDS = {
    "greater_than": "more than {gt}",
    "greater_than_equal": "at least {ge}",
    "less_than": "less than {lt}",
    "less_than_equal": "at most {le}",
}


def _describe(error: ErrorDetails, model: type[BaseModel] | None) -> str:
    loc = tuple(error.get("loc", ()))
    key = _key(loc)
    kind = error["type"]
    ctx = error.get("ctx") or {}
    secret = _is_secret(model, loc)
    if kind == "extra_forbidden":
        parent = _model_at(model, loc[:-1]) if model else None
        known = f" (known: {', '.join(_names(parent))})" if parent is not None else ""
        return f"unknown key {key!r}{known}"
    if kind == "missing":
        return f"missing key {key!r}"
    if kind in _MUST_BE:
        what = _MUST_BE[kind]
    elif kind == "literal_error":
        what = "one of " + ", ".join(re.findall(r"'([^']*)'", str(ctx.get("expected", ""))))
    elif kind in _BOUNDS:
        what = _BOUNDS[kind].format(**{k: _plain(v) for k, v in ctx.items()})
        if kind == "greater_than_equal" and _plain(ctx.get("ge")) == "0":
            what = "not negative"
    elif kind == "too_short" and ctx.get("min_length") == 1:
        what = "not empty"
    elif kind in ("too_short", "too_long"):
        bound = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        what = f"{'at least' if kind == 'too_short' else 'at most'} {bound} long"
    elif kind in ("value_error", "assertion_error"):
        # a validator's own words, a predicate: "must be an https:// URL"
        message = str(ctx.get("error") or error.get("msg", ""))
        message = re.sub(r"^(Value|Assertion) error, ", "", message)
        return f"{key} {message}" if key else message
    else:
        message = str(error.get("msg", "is not valid"))
        message = message[:1].lower() + message[1:]
        return f"{key}: {message}" if key else message
    subject = key or "the file"
    negated = what.startswith("not ")
    if negated:  # "must not be empty": what it is, after a colon
        what = what[4:]
    if secret or "input" not in error:
        shown = ""
    else:
        shown = f": {_show(error['input'])}" if negated else f", not {_show(error['input'])}"
    return f"{subject} {'must not be' if negated else 'must be'} {what}{shown}"


def _key(loc: tuple[Any, ...]) -> str:
    """``("crawl", "request_delay")`` → ``crawl.request_delay``; ``("any", 2)`` → ``any[2]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _plain(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _show(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _names(model: type[BaseModel]) -> list[str]:
    return sorted((f.alias or name) for name, f in model.model_fields.items())


def _field(model: type[BaseModel], part: str) -> Any:
    for name, f in model.model_fields.items():
        if part in (name, f.alias, f.validation_alias):
            return f
    return None


def _model_at(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model of the table at ``loc`` in ``model`` (None when it is not one)."""
    for part in loc:
        if model is None:
            return None
        if isinstance(part, int):
            continue
        f = _field(model, part)
        model = _inner_model(f.annotation) if f is not None else None
    return model


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        if (found := _inner_model(arg)) is not None:
            return found
    return None


def _is_secret(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> bool:
    """Whether the value at ``loc`` is one never to repeat: a token."""
    if any("token" in str(part).lower() for part in loc):
        return True
    parent = _model_at(model, loc[:-1]) if model is not None and loc else None
    f = _field(parent, str(loc[-1])) if parent is not None and loc else None
    return f is not None and _holds(f.annotation, SecretStr)


def _holds(annotation: Any, kind: type) -> bool:
    if annotation is kind:
        return True
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        return any(_holds(a, kind) for a in typing.get_args(annotation))
    return False


def one_of(choices: Iterable[str]) -> AfterValidator:
    """A validator: the value is one of ``choices`` (named in the error, in their order)."""
    allowed = tuple(choices)

    def check(value: Any) -> Any:
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}, not {_show(value)}")
        return value

    return AfterValidator(check)


def listed(value: Any) -> Any:
    """A BeforeValidator's function: one string may stand for a list of one (``any = "…"``)."""
    return [value] if isinstance(value, str) else value
