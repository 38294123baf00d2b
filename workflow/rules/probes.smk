# Probes: fused features, extrinsic invariance (latents from features) and downstream tasks.

for _dataset in FEATURE_DATASETS:

    rule:
        name:
            f"fuse_{_dataset}"
        input:
            get_fusion_members(_dataset),
        output:
            **feature_outputs(_dataset, wildcard="fusion"),
        log:
            f"results/logs/fuse/{{fusion}}/{_dataset}.log",
        benchmark:
            f"results/benchmarks/fuse/{{fusion}}/{_dataset}.tsv"
        conda:
            ENV
        threads: stage_threads("fuse")
        resources:
            **stage_resources("fuse"),
        params:
            code=code_hash("fuse"),
            members=get_fusion_member_dirs(_dataset),
            splits=" ".join(feature_splits(config["datasets"][_dataset])),
        shell:
            "sslinv fuse --members {params.members} --splits {params.splits}"
            " --out $(dirname {output.features[0]}) > {log} 2>&1"


rule extrinsic_invariance:
    input:
        unpack(get_probe_features(config["extrinsic"]["dataset"])),
    output:
        "results/probes/{model}/extrinsic.csv",
    log:
        "results/logs/extrinsic_invariance/{model}.log",
    benchmark:
        "results/benchmarks/extrinsic_invariance/{model}.tsv"
    conda:
        ENV
    threads: stage_threads("extrinsic_invariance")
    resources:
        **stage_resources("extrinsic_invariance"),
    params:
        code=code_hash("extrinsic"),
        spec=get_extrinsic_spec(),
        device=get_device(),
    shell:
        "sslinv extrinsic --features $(dirname {input.train}) --spec {params.spec:q}"
        " --model-name {wildcards.model} --out {output} --threads {threads}"
        " --device {params.device} > {log} 2>&1"


rule downstream_probe:
    input:
        unpack(get_task_features),
    output:
        "results/probes/{model}/downstream/{task}.json",
    log:
        "results/logs/downstream_probe/{model}/{task}.log",
    benchmark:
        "results/benchmarks/downstream_probe/{model}/{task}.tsv"
    conda:
        ENV
    threads: stage_threads("downstream_probe")
    resources:
        **stage_resources("downstream_probe"),
    params:
        code=code_hash("probe"),
        spec=get_task_spec,
        device=get_device(),
    shell:
        "sslinv probe --features $(dirname {input.train}) --spec {params.spec:q}"
        " --model-name {wildcards.model} --task {wildcards.task} --out {output}"
        " --threads {threads} --device {params.device} > {log} 2>&1"
