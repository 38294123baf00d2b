# Imported models: external checkpoints (MoCo, torchvision, sslinv) converted into model
# folders, so they go through features, invariance, probes and fusion like trained ones.


rule import_model:
    input:
        get_import_source,
    output:
        encoder="results/models/{model}/encoder.safetensors",
        meta="results/models/{model}/meta.json",
    log:
        "results/logs/import/{model}.log",
    benchmark:
        "results/benchmarks/import/{model}.tsv"
    wildcard_constraints:
        model=IMPORT_PATTERN,
    conda:
        ENV
    threads: stage_threads("import_model")
    resources:
        **stage_resources("import_model"),
    params:
        code=code_hash("import_checkpoint"),
        format=get_import_format,
        spec=get_backbone_spec(),
    shell:
        "sslinv import_checkpoint --format {params.format} --source {input:q}"
        " --spec {params.spec:q} --out $(dirname {output.encoder}) --name {wildcards.model}"
        " --device cpu > {log} 2>&1"
