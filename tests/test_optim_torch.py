"""convnp.optim against torch.optim: the same gradients in, the same parameters out."""

import inspect
import itertools

import numpy as np
import pytest

from convnp import Parameter
from convnp.optim import SGD, Adam, AdamW, CosineAnnealingLR, OneCycleLR, RMSprop, StepLR

torch = pytest.importorskip("torch")

STEPS = 20
SHAPES = [(3, 4), (5,), ()]
TOL = 1e-6


def compare(ours_cls, torch_cls, kwargs, seed=0, dtype=np.float64, tol=TOL, lrs=None):
    """Run both optimizers ``STEPS`` times on the same gradients; compare params and state.

    ``lrs``, if given, is the learning rate to set before each step.
    """
    rng = np.random.default_rng(seed)
    start = [rng.standard_normal(shape).astype(dtype) for shape in SHAPES]
    ours = [Parameter(a.copy()) for a in start]
    theirs = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in start]
    opt, topt = ours_cls(ours, **kwargs), torch_cls(theirs, **kwargs)
    for step in range(STEPS):
        if lrs is not None:
            opt.lr = topt.param_groups[0]["lr"] = lrs[step]
        for p, tp in zip(ours, theirs):
            g = rng.standard_normal(p.shape).astype(dtype)
            p.grad[...] = g
            tp.grad = torch.from_numpy(g.copy())
        opt.step()
        topt.step()
    for i, (p, tp) in enumerate(zip(ours, theirs)):
        assert p.data.dtype == dtype
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=tol, atol=tol)
        for name, value in opt.state.get(i, {}).items():
            np.testing.assert_allclose(value, topt.state[tp][name].numpy(), rtol=tol,
                                       atol=tol, err_msg=name)
    return opt


SGD_OPTIONS = list(itertools.product([0.0, 0.9], [0.0, 0.5], [False, True], [0.0, 1e-2]))


@pytest.mark.parametrize("momentum, dampening, nesterov, weight_decay", SGD_OPTIONS)
def test_sgd_matches_torch(momentum, dampening, nesterov, weight_decay):
    kwargs = dict(lr=0.1, momentum=momentum, dampening=dampening, nesterov=nesterov,
                  weight_decay=weight_decay)
    if nesterov and (momentum == 0 or dampening != 0):
        # an invalid combination: both libraries must refuse it
        with pytest.raises(ValueError):
            torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], **kwargs)
        with pytest.raises(ValueError, match="SGD: .* when nesterov=True"):
            SGD([Parameter(np.zeros(1))], **kwargs)
        return
    opt = compare(SGD, torch.optim.SGD, kwargs)
    assert len(opt.state) == (len(SHAPES) if momentum else 0)


ADAM_OPTIONS = [((0.9, 0.999), 1e-8), ((0.5, 0.9), 1e-3), ((0.0, 0.99), 0.1)]


@pytest.mark.parametrize("weight_decay", [0.0, 1e-2, 0.3])
@pytest.mark.parametrize("betas, eps", ADAM_OPTIONS)
@pytest.mark.parametrize("ours_cls, torch_name", [(Adam, "Adam"), (AdamW, "AdamW")])
def test_adam_and_adamw_match_torch(ours_cls, torch_name, betas, eps, weight_decay):
    kwargs = dict(lr=0.05, betas=betas, eps=eps, weight_decay=weight_decay)
    opt = compare(ours_cls, getattr(torch.optim, torch_name), kwargs, seed=1)
    assert all(int(state["step"]) == STEPS for state in opt.state.values())


@pytest.mark.parametrize("centered", [False, True])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("alpha, eps, weight_decay", [(0.99, 1e-8, 0.0), (0.5, 1e-3, 1e-2),
                                                      (0.1, 0.1, 0.3)])
def test_rmsprop_matches_torch(alpha, eps, weight_decay, momentum, centered):
    kwargs = dict(lr=0.01, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                  centered=centered)
    opt = compare(RMSprop, torch.optim.RMSprop, kwargs, seed=7)
    names = {"step", "square_avg"} | ({"momentum_buffer"} if momentum else set()) | (
        {"grad_avg"} if centered else set())
    assert all(set(state) == names for state in opt.state.values())  # as torch's
    assert all(int(state["step"]) == STEPS for state in opt.state.values())


@pytest.mark.parametrize("ours_cls, torch_cls, kwargs", [
    (SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-2)),
    (RMSprop, torch.optim.RMSprop, dict(momentum=0.5, centered=True)),
    (Adam, torch.optim.Adam, dict(weight_decay=1e-2)),
    (AdamW, torch.optim.AdamW, dict(weight_decay=0.3)),
])
def test_changing_lr_matches_torch(ours_cls, torch_cls, kwargs):
    lrs = np.linspace(0.2, 0.01, STEPS).tolist()
    compare(ours_cls, torch_cls, kwargs, seed=2, lrs=lrs)


@pytest.mark.parametrize("ours_cls, torch_cls, kwargs", [
    (SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9, weight_decay=1e-2)),
    (Adam, torch.optim.Adam, dict(lr=0.01)),
    (AdamW, torch.optim.AdamW, dict(lr=0.01)),
    (RMSprop, torch.optim.RMSprop, dict(lr=0.01, momentum=0.9)),
])
def test_float32_matches_torch_float32(ours_cls, torch_cls, kwargs):
    compare(ours_cls, torch_cls, kwargs, seed=3, dtype=np.float32, tol=1e-5)


def test_frozen_parameter_matches_torch_parameter_without_grad():
    rng = np.random.default_rng(4)
    start = [rng.standard_normal(3) for _ in range(2)]
    ours = [Parameter(a.copy()) for a in start]
    ours[0].requires_grad = False
    theirs = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in start]
    opt = AdamW(ours, lr=0.1, weight_decay=0.5)
    topt = torch.optim.AdamW(theirs, lr=0.1, weight_decay=0.5)
    for _ in range(5):
        g = rng.standard_normal(3)
        ours[0].grad[...] = ours[1].grad[...] = g
        theirs[1].grad = torch.from_numpy(g.copy())  # theirs[0].grad stays None
        opt.step()
        topt.step()
    for p, tp in zip(ours, theirs):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=TOL, atol=TOL)


def test_training_with_one_cycle_matches_torch():
    rng = np.random.default_rng(5)
    start = rng.standard_normal(4)
    p, tp = Parameter(start.copy()), torch.nn.Parameter(torch.from_numpy(start.copy()))
    opt = SGD([p], lr=0.1, momentum=0.9)
    topt = torch.optim.SGD([tp], lr=0.1, momentum=0.9)
    sched = OneCycleLR(opt, max_lr=0.5, total_steps=STEPS)
    tsched = torch.optim.lr_scheduler.OneCycleLR(topt, max_lr=0.5, total_steps=STEPS,
                                                 cycle_momentum=False)
    for _ in range(STEPS):
        g = rng.standard_normal(4)
        p.grad[...] = g
        tp.grad = torch.from_numpy(g.copy())
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
    np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=TOL, atol=TOL)


@pytest.mark.parametrize("ours, theirs", [
    (SGD, torch.optim.SGD), (Adam, torch.optim.Adam), (AdamW, torch.optim.AdamW),
    (RMSprop, torch.optim.RMSprop), (StepLR, torch.optim.lr_scheduler.StepLR),
    (CosineAnnealingLR, torch.optim.lr_scheduler.CosineAnnealingLR),
    (OneCycleLR, torch.optim.lr_scheduler.OneCycleLR),
])
def test_positional_arguments_and_defaults_are_pytorchs(ours, theirs):
    """An argument passed by position means the same thing in both; every default
    convnp has is PyTorch's (convnp may require what PyTorch derives: OneCycleLR's
    total_steps)."""
    def positional(cls):
        return [p for p in inspect.signature(cls).parameters.values()
                if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]

    mine, torchs = positional(ours), positional(theirs)
    assert [p.name for p in mine] == [p.name for p in torchs[:len(mine)]]
    torch_defaults = {q.name: q.default for q in inspect.signature(theirs).parameters.values()}
    for p in inspect.signature(ours).parameters.values():
        if p.default is not inspect.Parameter.empty and p.name in torch_defaults:
            assert p.default == torch_defaults[p.name], p.name


def test_sgd_by_position_matches_torch():
    compare(lambda params, *a: SGD(params, 0.1, 0.9, 0.0, 5e-3),
            lambda params, *a: torch.optim.SGD(params, 0.1, 0.9, 0.0, 5e-3), {}, seed=5)
    compare(SGD, torch.optim.SGD, {}, seed=6)  # the default lr, 1e-3
