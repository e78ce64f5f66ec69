"""Checking an after-call card against a JSON Schema that a client (or a tenant admin) wrote.

The schema is untrusted input, so the `jsonschema` library runs here with these changes:

- References resolve only inside the schema (and to bundled copies of the meta-schemas): the
  registry's `retrieve` refuses every URI, so no `$ref` makes the server fetch a URL or read a file.
- `$schema` may appear only at the schema's root (it picks the dialect, then is dropped): below
  it, jsonschema would switch to its own validator class, without any of what follows.
- Regular expressions (`pattern`, `patternProperties`, `additionalProperties` next to
  `patternProperties`, the `regex` format) run on RE2, whose matching time is linear in the text; a
  pattern RE2 cannot compile (backreferences, lookaround) is refused. The view runs in the server's
  process, where a backtracking regex holds the GIL and so freezes the event loop.
- Every keyword application is charged to a budget of `MAX_VALIDATION_STEPS` (with a wall-clock
  backstop of `MAX_VALIDATION_S`), so self-referencing or exponentially branching schemas end with
  an error instead of running on; `uniqueItems` is linear, not quadratic.
- `unevaluatedProperties` and `unevaluatedItems` are refused: the library evaluates them with the
  standard `re` module and quadratic scans.

Size and depth limits come first (`MAX_CARD_BYTES`, `MAX_CARD_DEPTH`, `MAX_SCHEMA_BYTES`,
`MAX_SCHEMA_DEPTH`), then the schema is checked against its meta-schema, then the card against the
schema. Every failure is a `bad_request` `ApiError` (`UnusableSchema` when the schema is at fault)
whose message quotes nothing but the input itself.
"""
import json
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import re2
import referencing
import referencing.exceptions
import referencing.jsonschema
from jsonschema import FormatChecker, ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import extend
from jsonschema_specifications import REGISTRY as SPECIFICATIONS

from zorio_widget.api.errors import ApiError
from zorio_widget.api.views import nesting_depth

#: A card is agent-typed notes, not a file store.
MAX_CARD_BYTES = 32 * 1024
MAX_CARD_DEPTH = 16
#: A card form's schema: a few dozen fields, with room for enums and `$defs`. Describing one level
#: of a card takes two levels of schema (`properties`, then the property's own schema), plus a few
#: for `allOf`/`anyOf` wrappers.
MAX_SCHEMA_BYTES = 16 * 1024
MAX_SCHEMA_DEPTH = 2 * MAX_CARD_DEPTH + 8
#: Keyword applications (plus the length of list/object keyword values and ~1 per KiB of text
#: matched) allowed for checking one schema, and again for checking one card against it.
MAX_VALIDATION_STEPS = 50_000
#: A backstop behind the step budget: neither check runs longer than this.
MAX_VALIDATION_S = 0.5
#: Memory RE2 may use for one compiled pattern (its program and its DFA cache).
RE2_MAX_MEM_BYTES = 2 * 1024 * 1024
#: How much of the client's own input an error message quotes.
MAX_QUOTED_CHARS = 200

_REFUSED_KEYWORDS = ("unevaluatedProperties", "unevaluatedItems")


class UnusableSchema(ApiError):
    """The schema itself is refused: too large or deep, not a JSON Schema, a `$ref` out of it, an
    unsupported `$schema`, keyword or pattern."""

    def __init__(self, message: str) -> None:
        super().__init__("bad_request", message)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_QUOTED_CHARS else f"{text[:MAX_QUOTED_CHARS]}…"


def _quote(value: object) -> str:
    if isinstance(value, str) and len(value) > MAX_QUOTED_CHARS:
        return f"{value[:MAX_QUOTED_CHARS]!r}…"  # without building the repr of the whole text
    return _clip(repr(value))


# -- references: nothing is ever retrieved ---------------------------------------------------------
#
# jsonschema switches to its own (unguarded) validator class for any subschema that names a `$schema`
# (`evolve` calls `validator_for`), so no schema this module validates with may name one below its
# root: the client's loses its root `$schema` once the dialect is chosen and may have no other, and
# the bundled meta-schemas are registered here without theirs. They are kept, so a `$ref` to a
# meta-schema's URI resolves locally (to the copy) like any reference into the schema itself.

def _refuse_every_uri(uri: str) -> referencing.Resource[Any]:
    if (budget := _budget.get(None)) is not None:
        budget.refused_uri = uri
    raise referencing.exceptions.NoSuchResource(ref=uri)  # type: ignore[call-arg]


def _without_dialect(uri: str) -> referencing.Resource[Any]:
    contents = dict(SPECIFICATIONS.contents(uri))
    specification = referencing.jsonschema.specification_with(contents.pop("$schema"))
    return specification.create_resource(contents)


#: The meta-schemas, each without its `$schema`, and a `retrieve` that refuses every other URI.
REGISTRY: referencing.Registry[Any] = referencing.Registry(  # type: ignore[call-arg]
    retrieve=_refuse_every_uri,
).with_resources((uri, _without_dialect(uri)) for uri in SPECIFICATIONS).crawl()


# -- the budget of one check -----------------------------------------------------------------------

@dataclass
class _Budget:
    steps_left: int = MAX_VALIDATION_STEPS
    deadline: float = field(default_factory=lambda: time.monotonic() + MAX_VALIDATION_S)
    refused_uri: str | None = None  # set when a `$ref` led out of the schema


_budget: ContextVar[_Budget] = ContextVar("card_schema_budget")


def _charge(steps: int) -> None:
    budget = _budget.get()
    budget.steps_left -= steps
    if budget.steps_left < 0 or time.monotonic() > budget.deadline:
        raise ApiError("bad_request", "The schema is too expensive to check this card against; simplify it.")


# -- regular expressions on RE2 --------------------------------------------------------------------

def _re2_options() -> re2.Options:
    options = re2.Options()
    options.max_mem = RE2_MAX_MEM_BYTES
    options.never_capture = True  # only "does it match" is asked
    options.log_errors = False
    return options


_RE2_OPTIONS = _re2_options()


def _regex(pattern: str) -> Any:
    """`pattern` compiled by RE2 (re2 keeps an LRU cache of compiled patterns)."""
    try:
        return re2.compile(pattern, _RE2_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise UnusableSchema(
            f"The pattern {_quote(pattern)} is not supported ({reason}); patterns use RE2 syntax, "
            "without backreferences or lookaround."
        ) from exc


#: Only `regex` is asserted (on RE2), as the meta-schemas ask of `pattern` and `patternProperties`;
#: other formats stay annotations, as they were.
_FORMAT_CHECKER = FormatChecker(formats=())


@_FORMAT_CHECKER.checks("regex")
def _is_regex(instance: object) -> bool:
    if isinstance(instance, str):
        _charge(1 + len(instance) // 1024)
        _regex(instance)
    return True


def _search(pattern: str, text: str) -> bool:
    _charge(1 + len(text) // 1024)
    return _regex(pattern).search(text) is not None


# -- keywords replaced -----------------------------------------------------------------------------

KeywordFn = Callable[[Any, Any, Any, dict[str, Any]], Iterator[ValidationError] | None]


def _pattern(validator: Any, pattern: str, instance: object, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _search(pattern, instance):  # type: ignore[arg-type]
        yield ValidationError(f"{_quote(instance)} does not match {_quote(pattern)}")


def _pattern_properties(validator: Any, patterns: dict[str, Any], instance: object,
                        schema: dict[str, Any]) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():  # type: ignore[attr-defined]
            if _search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(validator: Any, additional: object, instance: object,
                           schema: dict[str, Any]) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    properties, patterns = schema.get("properties", {}), schema.get("patternProperties", {})
    extras = sorted(
        key for key in instance  # type: ignore[attr-defined]
        if key not in properties and not any(_search(pattern, key) for pattern in patterns)
    )
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)  # type: ignore[index]
    elif not additional and extras:
        listed = ", ".join(repr(extra) for extra in extras)
        yield ValidationError(f"Additional properties are not allowed ({_clip(listed)} unexpected)")


def _unique_key(value: object) -> object:
    """A hashable key equal for JSON values jsonschema calls equal (1 == 1.0, but true != 1)."""
    if isinstance(value, bool) or value is None:
        return ("literal", value)
    if isinstance(value, int | float):
        return ("number", value)
    if isinstance(value, str):
        return ("string", value)
    if isinstance(value, list):
        return ("array", tuple(_unique_key(item) for item in value))
    if isinstance(value, dict):
        return ("object", frozenset((key, _unique_key(item)) for key, item in value.items()))
    return ("other", repr(value))


def _unique_items(validator: Any, unique: object, instance: object,
                  schema: dict[str, Any]) -> Iterator[ValidationError]:
    if not unique or not validator.is_type(instance, "array"):
        return
    _charge(len(instance))  # type: ignore[arg-type]
    keys = {_unique_key(item) for item in instance}  # type: ignore[attr-defined]
    if len(keys) != len(instance):  # type: ignore[arg-type]
        yield ValidationError(f"{_quote(instance)} has non-unique elements")


def _refused(keyword: str) -> KeywordFn:
    def refuse(validator: Any, value: object, instance: object, schema: dict[str, Any]) -> None:
        raise UnusableSchema(f"The schema keyword {keyword!r} is not supported in card schemas.")

    return refuse


def _charged(keyword_fn: KeywordFn) -> KeywordFn:
    def keyword(validator: Any, value: Any, instance: Any, schema: dict[str, Any]) -> Any:
        _charge(1 + len(value) if isinstance(value, dict | list) else 1)
        return keyword_fn(validator, value, instance, schema)

    return keyword


_REPLACED: dict[str, KeywordFn] = {
    "pattern": _pattern,
    "patternProperties": _pattern_properties,
    "additionalProperties": _additional_properties,
    "uniqueItems": _unique_items,
    **{keyword: _refused(keyword) for keyword in _REFUSED_KEYWORDS},
}


def _safe(validator_class: type[Validator]) -> type[Validator]:
    keywords = {**validator_class.VALIDATORS, **_REPLACED}
    return extend(validator_class, {name: _charged(fn) for name, fn in keywords.items()},
                  format_checker=_FORMAT_CHECKER)


_DIALECTS: tuple[type[Validator], ...] = (
    jsonschema.Draft202012Validator,  # the default, when a schema names no `$schema`
    jsonschema.Draft201909Validator,
    jsonschema.Draft7Validator,
    jsonschema.Draft6Validator,
    jsonschema.Draft4Validator,
)
_SAFE_BY_DIALECT: dict[str, type[Validator]] = {
    str(dialect.META_SCHEMA["$schema"]).rstrip("#"): _safe(dialect) for dialect in _DIALECTS
}
_DEFAULT_DIALECT = str(jsonschema.Draft202012Validator.META_SCHEMA["$schema"]).rstrip("#")


# -- the checks ------------------------------------------------------------------------------------

def _json_bytes(value: object) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass"))


def _over_limits(value: object, what: str, max_bytes: int, max_depth: int) -> str | None:
    if nesting_depth(value) > max_depth:
        return f"The {what} nests deeper than {max_depth} levels."
    if _json_bytes(value) > max_bytes:
        return f"The {what} is larger than {max_bytes} bytes."
    return None


def check_card_limits(card: object) -> None:
    """Refuses a card whose JSON is larger than `MAX_CARD_BYTES` or nests deeper than `MAX_CARD_DEPTH`."""
    if (problem := _over_limits(card, "card", MAX_CARD_BYTES, MAX_CARD_DEPTH)) is not None:
        raise ApiError("bad_request", problem)


def _names_a_dialect_below_root(schema: dict[str, Any]) -> bool:
    stack: list[object] = list(schema.values())
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "$schema" in node:
                return True
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def _prepared(schema: object) -> tuple[type[Validator], dict[str, Any]]:
    """The guarded validator class of the schema's dialect, and the schema without its `$schema`."""
    if not isinstance(schema, dict):
        raise UnusableSchema("The schema must be a JSON Schema object.")
    if (problem := _over_limits(schema, "schema", MAX_SCHEMA_BYTES, MAX_SCHEMA_DEPTH)) is not None:
        raise UnusableSchema(problem)
    dialect = schema.get("$schema", _DEFAULT_DIALECT)
    if not isinstance(dialect, str) or dialect.rstrip("#") not in _SAFE_BY_DIALECT:
        raise UnusableSchema(f"Unsupported '$schema' {_clip(repr(dialect))}: use draft 2020-12, 2019-09, 7, 6 or 4.")
    if _names_a_dialect_below_root(schema):
        raise UnusableSchema("'$schema' may appear only at the top of the schema.")
    return _SAFE_BY_DIALECT[dialect.rstrip("#")], {key: value for key, value in schema.items() if key != "$schema"}


def _best_error(validator: Any, instance: object) -> ValidationError | None:
    """The most relevant error of `instance` under `validator`, within a fresh budget."""
    budget = _Budget()
    token = _budget.set(budget)
    try:
        return jsonschema.exceptions.best_match(validator.iter_errors(instance))
    except referencing.exceptions.Unresolvable as exc:
        ref = _clip(repr(getattr(exc, "ref", "")))
        if budget.refused_uri is not None:
            raise UnusableSchema(
                f"The schema's $ref {ref} points outside the schema ({_clip(budget.refused_uri)}): remote $ref "
                "not allowed; use references into the schema itself, such as '#/$defs/name'."
            ) from None
        raise UnusableSchema(f"The schema's $ref {ref} points to nothing in the schema.") from None
    except RecursionError:
        raise UnusableSchema("The schema refers to itself without end.") from None
    finally:
        _budget.reset(token)


def _where(error: ValidationError) -> str:
    path = "/".join(str(part) for part in error.absolute_path)
    return f" at {_clip(repr(path))}" if path else ""


def _checked(schema: object) -> tuple[type[Validator], dict[str, Any]]:
    validator_class, unnamed = _prepared(schema)
    meta_uri = str(validator_class.META_SCHEMA["$schema"]).rstrip("#")
    meta = validator_class(REGISTRY.contents(meta_uri), registry=REGISTRY, format_checker=_FORMAT_CHECKER)
    error = _best_error(meta, unnamed)
    if error is not None:
        raise UnusableSchema(f"The schema is not a valid JSON Schema{_where(error)}: {_clip(error.message)}")
    return validator_class, unnamed


def check_card_schema(schema: object) -> None:
    """Raises `UnusableSchema` for a schema that cards cannot be checked against (for admin forms too)."""
    _checked(schema)


def validate_card(card: dict[str, Any], schema: object) -> None:
    """Refuses `card` unless it is valid under `schema`: `UnusableSchema` when the schema is at fault
    (limits, meta-schema, references, patterns, keywords), a plain `bad_request` when the card is."""
    validator_class, unnamed = _checked(schema)
    error = _best_error(validator_class(unnamed, registry=REGISTRY, format_checker=_FORMAT_CHECKER), card)
    if error is not None:
        raise ApiError("bad_request", f"Invalid card{_where(error)}: {_clip(error.message)}")


__all__ = [
    "MAX_CARD_BYTES", "MAX_CARD_DEPTH", "MAX_SCHEMA_BYTES", "MAX_SCHEMA_DEPTH", "MAX_VALIDATION_STEPS",
    "MAX_VALIDATION_S", "REGISTRY", "UnusableSchema", "check_card_limits", "check_card_schema", "validate_card",
]
