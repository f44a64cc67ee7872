"""Optimizers (SGD, Adam, AdamW, RMSprop) and learning-rate schedulers, with PyTorch's update rules.

Typical loop:

    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = CosineAnnealingLR(opt, T_max=epochs)
    for epoch in range(epochs):
        for x, y in batches:
            opt.zero_grad()
            ...forward, loss, backward...
            opt.step()
        sched.step()
"""

from convnp.optim.adam import Adam, AdamW
from convnp.optim.lr_scheduler import (
    CosineAnnealingLR,
    LinearWarmup,
    LRScheduler,
    OneCycleLR,
    StepLR,
)
from convnp.optim.optimizer import Optimizer
from convnp.optim.rmsprop import RMSprop
from convnp.optim.sgd import SGD

__all__ = [
    "SGD", "Adam", "AdamW", "CosineAnnealingLR", "LRScheduler", "LinearWarmup", "OneCycleLR",
    "Optimizer", "RMSprop", "StepLR",
]
