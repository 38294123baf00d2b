# Pre-training: one MoCo-v2 model per augmentation variant, plus the baselines.


rule pretrain:
    input:
        unpack(get_pretrain_data),
    output:
        encoder="results/models/{model}/encoder.safetensors",
        meta="results/models/{model}/meta.json",
    log:
        "results/logs/pretrain/{model}.log",
    benchmark:
        "results/benchmarks/pretrain/{model}.tsv"
    wildcard_constraints:
        model=TRAINED_PATTERN,
    conda:
        ENV
    threads: stage_threads("pretrain")
    resources:
        **stage_resources("pretrain"),
    params:
        code=code_hash("pretrain"),
        kind=get_model_kind,
        spec=get_model_spec,
        device=get_device(),
    shell:
        "sslinv pretrain --kind {params.kind} --spec {params.spec:q}"
        " --data $(dirname {input.images}) --out $(dirname {output.encoder})"
        " --threads {threads} --device {params.device} --gpus {resources.gpu} > {log} 2>&1"
