# Data: render the procedural scenes, convert digits and image folders to prepared splits.


rule prepare_split:
    output:
        images="results/data/{dataset}/{split}/images.npy",
        latents="results/data/{dataset}/{split}/latents.csv",
    log:
        "results/logs/prepare_split/{dataset}/{split}.log",
    benchmark:
        "results/benchmarks/prepare_split/{dataset}/{split}.tsv"
    conda:
        ENV
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=get_gpus,
    params:
        spec=get_dataset_spec,
        image_size=config["image_size"],
        device=get_device(),
    shell:
        "sslinv data --dataset {wildcards.dataset} --split {wildcards.split}"
        " --spec {params.spec:q} --image-size {params.image_size}"
        " --out $(dirname {output.images}) --threads {threads} --device {params.device}"
        " > {log} 2>&1"


rule contact_sheet:
    input:
        images="results/data/{dataset}/{split}/images.npy",
        latents="results/data/{dataset}/{split}/latents.csv",
    output:
        "results/data/{dataset}/{split}/contact_sheet.png",
    log:
        "results/logs/contact_sheet/{dataset}/{split}.log",
    benchmark:
        "results/benchmarks/contact_sheet/{dataset}/{split}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        columns=contact_sheet_columns,
    shell:
        "sslinv contact-sheet --data $(dirname {input.images}) --out {output}"
        " --columns {params.columns} --threads {threads} > {log} 2>&1"
