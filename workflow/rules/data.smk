# Data: one job per dataset renders the procedural scenes or converts digits / image folders
# into prepared splits, and draws a contact sheet of each split a person should look at.

for _dataset in DATASETS:

    rule:
        name:
            f"prepare_{_dataset}"
        output:
            **data_outputs(_dataset),
        log:
            f"results/logs/prepare/{_dataset}.log",
        benchmark:
            f"results/benchmarks/prepare/{_dataset}.tsv"
        conda:
            ENV
        threads: stage_threads("prepare")
        resources:
            **stage_resources(
                "prepare", gpu=config["datasets"][_dataset]["kind"] == "scenes"
            ),
        params:
            code=code_hash("data"),
            name=_dataset,
            spec=_json(config["datasets"][_dataset]),
            image_size=config["image_size"],
            splits=" ".join(dataset_splits(config["datasets"][_dataset])),
            device=get_device(),
        shell:
            "sslinv data --dataset {params.name} --splits {params.splits}"
            " --spec {params.spec:q} --image-size {params.image_size}"
            " --out $(dirname $(dirname {output.images[0]}))"
            " --threads {threads} --device {params.device} --gpus {resources.gpu} > {log} 2>&1"
