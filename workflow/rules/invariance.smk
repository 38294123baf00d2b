# Invariance: feature statistics, synthetic transforms and real-world factor groups.


rule feature_statistics:
    input:
        get_reference_features,
    output:
        "results/invariance/{model}/statistics.npz",
    log:
        "results/logs/feature_statistics/{model}.log",
    benchmark:
        "results/benchmarks/feature_statistics/{model}.tsv"
    wildcard_constraints:
        model=NETWORK_PATTERN,
    conda:
        ENV
    threads: stage_threads("feature_statistics")
    resources:
        **stage_resources("feature_statistics"),
    params:
        code=code_hash("statistics"),
        ridge=config["invariance"]["ridge"],
    shell:
        "sslinv statistics --features {input} --ridge {params.ridge} --out {output}"
        " --threads {threads} > {log} 2>&1"


rule synthetic_invariance:
    input:
        encoder="results/models/{model}/encoder.safetensors",
        meta="results/models/{model}/meta.json",
        statistics="results/invariance/{model}/statistics.npz",
        images=get_synthetic_images,
    output:
        "results/invariance/{model}/synthetic/{transform}.csv",
    log:
        "results/logs/synthetic_invariance/{model}/{transform}.log",
    benchmark:
        "results/benchmarks/synthetic_invariance/{model}/{transform}.tsv"
    wildcard_constraints:
        model=NETWORK_PATTERN,
    conda:
        ENV
    threads: stage_threads("synthetic_invariance")
    resources:
        **stage_resources("synthetic_invariance"),
    params:
        code=code_hash("synthetic"),
        steps=config["invariance"]["synthetic"]["steps"],
        images=config["invariance"]["synthetic"]["images"],
        batch_size=config["invariance"]["synthetic"]["batch_size"],
        device=get_device(),
    shell:
        "sslinv synthetic --model $(dirname {input.encoder}) --data $(dirname {input.images})"
        " --statistics {input.statistics} --transform {wildcards.transform}"
        " --steps {params.steps} --images {params.images} --batch-size {params.batch_size}"
        " --out {output} --threads {threads} --device {params.device} --gpus {resources.gpu} > {log} 2>&1"


rule realworld_invariance:
    input:
        unpack(get_factor_features),
        statistics="results/invariance/{model}/statistics.npz",
    output:
        "results/invariance/{model}/realworld/{factor}.csv",
    log:
        "results/logs/realworld_invariance/{model}/{factor}.log",
    benchmark:
        "results/benchmarks/realworld_invariance/{model}/{factor}.tsv"
    wildcard_constraints:
        model=NETWORK_PATTERN,
    conda:
        ENV
    threads: stage_threads("realworld_invariance")
    resources:
        **stage_resources("realworld_invariance"),
    params:
        code=code_hash("realworld"),
    shell:
        "sslinv realworld --features {input.features} --targets {input.targets}"
        " --statistics {input.statistics} --model-name {wildcards.model}"
        " --factor {wildcards.factor} --out {output} --threads {threads} > {log} 2>&1"
