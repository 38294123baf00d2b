# Tables: tidy aggregates (one row per model x item x metric); each table is its own rule.

for _table, _kind in TABLES.items():

    rule:
        name:
            f"table_{_table}"
        input:
            get_table_inputs(_table),
        output:
            report(
                f"results/tables/{_table}.csv",
                caption="../report/tables.rst",
                category="Tables",
                labels={"table": _table},
            ),
        log:
            f"results/logs/tables/{_table}.log",
        benchmark:
            f"results/benchmarks/tables/{_table}.tsv"
        conda:
            ENV
        threads: stage_threads("table")
        resources:
            **stage_resources("table"),
        params:
            code=code_hash("table"),
            kind=_kind,
        shell:
            "sslinv table {params.kind} --inputs {input} --out {output} > {log} 2>&1"
