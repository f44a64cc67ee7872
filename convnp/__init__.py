"""convnp: a convolutional-neural-network library written from scratch in NumPy.

Every layer writes out its own forward and backward pass. Start with ``convnp.layers``
(the layers), ``convnp.functional`` (the array kernels they call), ``convnp.losses``,
``convnp.optim`` and ``convnp.train``.
"""

from convnp import functional, init, interop, kernels, layers, losses, viz
from convnp.gradcheck import gradcheck
from convnp.layers import (
    GELU,
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Concat,
    Conv1d,
    Conv2d,
    ConvTranspose1d,
    ConvTranspose2d,
    Downsample1d,
    Downsample2d,
    Dropout,
    Dropout2d,
    Flatten,
    GroupNorm,
    Identity,
    LayerNorm,
    LeakyReLU,
    Linear,
    LogSoftmax,
    MaxPool1d,
    MaxPool2d,
    Module,
    Parameter,
    ReLU,
    Residual,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
    Upsample,
    Upsample1d,
    Upsample2d,
)
from convnp.losses import CrossEntropyLoss, MSELoss
from convnp.receptive_field import receptive_field
from convnp.summary import summary

__version__ = "0.1.0"

__all__ = [
    "AvgPool1d", "AvgPool2d", "Conv1d", "Conv2d", "CrossEntropyLoss", "Dropout", "Flatten",
    "GELU", "Identity", "LeakyReLU", "Linear", "LogSoftmax", "MSELoss", "MaxPool1d",
    "MaxPool2d", "Module", "Parameter", "ReLU", "Sequential", "Sigmoid", "Softmax", "Tanh",
    "functional", "gradcheck", "init", "layers", "losses",
    "ConvTranspose1d", "ConvTranspose2d", "Downsample1d", "Downsample2d", "Upsample",
    "Upsample1d", "Upsample2d", "interop",
    "kernels", "receptive_field", "summary", "viz",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "BatchNorm1d", "BatchNorm2d", "Concat",
    "Dropout2d", "GroupNorm", "LayerNorm", "Residual",
]
