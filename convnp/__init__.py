"""convnp: a convolutional-neural-network library written from scratch in NumPy.

Every layer writes out its own forward and backward pass. Start with ``convnp.layers``
(the layers), ``convnp.functional`` (the array functions they call), ``convnp.naive``
(the same arithmetic as loops), ``convnp.losses``, ``convnp.optim`` and ``convnp.train``.

``import convnp`` makes every subpackage reachable (``convnp.optim.SGD``,
``convnp.models.lenet5``); the optional dependencies (matplotlib, torch, tqdm) are
imported only when a function that needs them runs.
"""

from convnp import (
    checkpoint,
    data,
    functional,
    init,
    interop,
    kernels,
    layers,
    losses,
    models,
    naive,
    optim,
    train,
    validate,
    viz,
)
from convnp.anomaly import detect_anomaly, is_anomaly_enabled
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
from convnp.losses import CrossEntropyLoss, MSELoss, MultiMarginLoss
from convnp.receptive_field import receptive_field
from convnp.summary import summary

__version__ = "0.1.0"

__all__ = [
    "AvgPool1d", "AvgPool2d", "Conv1d", "Conv2d", "CrossEntropyLoss", "Dropout", "Flatten",
    "GELU", "Identity", "LeakyReLU", "Linear", "LogSoftmax", "MSELoss", "MaxPool1d",
    "MaxPool2d", "Module", "Parameter", "ReLU", "Sequential", "Sigmoid", "Softmax", "Tanh",
    "checkpoint", "data", "functional", "gradcheck", "init", "layers", "losses", "models",
    "naive", "optim", "train",
    "ConvTranspose1d", "ConvTranspose2d", "Downsample1d", "Downsample2d", "Upsample",
    "Upsample1d", "Upsample2d", "interop",
    "kernels", "receptive_field", "summary", "viz",
    "detect_anomaly", "is_anomaly_enabled", "validate",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "BatchNorm1d", "BatchNorm2d", "Concat",
    "Dropout2d", "GroupNorm", "LayerNorm", "Residual", "MultiMarginLoss",
]
