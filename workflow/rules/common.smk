# Config validation, wildcard constraints and every input/params function of the workflow.
import json
from pathlib import Path

from sslinv.config import load_schema, validate, model_names, feature_datasets
from sslinv.datasets import (
    check_sources,
    dataset_splits,
    feature_splits,
    pretrain_split,
    sheet_splits,
)

# Validate once when the DAG is built: a wrong key stops here with its name.
_checked = validate(
    config, load_schema(Path(workflow.basedir) / "workflow/schemas/config.schema.yaml")
)
config.clear()
config.update(_checked)
check_sources(config["datasets"])

DATASETS = list(config["datasets"])
MODELS = model_names(config)
VARIANTS = list(config["pretrain"]["variants"])
FEATURE_DATASETS = feature_datasets(config)
ENV = "../../envs/sslinv.yaml"


wildcard_constraints:
    dataset="|".join(DATASETS),
    model="|".join(MODELS),


def _json(obj):
    """Stable JSON for params: identical config gives an identical string (no rerun)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def get_device():
    return config["compute"]["device"]


def get_gpus(wildcards=None):
    """GPU stages ask for one GPU unless the config pins the CPU."""
    return 0 if config["compute"]["device"] == "cpu" else 1


def split_files(dataset, split):
    folder = f"results/data/{dataset}/{split}"
    return {"images": f"{folder}/images.npy", "latents": f"{folder}/latents.csv"}


def get_pretrain_data(wildcards):
    name = config["pretrain"]["dataset"]
    return split_files(name, pretrain_split(config["datasets"][name]))


def get_model_kind(wildcards):
    if wildcards.model in VARIANTS:
        return config["pretrain"]["method"]
    return wildcards.model


def get_model_spec(wildcards):
    """Everything that determines one model's weights, and nothing else (rerun precision)."""
    pretrain = config["pretrain"]
    spec = {"seed": config["seed"], "backbone": pretrain["backbone"]}
    if wildcards.model == "random":
        return _json(spec)
    spec.update(
        {
            key: pretrain[key]
            for key in (
                "epochs",
                "batch_size",
                "optimizer",
                "checkpoint_every",
                "log_every",
            )
        }
    )
    if wildcards.model == "supervised":
        supervised = config["baselines"]["supervised"]
        spec.update(
            label=supervised["label"], augmentations=supervised["augmentations"]
        )
    else:
        spec.update(
            moco=pretrain["moco"],
            min_top1=pretrain["min_top1"],
            augmentations=pretrain["variants"][wildcards.model],
        )
    return _json(spec)


def data_outputs(dataset):
    """Every prepared split of a dataset, and the contact sheets a person looks at."""
    spec = config["datasets"][dataset]
    splits = dataset_splits(spec)
    return {
        "images": [split_files(dataset, s)["images"] for s in splits],
        "latents": [split_files(dataset, s)["latents"] for s in splits],
        "sheets": [
            f"results/data/{dataset}/{s}/contact_sheet.png" for s in sheet_splits(spec)
        ],
    }


def get_contact_sheets():
    return [path for dataset in DATASETS for path in data_outputs(dataset)["sheets"]]


def feature_outputs(dataset):
    splits = feature_splits(config["datasets"][dataset])
    folder = f"results/features/{{model}}/{dataset}"
    return {
        "features": [f"{folder}/{split}.npy" for split in splits],
        "targets": [f"{folder}/{split}.targets.csv" for split in splits],
    }


def feature_inputs(dataset):
    splits = feature_splits(config["datasets"][dataset])
    return [split_files(dataset, split)["images"] for split in splits] + [
        split_files(dataset, split)["latents"] for split in splits
    ]


def get_final_output():
    features = [
        path
        for dataset in FEATURE_DATASETS
        for path in expand(feature_outputs(dataset)["features"], model=MODELS)
    ]
    return get_contact_sheets() + features
