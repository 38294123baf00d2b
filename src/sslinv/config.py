"""Loading and checking the experiment config.

The config is the experiment: a wrong key or value must stop the run before any job starts,
with a message that names the key and says how to fix it. The JSON Schema
(``workflow/schemas/config.schema.yaml``) checks shapes and fills defaults; the semantic
checks below catch what a schema cannot (a variant naming an unknown augmentation, a
pre-training dataset that is not declared, a model name used twice).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from sslinv.errors import ConfigError

BASELINE_NAMES = ("random", "supervised")
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


def _with_defaults(validator_class: type) -> type:
    """Extend a validator so that validating also fills ``default`` values in place."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


_DefaultFillingValidator = _with_defaults(jsonschema.Draft202012Validator)


def load_schema(path: str | Path | None = None) -> dict:
    """Read the config schema (YAML)."""
    return yaml.safe_load(Path(path or SCHEMA_PATH).read_text())


RESOURCE_KEYS = {"threads", "mem_mb", "runtime", "gpu"}


def load_resources(path: str | Path) -> dict[str, dict[str, int]]:
    """Read the per-stage job sizes, refusing a typo'd key rather than silently ignoring it."""
    table = yaml.safe_load(Path(path).read_text()) or {}
    for stage, values in table.items():
        unknown = set(values) - RESOURCE_KEYS
        if unknown or "threads" not in values:
            raise ConfigError(
                f"{path}: stage '{stage}' must give threads and may give mem_mb, runtime, gpu; "
                f"got {', '.join(sorted(values))}"
            )
    return table


def _key(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def _describe(error: jsonschema.ValidationError) -> str:
    """Turn a schema error into one sentence naming the key and the fix."""
    where = _key(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = (
            sorted(set(error.instance) - set(allowed)) if isinstance(error.instance, dict) else []
        )
        names = ", ".join(f"'{_key([*error.absolute_path, e])}'" for e in extra)
        hint = f"; allowed keys here: {', '.join(allowed)}" if allowed else ""
        return f"unknown config key {names}{hint}. Fix the spelling or remove it."
    if error.validator == "required":
        return f"config section '{where}' is missing a required key: {error.message}."
    if error.validator in ("enum", "const"):
        options = error.validator_value if error.validator == "enum" else [error.validator_value]
        return f"config value '{where}' = {error.instance!r} is not one of {options}."
    return f"config value '{where}' is invalid: {error.message}."


def _deepest(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """Pick the most specific error inside if/then/allOf wrappers."""
    while error.context:
        error = max(error.context, key=lambda e: len(e.absolute_path))
    return error


def validate(
    config: Mapping[str, Any], schema: dict | None = None, *, augmentations: bool = True
) -> dict:
    """Return a checked copy of ``config`` with defaults filled; raise ConfigError otherwise.

    ``augmentations=False`` skips building the augmentation pipelines (which imports torch):
    for the re-planning inside cluster jobs, whose config was fully checked at submission.
    """
    checked = copy.deepcopy(dict(config))
    validator = _DefaultFillingValidator(schema or load_schema())
    errors = sorted(validator.iter_errors(checked), key=lambda e: list(map(str, e.path)))
    if errors:
        messages = sorted({_describe(_deepest(e)) for e in errors})
        raise ConfigError("invalid config:\n  - " + "\n  - ".join(messages))
    _check_semantics(checked, augmentations=augmentations)
    return checked


def _check_semantics(config: dict, *, augmentations: bool = True) -> None:
    datasets = config["datasets"]
    pretrain = config["pretrain"]
    if pretrain["dataset"] not in datasets:
        raise ConfigError(
            f"config value 'pretrain.dataset' = {pretrain['dataset']!r} is not a declared "
            f"dataset; declared: {', '.join(datasets)}."
        )
    for name in pretrain["variants"]:
        if name in BASELINE_NAMES:
            raise ConfigError(
                f"pretrain variant '{name}' clashes with the baseline of that name; rename it."
            )
    if augmentations:
        _check_augmentations(config)
    for name in config["features"]["datasets"]:
        _check_split(config, "features.datasets", name, None)
    trained = trained_models(config)
    for name in config["import"]:
        if name in trained:
            raise ConfigError(
                f"imported model '{name}' has the name of a trained model; rename it, or "
                f"disable that baseline (baselines.{name}) to use the checkpoint instead."
            )
    _resolve_roots(config)
    _check_evaluation(config)


def _check_augmentations(config: dict) -> None:
    from sslinv.augment import build_augmentation

    lists = {f"pretrain.variants.{n}": s for n, s in config["pretrain"]["variants"].items()}
    lists["baselines.supervised.augmentations"] = config["baselines"]["supervised"][
        "augmentations"
    ]
    for where, spec in lists.items():
        try:
            build_augmentation(spec)
        except ValueError as err:
            raise ConfigError(f"config '{where}': {err}") from None


def _resolve_roots(config: dict) -> None:
    """Relative dataset roots and checkpoint paths live under the one ``data_root``."""
    base = Path(config["data_root"]).expanduser() if config["data_root"] else None
    if base is None:
        return
    for spec in config["datasets"].values():
        if "root" in spec and not Path(spec["root"]).expanduser().is_absolute():
            spec["root"] = str(base / spec["root"])
    for spec in config["import"].values():
        if not Path(spec["path"]).expanduser().is_absolute():
            spec["path"] = str(base / spec["path"])


def _check_split(config: dict, where: str, dataset: str, split: str | None) -> None:
    """A referenced dataset (and split) must exist and get features."""
    from sslinv.datasets import dataset_splits

    datasets = config["datasets"]
    if dataset not in datasets:
        raise ConfigError(
            f"config '{where}' names unknown dataset {dataset!r}; declared: {', '.join(datasets)}."
        )
    if split is not None and split not in dataset_splits(datasets[dataset]):
        raise ConfigError(
            f"config '{where}' names split {split!r} that dataset '{dataset}' does not have; "
            f"it has: {', '.join(dataset_splits(datasets[dataset]))}."
        )
    chosen = config["features"]["datasets"]
    if chosen and dataset not in chosen and where != "features.datasets":
        raise ConfigError(
            f"config '{where}' needs features of '{dataset}': add it to features.datasets."
        )


def _check_evaluation(config: dict) -> None:
    """Invariance, probes and fusion may only refer to things the config declares."""
    from sslinv.transform_names import TRANSFORM_NAMES as TRANSFORMS

    invariance = config["invariance"]
    ref = invariance["reference"]
    _check_split(config, "invariance.reference", ref["dataset"], ref["split"])
    synthetic = invariance["synthetic"]
    _check_split(config, "invariance.synthetic", synthetic["dataset"], synthetic["split"])
    for name in synthetic["transforms"]:
        if name not in TRANSFORMS:
            raise ConfigError(
                f"config 'invariance.synthetic.transforms' names unknown transform {name!r}; "
                f"available: {', '.join(sorted(TRANSFORMS))}."
            )
    for factor, ref in invariance["realworld"].items():
        _check_split(config, f"invariance.realworld.{factor}", ref["dataset"], ref["split"])
    extrinsic = config["extrinsic"]
    if extrinsic.get("latents"):
        _check_split(config, "extrinsic", extrinsic["dataset"], "test")
    for name, task in config["downstream"].items():
        _check_split(config, f"downstream.{name}", task["dataset"], "test")
        classify = task["probe"] == "logistic"
        bad_target = classify and not isinstance(task["target"], str)
        if bad_target or classify == (task["metric"] == "r2"):
            raise ConfigError(
                f"config 'downstream.{name}': probe 'logistic' needs a class column as target "
                "and metric accuracy or mean_per_class_accuracy; probe 'ridge' needs a "
                "{column: period or null} target (or a column pattern such as 'kp*_[xy]') "
                "and metric r2."
            )
    models = model_names(config)
    for name, members in config["fusion"].items():
        if name in models:
            raise ConfigError(f"fusion '{name}' has the name of a model; rename it.")
        unknown = [m for m in members if m not in models]
        if unknown:
            raise ConfigError(
                f"config 'fusion.{name}' names unknown models {unknown}; "
                f"models: {', '.join(models)}."
            )


def load_config(path: str | Path, overrides: Mapping[str, Any] | None = None) -> dict:
    """Read a YAML config, merge ``overrides`` on top, validate and fill defaults."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    config = yaml.safe_load(path.read_text()) or {}
    if overrides:
        config = deep_merge(config, overrides)
    return validate(config)


def deep_merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict:
    """Merge nested mappings the way Snakemake merges ``--config`` over ``configfile``."""
    merged = copy.deepcopy(dict(base))
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def model_names(config: Mapping[str, Any]) -> list[str]:
    """Every model of the study: variants first, then baselines, then imported checkpoints."""
    return trained_models(config) + list(config.get("import", {}))


def trained_models(config: Mapping[str, Any]) -> list[str]:
    """Models built by the pretrain rule (imported ones come from their checkpoints)."""
    names = list(config["pretrain"]["variants"])
    baselines = config["baselines"]
    if baselines["random"]:
        names.append("random")
    if baselines["supervised"]["enabled"]:
        names.append("supervised")
    return names


def feature_datasets(config: Mapping[str, Any]) -> list[str]:
    """Datasets whose splits get frozen features (all of them unless the config narrows it)."""
    return list(config["features"]["datasets"]) or list(config["datasets"])
