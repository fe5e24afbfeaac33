"""Validation of the workflow configuration against its JSON schema, with readable errors.

The schema is the single source of truth for keys, types, ranges and defaults. Validation fills
defaults in place (so every downstream consumer sees a complete config) and raises
``ConfigError`` naming the offending key, what was expected and what was found.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
from collections.abc import Mapping, MutableMapping
from typing import Any

import jsonschema

__all__ = ["ConfigError", "validate_config", "fill_defaults", "config_hash"]


class ConfigError(ValueError):
    """The configuration does not match the schema; the message names every bad key."""


def fill_defaults(config: MutableMapping, schema: Mapping) -> None:
    """Insert the schema's ``default`` values for absent keys, recursively (in place).

    A node marked ``x-overrides: true`` holds overrides of another section: only its own
    default (an empty mapping) is inserted, never the defaults of its children.
    """
    props = schema.get("properties", {})
    for key, sub in props.items():
        if key not in config and "default" in sub:
            config[key] = copy.deepcopy(sub["default"])
        value = config.get(key)
        if (
            isinstance(value, MutableMapping)
            and sub.get("type") == "object"
            and not sub.get("x-overrides", False)
        ):
            fill_defaults(value, sub)


def _key_path(error: jsonschema.ValidationError) -> str:
    parts = [str(p) for p in error.absolute_path]
    return ".".join(parts) if parts else "<top level>"


def _describe(error: jsonschema.ValidationError) -> str:
    path = _key_path(error)
    if error.validator == "additionalProperties":
        # an object and its object schema here (jsonschema types them as possibly unset)
        schema = error.schema if isinstance(error.schema, Mapping) else {}
        instance = error.instance if isinstance(error.instance, Mapping) else {}
        allowed = sorted(schema.get("properties", {}))
        unexpected = sorted(set(instance) - set(allowed))
        lines = []
        for key in unexpected:
            full = key if path == "<top level>" else f"{path}.{key}"
            hint = difflib.get_close_matches(key, allowed, n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            lines.append(f"unknown config key '{full}'{suggestion}; allowed keys here: {allowed}")
        return "\n".join(lines)
    if error.validator == "required":
        return f"config key '{path}': {error.message}"
    expected = {
        "type": lambda: f"expected type {error.validator_value}",
        "minimum": lambda: f"expected a value >= {error.validator_value}",
        "maximum": lambda: f"expected a value <= {error.validator_value}",
        "exclusiveMinimum": lambda: f"expected a value > {error.validator_value}",
        "enum": lambda: f"expected one of {error.validator_value}",
        "minItems": lambda: f"expected at least {error.validator_value} item(s)",
        "uniqueItems": lambda: "expected unique items",
    }.get(str(error.validator), lambda: error.message)()
    return f"config key '{path}': {expected}, got {error.instance!r}"


def validate_config(config: MutableMapping, schema: Mapping) -> MutableMapping:
    """Fill defaults into ``config`` and validate it; raise ``ConfigError`` listing every
    problem."""
    fill_defaults(config, schema)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        details = "\n".join(f"  - {_describe(e)}" for e in errors)
        raise ConfigError(f"invalid configuration ({len(errors)} problem(s)):\n{details}")
    return config


def config_hash(section: Any) -> str:
    """Short stable hash of a JSON-serialisable config section (recorded with every result)."""
    blob = json.dumps(section, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]
