"""Model zoo: LeNet-5, the d2l modern-CNN ladder and the scanning-MLP-as-CNN models."""

from convnp.models.ladder import LADDER, densenet, ladder_model, nin, vgg
from convnp.models.lenet import lenet5
from convnp.models.resnet import ConvBlock, ResBlock, resnet
from convnp.models.scan_reference import distributed_scan_mlp, scan_mlp, shared_parameter_count
from convnp.models.scanning import (
    CNN,
    DistributedScanningMLP,
    RowsAsTime,
    SimpleScanningMLP,
    conv1d_to_mlp_weight,
    mlp_to_conv1d_weight,
)

__all__ = [
    "lenet5", "nin", "vgg", "resnet", "densenet", "ConvBlock", "ResBlock", "LADDER",
    "ladder_model",
    "CNN", "DistributedScanningMLP", "RowsAsTime", "SimpleScanningMLP",
    "conv1d_to_mlp_weight", "distributed_scan_mlp", "mlp_to_conv1d_weight", "scan_mlp",
    "shared_parameter_count",
]
