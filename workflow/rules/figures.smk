# Figures, findings: each its own rule, reading only the tidy tables.


rule figure1:
    input:
        unpack(get_table_files),
    output:
        pdf="results/figures/figure1_{metric}.pdf",
        png=report(
            "results/figures/figure1_{metric}.png",
            caption="../report/figure1.rst",
            category="Figures",
            labels={"figure": "Figure 1", "metric": "{metric}"},
        ),
    log:
        "results/logs/figures/figure1_{metric}.log",
    benchmark:
        "results/benchmarks/figures/figure1_{metric}.tsv"
    wildcard_constraints:
        metric="cosine|mahalanobis",
    conda:
        ENV
    threads: stage_threads("figures")
    resources:
        **stage_resources("figures"),
    params:
        code=code_hash("figures"),
        spec=get_figure_spec(),
    shell:
        "sslinv figures figure1 --tables $(dirname {input.downstream}) --metric {wildcards.metric}"
        " --spec {params.spec:q} --out {output.pdf} > {log} 2>&1"


rule transform_curves:
    input:
        "results/tables/synthetic_invariance.csv",
    output:
        pdf="results/figures/transform_curves_{metric}.pdf",
        png=report(
            "results/figures/transform_curves_{metric}.png",
            caption="../report/transform_curves.rst",
            category="Figures",
            labels={"figure": "Per-transform curves", "metric": "{metric}"},
        ),
    log:
        "results/logs/figures/transform_curves_{metric}.log",
    benchmark:
        "results/benchmarks/figures/transform_curves_{metric}.tsv"
    wildcard_constraints:
        metric="cosine|mahalanobis",
    conda:
        ENV
    threads: stage_threads("figures")
    resources:
        **stage_resources("figures"),
    params:
        code=code_hash("figures"),
        spec=get_figure_spec(),
    shell:
        "sslinv figures curves --tables $(dirname {input}) --metric {wildcards.metric}"
        " --spec {params.spec:q} --out {output.pdf} > {log} 2>&1"


rule invariance_vs_performance:
    input:
        synthetic="results/tables/synthetic_invariance.csv",
        downstream="results/tables/downstream.csv",
    output:
        pdf="results/figures/invariance_vs_performance.pdf",
        png=report(
            "results/figures/invariance_vs_performance.png",
            caption="../report/invariance_vs_performance.rst",
            category="Figures",
            labels={"figure": "Invariance vs performance", "metric": "cosine"},
        ),
    log:
        "results/logs/figures/invariance_vs_performance.log",
    benchmark:
        "results/benchmarks/figures/invariance_vs_performance.tsv"
    conda:
        ENV
    threads: stage_threads("figures")
    resources:
        **stage_resources("figures"),
    params:
        code=code_hash("figures"),
        spec=get_figure_spec(),
    shell:
        "sslinv figures invariance_vs_performance --tables $(dirname {input.synthetic})"
        " --spec {params.spec:q} --out {output.pdf} > {log} 2>&1"


rule findings:
    input:
        unpack(get_table_files),
    output:
        markdown=report(
            "results/findings.md",
            caption="../report/findings.rst",
            category="Findings",
            labels={"item": "findings.md"},
        ),
        summary=report(
            "results/tables/findings.csv",
            caption="../report/findings.rst",
            category="Findings",
            labels={"item": "summary table"},
        ),
    log:
        "results/logs/findings.log",
    benchmark:
        "results/benchmarks/findings.tsv"
    conda:
        ENV
    threads: stage_threads("figures")
    resources:
        **stage_resources("figures"),
    params:
        code=code_hash("findings"),
        spec=get_findings_spec(),
    shell:
        "sslinv findings --tables $(dirname {input.downstream}) --spec {params.spec:q}"
        " --markdown {output.markdown} --summary {output.summary} > {log} 2>&1"
