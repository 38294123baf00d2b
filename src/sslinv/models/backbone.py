"""torchvision ResNet backbones, with a width knob and a small-image stem.

The paper uses ResNet-50 at 224 px. On a 2-core CPU the embedded default needs the same
architecture family at a fraction of the cost, so the base width is configurable (64 is
torchvision's own, whose state-dict keys stay identical for checkpoint import) and the
stem can be a single 3x3 convolution without max-pool for 32-64 px images.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torchvision.models import resnet

ARCHITECTURES = {
    "resnet18": (resnet.BasicBlock, [2, 2, 2, 2]),
    "resnet50": (resnet.Bottleneck, [3, 4, 6, 3]),
}


class Backbone(nn.Module):
    """A ResNet trunk that returns global-average-pooled features (the paper's f(x))."""

    def __init__(
        self, arch: str = "resnet50", width: int = 64, stem: str = "imagenet", stem_stride: int = 1
    ) -> None:
        super().__init__()
        if arch not in ARCHITECTURES:
            raise ValueError(f"unknown backbone {arch!r}; available: {', '.join(ARCHITECTURES)}")
        if stem not in ("imagenet", "small"):
            raise ValueError(f"unknown stem {stem!r}; use 'imagenet' or 'small'")
        block, layers = ARCHITECTURES[arch]
        net = resnet.ResNet(block, layers)
        # Rebuild the stages at the requested width with torchvision's own builder so the
        # module names (conv1, bn1, layer1.0.conv1, ...) match torchvision checkpoints.
        net.inplanes = width
        if stem == "small":
            net.conv1 = nn.Conv2d(3, width, 3, stride=stem_stride, padding=1, bias=False)
            net.maxpool = nn.Identity()
        else:
            net.conv1 = nn.Conv2d(3, width, 7, stride=2, padding=3, bias=False)
        net.bn1 = nn.BatchNorm2d(width)
        net.layer1 = net._make_layer(block, width, layers[0])
        net.layer2 = net._make_layer(block, width * 2, layers[1], stride=2)
        net.layer3 = net._make_layer(block, width * 4, layers[2], stride=2)
        net.layer4 = net._make_layer(block, width * 8, layers[3], stride=2)
        net.fc = nn.Identity()
        for module in net.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        self.net = net
        self.feature_dim = width * 8 * block.expansion
        self.config = {"arch": arch, "width": width, "stem": stem, "stem_stride": stem_stride}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def build_backbone(spec: Mapping[str, Any], seed: int | None = None) -> Backbone:
    """Build a backbone from the config's ``pretrain.backbone`` section (seeded init)."""
    if seed is not None:
        torch.manual_seed(seed)
    return Backbone(
        spec.get("arch", "resnet50"),
        spec.get("width", 64),
        spec.get("stem", "imagenet"),
        spec.get("stem_stride", 1),
    )
