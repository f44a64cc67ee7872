"""Stateful layers: they own Parameters and the forward cache, and call ``convnp.functional``."""

from convnp.layers.activation import (
    GELU,
    Identity,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from convnp.layers.adaptive_pool import AdaptiveAvgPool1d, AdaptiveAvgPool2d
from convnp.layers.container import Concat, Residual, Sequential
from convnp.layers.conv import Conv1d, Conv2d
from convnp.layers.conv_transpose import (
    ConvTranspose1d,
    ConvTranspose2d,
    homework_conv_transpose1d,
    homework_conv_transpose2d,
)
from convnp.layers.dropout import Dropout, Dropout2d
from convnp.layers.linear import Flatten, Linear
from convnp.layers.module import Module, Parameter
from convnp.layers.norm import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from convnp.layers.pool import AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d
from convnp.layers.resample import Downsample1d, Downsample2d, Upsample, Upsample1d, Upsample2d

__all__ = [
    "AvgPool1d", "AvgPool2d", "Conv1d", "Conv2d", "Dropout", "Flatten", "GELU", "Identity",
    "LeakyReLU", "Linear", "LogSoftmax", "MaxPool1d", "MaxPool2d", "Module", "Parameter",
    "ReLU", "Sequential", "Sigmoid", "Softmax", "Tanh",
    "ConvTranspose1d", "ConvTranspose2d", "Downsample1d", "Downsample2d", "Upsample",
    "Upsample1d", "Upsample2d", "homework_conv_transpose1d", "homework_conv_transpose2d",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "BatchNorm1d", "BatchNorm2d", "Concat",
    "Dropout2d", "GroupNorm", "LayerNorm", "Residual",
]
