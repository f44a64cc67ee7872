"""The training loop: forward, loss, backward, step — and the bookkeeping around it.

One training step, written out::

    logits = model(x)                      # forward, each layer keeps its cache
    loss = loss_fn(logits, y)
    optimizer.zero_grad()                  # gradients accumulate, so clear them first
    model.backward(loss_fn.backward(), input_grad=False)   # nobody needs dL/d(images)
    optimizer.step()                       # p.data -= lr * p.grad (or Adam's rule)

``Trainer`` adds what a real run needs: epochs, running accuracy, a progress bar,
validation, a learning-rate schedule, a history, and a stop with a clear error when the
loss becomes NaN or infinite.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import TextIO

import numpy as np

from convnp.data import DataLoader
from convnp.layers.container import backward_without_input_grad
from convnp.layers.module import Module, inspection_mode
from convnp.optim.lr_scheduler import LRScheduler
from convnp.optim.optimizer import Optimizer
from convnp.progress import ProgressBar
from convnp.validate import check_choice, check_int

HISTORY_FIELDS = ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds",
                  "images_per_sec")


@dataclass
class History:
    """Per-epoch records of a training run; each attribute is a list with one entry per epoch.

    ``val_loss``/``val_acc`` hold NaN for epochs run without validation data; ``lr`` is the
    learning rate at the start of each epoch.

    Example:
        >>> h = History()
        >>> h.append(train_loss=0.3, train_acc=0.9, val_loss=0.2, val_acc=0.95, lr=0.1,
        ...          seconds=2.0, images_per_sec=30000.0)
        >>> len(h), h.val_acc
        (1, [0.95])
    """

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    images_per_sec: list[float] = field(default_factory=list)

    def append(self, **values: float) -> None:
        """Add one epoch; every field of ``HISTORY_FIELDS`` must be given, and no other."""
        missing = [name for name in HISTORY_FIELDS if name not in values]
        unknown = [name for name in values if name not in HISTORY_FIELDS]
        if missing or unknown:
            raise ValueError(f"History.append: missing fields {missing}, unknown fields "
                             f"{unknown}; give each of {list(HISTORY_FIELDS)}")
        try:
            numbers = [float(values[name]) for name in HISTORY_FIELDS]
        except (TypeError, ValueError) as error:
            raise TypeError(f"History.append: every value must be a number ({error})") from None
        for name, number in zip(HISTORY_FIELDS, numbers):
            getattr(self, name).append(number)

    def __len__(self) -> int:
        return len(self.train_loss)

    def state_dict(self) -> dict[str, np.ndarray]:
        """The history as float64 arrays, for a checkpoint."""
        return {name: np.array(getattr(self, name), dtype=np.float64) for name in HISTORY_FIELDS}

    @classmethod
    def from_state_dict(cls, state: dict[str, np.ndarray]) -> History:
        return cls(**{name: [float(v) for v in state[name]] for name in HISTORY_FIELDS})


def count_correct(logits: np.ndarray, y: np.ndarray) -> int:
    """How many rows' largest logit is at the target class.

    ``y`` holds class indices (N,), or one-hot or probability rows (N, C), whose largest
    entry is the class (``CrossEntropyLoss`` takes both).

    Example:
        >>> logits = np.array([[2.0, 1.0], [0.0, 3.0]])
        >>> count_correct(logits, np.array([0, 0])), count_correct(logits, np.eye(2))
        (1, 2)
    """
    classes = y.argmax(axis=1) if y.ndim == 2 else y
    return int((logits.argmax(axis=1) == classes).sum())


class Trainer:
    """Train and evaluate a classifier.

    Args:
        model: a Module mapping images to logits (N, C). If its ``backward`` takes
            ``input_grad`` (``Sequential`` and layers with parameters do), it is told not to
            compute dL/d(images); otherwise that gradient is computed and dropped.
        loss_fn: e.g. ``CrossEntropyLoss()``; called as ``loss_fn(logits, y)``, with
            ``loss_fn.backward()`` giving dloss/dlogits.
        optimizer: e.g. ``SGD(model.parameters(), lr=0.05, momentum=0.9)``.
        scheduler: optional learning-rate scheduler; stepped after every epoch, or after
            every batch with ``scheduler_step='batch'`` (OneCycleLR, warm-up).
        scheduler_step: ``'epoch'`` or ``'batch'``.
        verbose: 0 (or False) silent; 1 (or True) a progress bar (on a terminal) and one
            summary line per epoch.
        stream: where progress and summaries go (default ``sys.stdout``).

    Every argument is checked (type and range) when the Trainer is built.

    Example:
        >>> from convnp.layers import Flatten, Linear, Sequential
        >>> from convnp.losses import CrossEntropyLoss
        >>> from convnp.optim import SGD
        >>> rng = np.random.default_rng(0)
        >>> model = Sequential(Flatten(), Linear(4, 2, rng=rng))
        >>> x, y = rng.random((32, 1, 2, 2)).astype(np.float32), np.arange(32) % 2
        >>> trainer = Trainer(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1),
        ...                   verbose=0)
        >>> history = trainer.fit(DataLoader(x, y, batch_size=8, rng=rng), epochs=2)
        >>> len(history)
        2
    """

    def __init__(self, model: Module, loss_fn, optimizer, scheduler=None, *,
                 scheduler_step: str = "epoch", verbose: int = 1,
                 stream: TextIO | None = None) -> None:
        def wrong_type(name: str, expected: str, value: object) -> TypeError:
            return TypeError(f"Trainer: {name} must be {expected}, got "
                             f"{type(value).__name__} {value!r}")

        if not isinstance(model, Module):
            raise wrong_type("model", "a Module", model)
        if (isinstance(loss_fn, type) or not callable(loss_fn)
                or not callable(getattr(loss_fn, "backward", None))):
            raise wrong_type("loss_fn", "a loss such as CrossEntropyLoss() (an instance)",
                             loss_fn)
        if getattr(loss_fn, "reduction", "mean") != "mean":
            raise ValueError(f"Trainer: loss_fn must average over the batch (reduction='mean'), "
                             f"got reduction={loss_fn.reduction!r}")
        if not isinstance(optimizer, Optimizer):
            raise wrong_type("optimizer", "an Optimizer such as SGD(model.parameters(), lr=0.1)",
                             optimizer)
        model_params = {id(p) for p in model.parameters()}
        if not any(id(p) in model_params for p in optimizer.params):
            raise ValueError("Trainer: optimizer holds none of the model's parameters; build "
                             "it with this model's parameters: SGD(model.parameters(), ...)")
        if scheduler is not None and not isinstance(scheduler, LRScheduler):
            raise wrong_type("scheduler", "None or an LRScheduler", scheduler)
        if scheduler is not None and scheduler.optimizer is not optimizer:
            raise ValueError("Trainer: scheduler must schedule this trainer's optimizer, got one "
                             f"built on another optimizer ({scheduler!r})")
        self.scheduler_step = check_choice("Trainer", "scheduler_step", scheduler_step,
                                           ("epoch", "batch"))
        if not isinstance(verbose, (bool, np.bool_)):
            check_int("Trainer", "verbose", verbose, min=0)
        if stream is not None and not callable(getattr(stream, "write", None)):
            raise wrong_type("stream", "None or a text stream (with a write method)", stream)
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.scheduler = scheduler
        self.verbose = int(verbose)
        self.stream = stream if stream is not None else sys.stdout
        self.history = History()

    @property
    def history(self) -> History:
        """The epochs trained so far; assign the ``History`` from ``load_checkpoint`` to resume."""
        return self._history

    @history.setter
    def history(self, history: History) -> None:
        if not isinstance(history, History):
            hint = (" (load_checkpoint returns None for a checkpoint saved without a history; "
                    "save one with save_checkpoint(path, model, optimizer, trainer.history))"
                    if history is None else "")
            raise TypeError(f"Trainer: history must be a History, got "
                            f"{type(history).__name__}{hint}")
        self._history = history

    def fit(self, train_loader: DataLoader, epochs: int,
            val_data: tuple[np.ndarray, np.ndarray] | None = None) -> History:
        """Train for ``epochs`` more epochs; returns the history (it grows across calls).

        Args:
            train_loader: yields ``(x, y)`` batches.
            epochs: how many epochs to run, an int >= 1.
            val_data: optional ``(x, y)`` evaluated after each epoch (same kind of ``x``
                as the loader takes).

        Raises:
            FloatingPointError: if a loss is NaN or infinite. The step that produced it is
                not taken, so the model keeps the weights from before it.
        """
        epochs = check_int("Trainer.fit", "epochs", epochs, min=1)
        arrays_pair = (isinstance(train_loader, (tuple, list)) and len(train_loader) == 2
                       and all(isinstance(a, np.ndarray) for a in train_loader))  # (x, y)
        if isinstance(train_loader, np.ndarray) or arrays_pair or not (
                hasattr(train_loader, "__len__") and hasattr(train_loader, "__iter__")):
            raise TypeError(f"Trainer.fit: train_loader must be a DataLoader (or have __len__ "
                            f"and __iter__ and yield (x, y) batches), got "
                            f"{type(train_loader).__name__}; for arrays x, y use "
                            f"DataLoader(x, y, batch_size)")
        if val_data is not None and (not isinstance(val_data, (tuple, list))
                                     or len(val_data) != 2):
            raise TypeError(f"Trainer.fit: val_data must be None or a pair (x, y), got "
                            f"{type(val_data).__name__}")
        if len(train_loader) == 0:
            raise ValueError(f"Trainer.fit: train_loader yields no batches ({train_loader!r})")
        first = len(self.history) + 1
        for epoch in range(first, first + epochs):
            lr = self.optimizer.lr
            start = time.perf_counter()
            loss, acc, images = self._train_epoch(train_loader, epoch, first + epochs - 1)
            seconds = time.perf_counter() - start
            val_loss, val_acc = (np.nan, np.nan) if val_data is None else self.evaluate(*val_data)
            self.history.append(train_loss=loss, train_acc=acc, val_loss=val_loss,
                                val_acc=val_acc, lr=lr, seconds=seconds,
                                images_per_sec=images / seconds)
            if self.scheduler is not None and self.scheduler_step == "epoch":
                self.scheduler.step()
            if self.verbose:
                val = "" if val_data is None else f" | val loss {val_loss:.4f} acc {val_acc:.4f}"
                print(f"epoch {epoch:3d} | train loss {loss:.4f} acc {acc:.4f}{val} | lr "
                      f"{lr:.4g} | {seconds:.1f}s {images / seconds:.0f} img/s",
                      file=self.stream, flush=True)
        return self.history

    def _train_epoch(self, loader: DataLoader, epoch: int, last: int
                     ) -> tuple[float, float, int]:
        """One pass over ``loader``; returns mean loss, accuracy and the number of images."""
        self.model.train()
        bar = ProgressBar(len(loader), f"epoch {epoch}/{last}", self.verbose, self.stream)
        total_loss, correct, seen = 0.0, 0, 0
        for batch, item in enumerate(loader, start=1):
            x, y = _check_batch(item, batch)
            logits = self.model(x)
            loss = self.loss_fn(logits, y)
            if not np.isfinite(loss):
                bar.close()
                finite = all(np.isfinite(p.data).all() for p in self.model.parameters())
                state = ("so the model keeps the weights from before it" if finite else
                         "but an earlier step already made some weights NaN or infinite")
                raise FloatingPointError(f"Trainer: loss is {loss} at epoch {epoch}, batch "
                                         f"{batch}; the step was not taken, {state} (try a "
                                         f"lower learning rate)")
            self.optimizer.zero_grad()
            backward_without_input_grad(self.model, self.loss_fn.backward())
            self.optimizer.step()
            if self.scheduler is not None and self.scheduler_step == "batch":
                self.scheduler.step()
            total_loss += loss * len(y)
            correct += count_correct(logits, y)
            seen += len(y)
            bar.update(total_loss / seen, correct / seen, len(y))
        bar.close()
        return total_loss / seen, correct / seen, seen

    def evaluate(self, x: np.ndarray, y: np.ndarray, batch_size: int = 256
                 ) -> tuple[float, float]:
        """Mean loss and accuracy on ``(x, y)``, in eval mode, keeping no cache for backward."""
        if not isinstance(y, np.ndarray) or not isinstance(x, np.ndarray):
            raise TypeError(f"Trainer.evaluate: x and y must be arrays, got "
                            f"{type(x).__name__} and {type(y).__name__}")
        if len(y) == 0:
            raise ValueError("Trainer.evaluate: got no samples (len(y) == 0)")
        total_loss, correct = 0.0, 0
        for _, yb, logits in self._batches(x, y, batch_size):
            total_loss += self.loss_fn(logits, yb) * len(yb)
            correct += count_correct(logits, yb)
        return total_loss / len(y), correct / len(y)

    def predict(self, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Logits for every row of ``x``, in eval mode: shape (N, C), also for N = 0."""
        if not isinstance(x, np.ndarray):
            raise TypeError(f"Trainer.predict: x must be an array of inputs, got "
                            f"{type(x).__name__}")
        dummy = np.zeros(len(x), dtype=np.int64)
        return np.concatenate([logits for _, _, logits in
                               self._batches(x, dummy, batch_size, at_least_one=True)])

    def _batches(self, x: np.ndarray, y: np.ndarray, batch_size: int,
                 at_least_one: bool = False):
        """Yield ``(x_batch, y_batch, logits)`` in eval mode with caching off, then restore.

        With ``at_least_one`` an empty ``x`` gives one empty batch (so the logits of no
        samples still have the model's (0, C) shape).
        """
        check_int(f"Trainer.{'predict' if at_least_one else 'evaluate'}", "batch_size",
                  batch_size, min=1)
        loader = DataLoader(x, y, batch_size, shuffle=False)
        with inspection_mode(self.model) as model:
            if at_least_one and len(loader) == 0:
                xb, yb = loader.batch(np.arange(0))
                yield xb, yb, model(xb)
            for xb, yb in loader:
                yield xb, yb, model(xb)


def _check_batch(item: object, batch: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``(x, y)`` of a training batch, checked before the step can change any weight."""
    where = f"Trainer.fit: batch {batch} of train_loader"
    if not isinstance(item, (tuple, list)) or len(item) != 2:
        size = f" of {len(item)} items" if isinstance(item, (tuple, list)) else ""
        raise TypeError(f"{where} must be a pair (x, y), got {type(item).__name__}{size}")
    x, y = item
    if not isinstance(x, np.ndarray) or not isinstance(y, np.ndarray):
        single = (" (a NumPy scalar y: one sample rather than a batch?)"
                  if isinstance(y, np.generic) else "")
        raise TypeError(f"{where}: x and y must be NumPy arrays, got {type(x).__name__} and "
                        f"{type(y).__name__}{single}")
    if x.ndim == 0 or y.ndim == 0 or len(y) == 0 or len(x) != len(y):
        raise ValueError(f"{where}: x and y must hold the same number of samples, at least 1; "
                         f"got shapes {x.shape} and {y.shape}")
    return x, y
