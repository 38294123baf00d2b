# Frozen features: one job per model x dataset writes every split of that dataset.

for _dataset in FEATURE_DATASETS:

    rule:
        name:
            f"features_{_dataset}"
        input:
            encoder="results/models/{model}/encoder.safetensors",
            meta="results/models/{model}/meta.json",
            data=feature_inputs(_dataset),
        output:
            **feature_outputs(_dataset),
        log:
            f"results/logs/features/{{model}}/{_dataset}.log",
        benchmark:
            f"results/benchmarks/features/{{model}}/{_dataset}.tsv"
        wildcard_constraints:
            model=NETWORK_PATTERN,
        conda:
            ENV
        threads: stage_threads("features")
        resources:
            **stage_resources("features"),
        params:
            code=code_hash("features"),
            splits=" ".join(feature_splits(config["datasets"][_dataset])),
            batch_size=config["features"]["batch_size"],
            device=get_device(),
        shell:
            "sslinv features --model $(dirname {input.encoder}) --data $(dirname $(dirname {input.data[0]}))"
            " --splits {params.splits} --out $(dirname {output.features[0]})"
            " --batch-size {params.batch_size} --threads {threads} --device {params.device} --gpus {resources.gpu}"
            " > {log} 2>&1"
