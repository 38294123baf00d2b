"""From stored uint8 images to network inputs.

Images stay uint8 until they reach the device (4x less memory and transfer); augmentations
run on floats in [0, 1]; the network sees ImageNet-normalised inputs, the convention of
every torchvision and MoCo checkpoint, so imported and trained encoders see the same scale.
"""

from __future__ import annotations

import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """uint8 N x 3 x H x W -> float32 in [0, 1]."""
    return x.float().div_(255.0)


def normalize(x: torch.Tensor) -> torch.Tensor:
    """Float images in [0, 1] -> ImageNet-standardised network input."""
    mean = torch.tensor(IMAGENET_MEAN, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x - mean) / std
