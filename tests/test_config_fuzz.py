"""The config file (issue 16, item 7): whatever its bytes, keys or values, TOML or YAML, it gives
``Settings`` or a ``ConfigError``; never another exception, never a hang."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from fuzzing import TARGETS, run_one, seeds
from fuzzing_inputs import JSON_VALUES, examples, fuzzed, json_paths, replaced
from openlfr.config import load_settings
from openlfr.errors import ConfigError

CONFIG = TARGETS["config"]


def toml_value(value: object) -> str:
    """``value`` as a TOML value (inline tables and arrays; None becomes an empty table)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, int | float | str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    return "{}"


@examples(150)
@given(fuzzed("config"))
def test_any_bytes(data: bytes) -> None:
    run_one(CONFIG, data)


@examples(200)
@given(st.data(), JSON_VALUES, st.booleans())
def test_any_value_at_any_key(data: st.DataObject, value: object, delete: bool) -> None:
    seed = data.draw(st.sampled_from(seeds("config")))
    settings = tomllib.loads(seed.decode())
    path = data.draw(st.sampled_from(json_paths(settings)))
    changed = replaced(settings, path, value, delete)
    assert isinstance(changed, dict)
    text = "\n".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in changed.items())
    run_one(CONFIG, text.encode())


@examples(100)
@given(JSON_VALUES)
def test_any_yaml(value: object) -> None:
    run_one(CONFIG_YAML, json.dumps({"live": value, "cameras": [value]}).encode())  # JSON is YAML


def test_yaml_aliases_that_multiply_are_refused_promptly(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 9)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\ncameras: *a8\n")
    refused = run_one(CONFIG_YAML, path.read_bytes())
    assert isinstance(refused, ConfigError)


def _decode_yaml(folder: Path, data: bytes) -> object:
    path = folder / "openlfr.yaml"
    path.write_bytes(data)
    return load_settings(path)


CONFIG_YAML = CONFIG.__class__("config_yaml", _decode_yaml, CONFIG.seeds, ".yaml")
