"""Which modules each stage's code hash covers (the workflow tests check the reruns)."""

from __future__ import annotations

from sslinv.provenance import code_hash, module_closure
from sslinv.stages import STAGES


def test_closures_follow_imports_including_lazy_ones():
    probe = module_closure("sslinv.stages.probe")
    assert {"sslinv.probes", "sslinv.tasks", "sslinv.targets", "sslinv.errors"} <= set(probe)
    assert "sslinv.figures" not in probe and "sslinv.training" not in probe
    pretrain = module_closure("sslinv.stages.pretrain")
    # `from sslinv.models.moco import MoCo` inside a function, and the package __init__s
    assert {"sslinv.models.moco", "sslinv.models", "sslinv.training", "sslinv.augment"} <= set(
        pretrain
    )
    assert "sslinv.probes" not in pretrain
    figures = module_closure("sslinv.stages.figures")
    assert {"sslinv.figures", "sslinv.palette", "sslinv.findings"} <= set(figures)
    assert "sslinv.cli" not in figures  # the dispatcher is not a stage's code


def test_every_stage_has_a_stable_distinct_hash():
    hashes = {stage: code_hash(stage) for stage in STAGES}
    assert hashes == {stage: code_hash(stage) for stage in STAGES}
    assert all(len(h) == 16 for h in hashes.values())
    assert hashes["probe"] != hashes["table"]
