# Config validation, wildcard constraints and every input/params function of the workflow.
import json
import re
from pathlib import Path

from sslinv.provenance import code_hash
from sslinv.config import (
    feature_datasets,
    load_resources,
    load_schema,
    model_names,
    trained_models,
    validate,
)
from sslinv.transform_names import TRANSFORM_NAMES


def all_transforms():
    return list(TRANSFORM_NAMES)


from sslinv.datasets import (
    check_sources,
    dataset_splits,
    feature_splits,
    pretrain_split,
    sheet_splits,
)

# Validate when the DAG is built: a wrong key stops here with its name. Cluster jobs plan
# again before running; their config was checked at submission, so they skip what is slow.
_checked = validate(
    config,
    load_schema(Path(workflow.basedir) / "workflow/schemas/config.schema.yaml"),
    augmentations=not workflow.remote_exec,
)
config.clear()
config.update(_checked)
if not workflow.remote_exec:
    check_sources(config["datasets"])

DATASETS = list(config["datasets"])
MODELS = model_names(config)
VARIANTS = list(config["pretrain"]["variants"])
FEATURE_DATASETS = feature_datasets(config)
FUSIONS = list(config["fusion"])
TRANSFORMS = config["invariance"]["synthetic"]["transforms"] or all_transforms()
FACTORS = list(config["invariance"]["realworld"])
TASKS = list(config["downstream"])
TABLES = {
    "synthetic_invariance": "synthetic",
    "realworld_invariance": "realworld",
    "extrinsic": "extrinsic",
    "downstream": "downstream",
}
ENV = "../../envs/sslinv.yaml"


def _alternatives(names):
    """A regex matching exactly these names (fusion names contain '+')."""
    return "|".join(re.escape(n) for n in names) or "(?!)"


NETWORK_PATTERN = _alternatives(MODELS)
TRAINED_PATTERN = _alternatives(trained_models(config))
IMPORTS = config["import"]
IMPORT_PATTERN = _alternatives(list(IMPORTS))


wildcard_constraints:
    dataset="|".join(DATASETS),
    model=_alternatives(MODELS + FUSIONS),
    fusion=_alternatives(FUSIONS),
    transform=_alternatives(TRANSFORMS),
    factor=_alternatives(FACTORS),
    task=_alternatives(TASKS),


def _json(obj):
    """Stable JSON for params: identical config gives an identical string (no rerun)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def get_device():
    return config["compute"]["device"]


RESOURCES = load_resources(Path(workflow.basedir) / "workflow/resources.yaml")


def stage_threads(stage):
    return RESOURCES[stage]["threads"]


def gpu_request(wildcards):
    """One GPU, unless this run is local on a machine without any (compute.device auto):
    then a GPU cap (profiles/workstation, --resources gpu=N) must not queue CPU jobs behind
    each other. Decided per job,
    when the executor is known (a cluster's login node has no GPU but its jobs get one).
    """
    from sslinv.gpu_slots import device_count

    plugin = getattr(workflow, "executor_plugin", None)
    local = getattr(plugin, "name", None) == "local" and not workflow.remote_exec
    return 0 if local and device_count() == 0 else 1


def stage_resources(stage, gpu=True):
    """A stage's resources from workflow/resources.yaml (profiles override them per rule).

    GPU stages ask for a GPU unless they run on the CPU anyway (compute.device cpu, or see
    gpu_request) or the job has no use for one (``gpu=False``: a dataset only decoded).
    """
    resources = {k: v for k, v in RESOURCES[stage].items() if k != "threads"}
    if resources.get("gpu"):
        cpu_only = config["compute"]["device"] == "cpu" or not gpu
        resources["gpu"] = 0 if cpu_only else gpu_request
    return resources


def split_files(dataset, split):
    folder = f"results/data/{dataset}/{split}"
    return {"images": f"{folder}/images.npy", "latents": f"{folder}/latents.csv"}


def get_pretrain_data(wildcards):
    name = config["pretrain"]["dataset"]
    return split_files(name, pretrain_split(config["datasets"][name]))


def get_import_source(wildcards):
    return IMPORTS[wildcards.model]["path"]


def get_import_format(wildcards):
    return IMPORTS[wildcards.model]["format"]


def get_backbone_spec():
    return _json(config["pretrain"]["backbone"])


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


def feature_outputs(dataset, wildcard="model"):
    splits = feature_splits(config["datasets"][dataset])
    folder = f"results/features/{{{wildcard}}}/{dataset}"
    return {
        "features": [f"{folder}/{split}.npy" for split in splits],
        "targets": [f"{folder}/{split}.targets.csv" for split in splits],
    }


def feature_inputs(dataset):
    splits = feature_splits(config["datasets"][dataset])
    return [split_files(dataset, split)["images"] for split in splits] + [
        split_files(dataset, split)["latents"] for split in splits
    ]


def feature_file(model, dataset, split, suffix=".npy"):
    return f"results/features/{model}/{dataset}/{split}{suffix}"


def get_reference_features(wildcards):
    ref = config["invariance"]["reference"]
    return feature_file(wildcards.model, ref["dataset"], ref["split"])


def get_synthetic_images(wildcards):
    synthetic = config["invariance"]["synthetic"]
    return split_files(synthetic["dataset"], synthetic["split"])["images"]


def get_factor_features(wildcards):
    ref = config["invariance"]["realworld"][wildcards.factor]
    return {
        "features": feature_file(wildcards.model, ref["dataset"], ref["split"]),
        "targets": feature_file(
            wildcards.model, ref["dataset"], ref["split"], ".targets.csv"
        ),
    }


def get_fusion_members(dataset):
    """Input function: every feature file of every member of the fusion."""

    def members(wildcards):
        return [
            path
            for member in config["fusion"][wildcards.fusion]
            for key in ("features", "targets")
            for path in expand(feature_outputs(dataset)[key], model=member)
        ]

    return members


def get_fusion_member_dirs(dataset):
    def dirs(wildcards):
        return " ".join(
            f"results/features/{member}/{dataset}"
            for member in config["fusion"][wildcards.fusion]
        )

    return dirs


def probe_files(model, dataset):
    """Features and targets of every split a probe reads (train, val when present, test)."""
    splits = [
        s
        for s in ("train", "val", "test")
        if s in feature_splits(config["datasets"][dataset])
    ]
    files = {s: feature_file(model, dataset, s) for s in splits}
    files.update(
        {
            f"{s}_targets": feature_file(model, dataset, s, ".targets.csv")
            for s in splits
        }
    )
    return files


def get_probe_features(dataset):
    def files(wildcards):
        return probe_files(wildcards.model, dataset)

    return files


def get_extrinsic_spec():
    extrinsic = config["extrinsic"]
    # [column, period] pairs: a list keeps the config's order through the sorted JSON
    latents = [
        [column, period] for column, period in extrinsic.get("latents", {}).items()
    ]
    return _json({"latents": latents, "probes": config["probes"]})


def get_task_features(wildcards):
    return probe_files(wildcards.model, config["downstream"][wildcards.task]["dataset"])


def get_task_spec(wildcards):
    return _json(
        {"task": config["downstream"][wildcards.task], "probes": config["probes"]}
    )


EVALUATED = MODELS + FUSIONS  # every model and fusion goes through every probe


def get_table_inputs(table):
    if table == "synthetic_invariance":
        pattern = "results/invariance/{model}/synthetic/{transform}.csv"
        return expand(pattern, model=MODELS, transform=TRANSFORMS)
    if table == "realworld_invariance":
        pattern = "results/invariance/{model}/realworld/{factor}.csv"
        return expand(pattern, model=MODELS, factor=FACTORS)
    if table == "extrinsic":
        if not config["extrinsic"].get("latents"):
            return []
        return expand("results/probes/{model}/extrinsic.csv", model=EVALUATED)
    return expand(
        "results/probes/{model}/downstream/{task}.json", model=EVALUATED, task=TASKS
    )


def get_tables():
    return [
        f"results/tables/{table}.csv" for table in TABLES if get_table_inputs(table)
    ]


def get_table_files(wildcards=None):
    """Named table inputs (figures and findings read the folder of these files)."""
    return {table: f"results/tables/{table}.csv" for table in TABLES}


def get_figure_spec():
    return _json({"models": MODELS, "fusions": FUSIONS})


def get_findings_spec():
    return _json({"variants": VARIANTS, "fusions": FUSIONS})


def get_figures():
    """Figures need every table; a config without some evaluation gets none."""
    if len(get_tables()) < len(TABLES):
        return []
    return expand(
        "results/figures/{name}_{metric}.{ext}",
        name=["figure1", "transform_curves"],
        metric=["cosine", "mahalanobis"],
        ext=["pdf", "png"],
    ) + expand("results/figures/invariance_vs_performance.{ext}", ext=["pdf", "png"])


def get_findings():
    if len(get_tables()) < len(TABLES):
        return []
    return ["results/findings.md", "results/tables/findings.csv"]


def get_final_output():
    features = [
        path
        for dataset in FEATURE_DATASETS
        for path in expand(feature_outputs(dataset)["features"], model=MODELS)
    ]
    return (
        get_contact_sheets() + features + get_tables() + get_figures() + get_findings()
    )
