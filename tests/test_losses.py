"""CrossEntropyLoss and MSELoss: values by hand, gradients, stability, reductions, bad targets."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from reference import cross_entropy_ref, softmax_ref

from convnp import CrossEntropyLoss, MSELoss, MultiMarginLoss, gradcheck

REDUCTIONS = ["mean", "sum", "none"]


def one_hot(target, C):
    q = np.zeros((len(target), C))
    for n, c in enumerate(target):
        q[n, c] = 1
    return q


@given(st.integers(1, 5), st.integers(2, 6), st.floats(0.1, 20), st.sampled_from(REDUCTIONS),
       st.integers(0, 2**32 - 1))
def test_cross_entropy_is_minus_log_softmax(N, C, scale, reduction, seed):
    rng = np.random.default_rng(seed)
    logits = scale * rng.standard_normal((N, C))
    target = rng.integers(0, C, N)
    loss = CrossEntropyLoss(reduction=reduction)(logits, target)
    expected = cross_entropy_ref(logits, target, reduction=reduction)
    np.testing.assert_allclose(loss, expected, rtol=1e-10, atol=1e-12)
    if reduction != "none":
        assert isinstance(loss, float)


@given(st.integers(1, 5), st.integers(2, 6), st.integers(0, 2**32 - 1))
def test_cross_entropy_gradient_is_softmax_minus_onehot_over_n(N, C, seed):
    rng = np.random.default_rng(seed)
    logits = 3 * rng.standard_normal((N, C))
    target = rng.integers(0, C, N)
    residual = softmax_ref(logits, 1) - one_hot(target, C)
    mean = CrossEntropyLoss()
    mean(logits, target)
    np.testing.assert_allclose(mean.backward(), residual / N, rtol=1e-10, atol=1e-14)
    total = CrossEntropyLoss(reduction="sum")
    total(logits, target)
    np.testing.assert_allclose(total.backward(), residual, rtol=1e-10, atol=1e-14)
    per_sample = CrossEntropyLoss(reduction="none")
    per_sample(logits, target)
    g = rng.standard_normal(N)
    np.testing.assert_allclose(per_sample.backward(g), g[:, None] * residual, rtol=1e-10,
                               atol=1e-14)


@pytest.mark.parametrize("eps", [0.1, 0.3, 1.0])
def test_label_smoothing_formula(eps, rng):
    logits = rng.standard_normal((4, 5))
    target = np.array([0, 4, 2, 2])
    log_p = np.log(softmax_ref(logits, 1))
    nll = -log_p[np.arange(4), target]
    expected = (1 - eps) * nll + eps * (-log_p).mean(axis=1)
    losses = CrossEntropyLoss(reduction="none", label_smoothing=eps)(logits, target)
    np.testing.assert_allclose(losses, expected, rtol=1e-10)
    np.testing.assert_allclose(losses, cross_entropy_ref(logits, target, eps, "none"),
                               rtol=1e-10)
    crit = CrossEntropyLoss(label_smoothing=eps)
    assert crit(logits, target) == pytest.approx(expected.mean(), rel=1e-10)
    q = (1 - eps) * one_hot(target, 5) + eps / 5
    np.testing.assert_allclose(crit.backward(), (softmax_ref(logits, 1) - q) / 4, rtol=1e-10)


@pytest.mark.parametrize("eps", [0.0, 0.2])
def test_probability_targets(eps, rng):
    logits = rng.standard_normal((3, 4))
    probs = softmax_ref(rng.standard_normal((3, 4)), 1)
    crit = CrossEntropyLoss(label_smoothing=eps)
    assert crit(logits, probs) == pytest.approx(cross_entropy_ref(logits, probs, eps),
                                                rel=1e-10)
    # one-hot probabilities give the same loss and gradient as the class indices
    target = np.array([1, 0, 3])
    by_index, by_prob = CrossEntropyLoss(), CrossEntropyLoss()
    assert by_index(logits, target) == pytest.approx(by_prob(logits, one_hot(target, 4)))
    np.testing.assert_allclose(by_index.backward(), by_prob.backward(), rtol=1e-12)


@pytest.mark.parametrize("eps", [0.0, 0.3])
def test_probability_targets_that_do_not_sum_to_one_get_the_true_gradient(eps, rng):
    logits = rng.standard_normal((3, 5))
    q = 2 * rng.random((3, 5))                    # rows sum to anything from 0 to 10
    q[1] = 0                                      # and one row to 0: its gradient is 0
    crit = CrossEntropyLoss(reduction="sum", label_smoothing=eps)
    crit(logits, q)
    grad = crit.backward()
    numeric = np.zeros_like(logits)
    for index in np.ndindex(logits.shape):
        step = np.zeros_like(logits)
        step[index] = 1e-6
        numeric[index] = (CrossEntropyLoss(reduction="sum", label_smoothing=eps)(logits + step, q)
                          - CrossEntropyLoss(reduction="sum", label_smoothing=eps)(
                              logits - step, q)) / 2e-6
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)
    assert eps or not grad[1].any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_is_finite_for_huge_logits(dtype):
    logits = np.array([[1e4, -1e4, 0], [-1e4, 1e4, 1e4]], dtype=dtype)
    crit = CrossEntropyLoss()
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        loss = crit(logits, np.array([1, 0]))
        grad = crit.backward()
    assert math.isfinite(loss)
    assert loss == pytest.approx((2e4 + (2e4 + math.log(2))) / 2, rel=1e-6)
    assert grad.dtype == dtype and np.isfinite(grad).all()
    np.testing.assert_allclose(grad, [[0.5, -0.5, 0], [-0.5, 0.25, 0.25]], atol=1e-6)


def wrap_loss(crit):
    """The function form gradcheck takes: inputs (pred, target) -> (loss, backward)."""
    def f(pred, target):
        loss = np.asarray(crit(pred, target))
        return loss, lambda g: (crit.backward(g), None)
    return f


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("target_kind, eps", [("index", 0.0), ("index", 0.25),
                                              ("prob", 0.0), ("prob", 0.1)])
def test_cross_entropy_gradcheck(reduction, target_kind, eps, rng):
    logits = rng.standard_normal((3, 4))
    if target_kind == "index":
        target = np.array([3, 0, 1])
    else:
        target = softmax_ref(rng.standard_normal((3, 4)), 1)
    crit = CrossEntropyLoss(reduction=reduction, label_smoothing=eps)
    assert gradcheck(wrap_loss(crit), logits, target)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_value_gradient_and_gradcheck(reduction, rng):
    pred, target = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))
    squares = np.zeros(pred.shape)
    for i in np.ndindex(pred.shape):
        squares[i] = (pred[i] - target[i]) ** 2
    expected = {"mean": squares.sum() / 24, "sum": squares.sum(), "none": squares}[reduction]
    crit = MSELoss(reduction=reduction)
    np.testing.assert_allclose(crit(pred, target), expected, rtol=1e-12)
    if reduction != "none":
        scale = 1 / 24 if reduction == "mean" else 1
        np.testing.assert_allclose(crit.backward(), 2 * (pred - target) * scale, rtol=1e-12)
    assert gradcheck(wrap_loss(MSELoss(reduction=reduction)), pred, target)


# --------------------------------------------------------------------------- bad targets
@pytest.mark.parametrize("target, message", [
    (np.array([0, 3]), r"CrossEntropyLoss: class indices must be in \[0, 2\], got values "
                       r"from 0 to 3"),
    (np.array([-1, 0]), r"CrossEntropyLoss: class indices must be in \[0, 2\].*-1"),
    (np.array([[0], [1]]), r"CrossEntropyLoss: expected target of shape \(2,\) or \(2, 3\) "
                           r"for logits of shape \(2, 3\), got \(2, 1\)"),
    (np.array([0, 1, 2]), r"CrossEntropyLoss: expected target .*got \(3,\)"),
    (np.zeros((2, 4)), r"CrossEntropyLoss: expected target .*got \(2, 4\)"),
])
def test_cross_entropy_bad_targets(target, message):
    with pytest.raises(ValueError, match=message):
        CrossEntropyLoss()(np.zeros((2, 3)), target)


def test_cross_entropy_float_class_indices_are_a_type_error():
    with pytest.raises(TypeError, match=r"CrossEntropyLoss: class-index targets must be "
                                        r"integers, got dtype float64"):
        CrossEntropyLoss()(np.zeros((2, 3)), np.array([0.0, 1.0]))


def test_cross_entropy_bad_logits_and_arguments():
    with pytest.raises(ValueError, match=r"CrossEntropyLoss: expected logits of shape "
                                         r"\(N, C\), got shape \(2, 3, 4\)"):
        CrossEntropyLoss()(np.zeros((2, 3, 4)), np.array([0, 1]))
    with pytest.raises(ValueError, match="CrossEntropyLoss: reduction must be one of .*'avg'"):
        CrossEntropyLoss(reduction="avg")
    with pytest.raises(ValueError, match=r"CrossEntropyLoss: label_smoothing must be in "
                                         r"\[0, 1\], got 1.5"):
        CrossEntropyLoss(label_smoothing=1.5)


def test_mse_shape_mismatch():
    with pytest.raises(ValueError, match=r"MSELoss: pred shape \(2, 3\) and target shape "
                                         r"\(3, 2\) differ"):
        MSELoss()(np.zeros((2, 3)), np.zeros((3, 2)))


def multi_margin_ref(scores, target, margin, p):
    """One sample and one wrong class at a time."""
    N, C = scores.shape
    losses = np.zeros(N)
    for n in range(N):
        for i in range(C):
            if i != target[n]:
                losses[n] += max(0.0, margin - scores[n, target[n]] + scores[n, i]) ** p / C
    return losses


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p, margin", [(1, 1.0), (2, 1.0), (1, 0.4), (2, 3.0)])
def test_multi_margin_value_and_gradcheck(p, margin, reduction, rng):
    scores, target = rng.standard_normal((5, 4)), np.array([3, 0, 1, 1, 2])
    crit = MultiMarginLoss(p, margin, reduction=reduction)
    expected = multi_margin_ref(scores, target, margin, p)
    expected = {"none": expected, "sum": expected.sum(), "mean": expected.mean()}[reduction]
    np.testing.assert_allclose(crit(scores, target), expected, rtol=1e-12)
    assert gradcheck(wrap_loss(crit), scores, target)


def test_multi_margin_times_c_is_cs231n_svm_loss():
    """CS231n's svm_loss sanity check: scores 0.001 * randn for 10 classes give a loss
    of about 9 (each of the 9 wrong classes within the margin by about 1)."""
    rng = np.random.default_rng(0)
    scores, target = 0.001 * rng.standard_normal((50, 10)), rng.integers(0, 10, 50)
    hinge = np.maximum(0, scores - scores[np.arange(50), target][:, None] + 1)
    hinge[np.arange(50), target] = 0
    cs231n = hinge.sum() / 50  # svm_loss: summed over classes, averaged over samples
    assert 10 * MultiMarginLoss()(scores, target) == pytest.approx(cs231n, rel=1e-12)
    assert cs231n == pytest.approx(9, abs=0.05)


@pytest.mark.parametrize("make, target, error, message", [
    (lambda: MultiMarginLoss(3), [0], ValueError, r"MultiMarginLoss: p must be 1 or 2 .*got 3"),
    (lambda: MultiMarginLoss(1.5), [0], TypeError, r"MultiMarginLoss: p must be an int"),
    (lambda: MultiMarginLoss(margin="1"), [0], TypeError, r"MultiMarginLoss: margin must be"),
    (MultiMarginLoss, [3], ValueError, r"MultiMarginLoss: class indices must be in \[0, 2\], "
                                       r"got values from 3 to 3"),
    (MultiMarginLoss, [0.0], TypeError, r"MultiMarginLoss: class-index targets must be "
                                        r"integers, got dtype float64"),
    (MultiMarginLoss, [0, 1], ValueError, r"MultiMarginLoss: expected scores \(N, C\) and "
                                          r"target \(N,\), got shapes \(1, 3\) and \(2,\)"),
])
def test_multi_margin_misuse_is_named(make, target, error, message):
    with pytest.raises(error, match=message):
        make()(np.zeros((1, 3)), np.array(target))


def test_multi_margin_keeps_its_own_copy_of_the_labels(rng):
    scores, target = rng.standard_normal((4, 3)), np.array([0, 1, 2, 0])
    crit = MultiMarginLoss()
    crit(scores, target)
    expected = MultiMarginLoss()
    expected(scores, target.copy())
    target[:] = 1  # a student reusing the label array before backward
    np.testing.assert_array_equal(crit.backward(), expected.backward())
