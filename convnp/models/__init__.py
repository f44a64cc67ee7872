"""Model zoo: LeNet-5 and the scanning-MLP-as-CNN models."""

from convnp.models.lenet import lenet5

__all__ = ["lenet5"]
