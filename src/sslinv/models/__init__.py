"""Networks: ResNet backbones, the MoCo-v2 objective and the supervised baseline."""
