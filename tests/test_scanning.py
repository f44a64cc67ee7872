"""Scanning MLPs are CNNs: weight conversion, the homework's models, the scan references."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from convnp.gradcheck import gradcheck
from convnp.layers import Flatten, LeakyReLU, ReLU, Tanh
from convnp.models.scan_reference import distributed_scan_mlp, scan_mlp, shared_parameter_count
from convnp.models.scanning import (
    CNN,
    DistributedScanningMLP,
    RowsAsTime,
    SimpleScanningMLP,
    conv1d_to_mlp_weight,
    mlp_to_conv1d_weight,
)

MLP_SHAPES = [(192, 8), (8, 16), (16, 4)]


def mlp_weights(rng, shapes=MLP_SHAPES):
    """Random MLP matrices scaled by 1/sqrt(fan_in), so activations stay O(1)."""
    return [rng.standard_normal(s) / np.sqrt(s[0]) for s in shapes]


def relu(z):
    return np.maximum(z, 0)


def channel_major(scan, channels):
    """A scan's time-major output [t0 ch0.., t1 ch0.., ...] in Flatten's channel-major order.

    Written with explicit indices, not with the reshape the models use.
    """
    n, size = scan.shape
    steps = size // channels
    out = np.empty_like(scan)
    for o in range(channels):
        for t in range(steps):
            out[:, o * steps + t] = scan[:, t * channels + o]
    return out


# ------------------------------------------------------------------ weight conversion
def test_mlp_to_conv1d_weight_follows_the_definition(rng):
    c, k, out = 3, 5, 4
    w = rng.standard_normal((k * c, out))
    weight = mlp_to_conv1d_weight(w, in_channels=c, kernel_size=k)
    assert weight.shape == (out, c, k)
    for o in range(out):
        for ch in range(c):
            for t in range(k):
                assert weight[o, ch, t] == w[t * c + ch, o]


def test_homework_weight_shapes():
    shapes = [mlp_to_conv1d_weight(np.zeros(s), c, k).shape
              for s, c, k in [((192, 8), 24, 8), ((8, 16), 8, 1), ((16, 4), 16, 1),
                              ((48, 2), 24, 2), ((4, 8), 2, 2), ((16, 4), 8, 2)]]
    assert shapes == [(8, 24, 8), (16, 8, 1), (4, 16, 1), (2, 24, 2), (8, 2, 2), (4, 8, 2)]


@given(c=st.integers(1, 5), k=st.integers(1, 5), out=st.integers(1, 5),
       seed=st.integers(0, 2**32 - 1))
def test_conversion_round_trip_is_exact_both_ways(c, k, out, seed):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((k * c, out))
    np.testing.assert_array_equal(conv1d_to_mlp_weight(mlp_to_conv1d_weight(w, c, k)), w)
    weight = rng.standard_normal((out, c, k))
    np.testing.assert_array_equal(mlp_to_conv1d_weight(conv1d_to_mlp_weight(weight), c, k),
                                  weight)


def test_conversion_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"mlp_to_conv1d_weight.*\(192, out\).*\(190, 8\)"):
        mlp_to_conv1d_weight(np.zeros((190, 8)), in_channels=24, kernel_size=8)
    with pytest.raises(ValueError, match=r"conv1d_to_mlp_weight.*\(8, 24\)"):
        conv1d_to_mlp_weight(np.zeros((8, 24)))


# ------------------------------------------------------------------ scan_mlp itself
def test_scan_mlp_by_hand():
    # One linear layer over windows of 2 steps of 1 feature: y_t = 1 * x_t + 10 * x_{t+1}.
    x = np.array([[[1.0, 2.0, 3.0, 4.0, 5.0]]])
    assert scan_mlp([np.array([[1.0], [10.0]])], x, window=2, stride=1).tolist() == [
        [21.0, 32.0, 43.0, 54.0]]
    # Two features: the window is flattened time-step-major [x0 f0, x0 f1, x1 f0, x1 f1].
    x2 = np.array([[[1.0, 2.0, 3.0], [100.0, 200.0, 300.0]]])
    w = np.array([[1.0], [0.0], [0.0], [0.001]])
    np.testing.assert_allclose(scan_mlp([w], x2, window=2, stride=1), [[1.2, 2.3]])


def test_scan_mlp_activation_options():
    x = np.array([[[-1.0, 2.0]]])
    w = [np.array([[1.0]]), np.array([[1.0]])]
    assert scan_mlp(w, x, 1, 1).tolist() == [[0.0, 2.0]]
    assert scan_mlp(w, x, 1, 1, np.tanh).tolist() == [[np.tanh(-1.0), np.tanh(2.0)]]
    assert scan_mlp([w[0]], x, 1, 1, biases=[np.array([0.5])]).tolist() == [[-0.5, 2.5]]
    assert scan_mlp([w[0]], x, 1, 1, activate_last=True).tolist() == [[0.0, 2.0]]


def test_scan_mlp_rejects_bad_input():
    with pytest.raises(ValueError, match=r"scan_mlp.*window 8.*\(2, 24, 5\)"):
        scan_mlp([np.zeros((192, 8))], np.zeros((2, 24, 5)), 8, 4)
    with pytest.raises(ValueError, match=r"scan_mlp: the first weight has 190 rows.*192"):
        scan_mlp([np.zeros((190, 8))], np.zeros((2, 24, 16)), 8, 4)


# ------------------------------------------------------------------ SimpleScanningMLP
@pytest.mark.parametrize("length", [128, 37])
def test_simple_scanning_mlp_equals_scan(rng, length):
    weights = mlp_weights(rng)
    x = rng.standard_normal((3, 24, length))
    net = SimpleScanningMLP(rng=rng, dtype=np.float64)
    net.init_weights(weights)
    expected = channel_major(scan_mlp(weights, x, window=8, stride=4), 4)
    assert expected.shape == (3, 4 * ((length - 8) // 4 + 1))
    np.testing.assert_allclose(net(x), expected, rtol=0, atol=1e-12)


def test_simple_scanning_mlp_layout(rng):
    net = SimpleScanningMLP(rng=rng)
    assert [(n, p.shape) for n, p in net.named_parameters()] == [
        ("0.weight", (8, 24, 8)), ("2.weight", (16, 8, 1)), ("4.weight", (4, 16, 1))]
    assert net(np.zeros((2, 24, 128), np.float32)).shape == (2, 124)


def deterministic_mlp_weights(shapes=MLP_SHAPES):
    """Fixed, non-random MLP matrices with both signs, so the ReLUs cut some units."""
    return [np.cos(np.arange(a * b) + 1.0 + i).reshape(a, b) / np.sqrt(a)
            for i, (a, b) in enumerate(shapes)]


@pytest.mark.parametrize("model", [SimpleScanningMLP, DistributedScanningMLP])
def test_scanning_models_end_with_the_homeworks_channel_major_flatten(model):
    # The homework's CNN_SimpleScanningMLP / CNN_DistributedScanningMLP end with its Flatten,
    # A.reshape(A.shape[0], -1): channel c at all 31 positions, then channel c + 1.
    x = np.sin(np.arange(2 * 24 * 128) / 7.0).reshape(2, 24, 128)
    net = model(dtype=np.float64)
    net.init_weights(deterministic_mlp_weights())
    assert type(net[-1]) is Flatten
    last_conv = net[:-1](x)
    assert last_conv.shape == (2, 4, 31)
    y = net(x)
    np.testing.assert_array_equal(y, last_conv.reshape(2, -1))
    for o in range(4):
        for t in range(31):
            assert y[1, o * 31 + t] == last_conv[1, o, t]
    assert 0 < np.count_nonzero(net[:2](x) == 0) < net[:2](x).size  # ReLU active and cut


@pytest.mark.parametrize("model, length", [(SimpleScanningMLP, 21), (DistributedScanningMLP, 19)])
def test_scanning_models_backward_through_the_flatten(model, length):
    # length 21 -> 4 windows (simple), 19 -> 9 -> 4 -> 3 windows (distributed).
    x = np.cos(np.arange(2 * 24 * length) / 5.0).reshape(2, 24, length)
    net = model(dtype=np.float64)
    net.init_weights(deterministic_mlp_weights())
    assert gradcheck(net, x)
    steps = net[:-1](x).shape[2]
    grad_y = np.sin(np.arange(2 * 4 * steps) + 0.5).reshape(2, 4 * steps)
    net(x)
    grad_x = net.backward(grad_y)
    net[:-1](x)
    np.testing.assert_array_equal(grad_x, net[:-1].backward(grad_y.reshape(2, 4, steps)))


def test_scan_is_time_major_and_the_model_channel_major(rng):
    weights = mlp_weights(rng)
    x = rng.standard_normal((2, 24, 128))
    net = SimpleScanningMLP(rng=rng, dtype=np.float64)
    net.init_weights(weights)
    scan = scan_mlp(weights, x, 8, 4)
    assert not np.allclose(net(x), scan)
    np.testing.assert_allclose(net(x), channel_major(scan, 4), rtol=0, atol=1e-12)
    np.testing.assert_allclose(net(x), scan.reshape(2, 31, 4).transpose(0, 2, 1).reshape(2, -1),
                               rtol=0, atol=1e-12)


def test_init_weights_rejects_wrong_shapes(rng):
    bad = [np.zeros((192, 8)), np.zeros((8, 16)), np.zeros((16, 5))]
    for model in (SimpleScanningMLP, DistributedScanningMLP):
        with pytest.raises(ValueError, match=rf"{model.__name__}\.init_weights.*\(16, 5\)"):
            model(rng=rng).init_weights(bad)


# ------------------------------------------------------------------ DistributedScanningMLP
def unrolled_distributed_mlp(w1, w2, w3, x):
    """The homework's distributed MLP written out: 4 tied 48->2, 2 tied 4->8, one 16->4."""
    n, c, length = x.shape
    outputs = []
    for start in range(0, length - 8 + 1, 4):
        steps = [x[:, :, start + i] for i in range(8)]
        layer1 = [relu(np.concatenate([steps[2 * j], steps[2 * j + 1]], axis=1) @ w1)
                  for j in range(4)]
        layer2 = [relu(np.concatenate([layer1[2 * j], layer1[2 * j + 1]], axis=1) @ w2)
                  for j in range(2)]
        outputs.append(np.concatenate([layer2[0], layer2[1]], axis=1) @ w3)
    return np.concatenate(outputs, axis=1)


def test_distributed_scanning_mlp_equals_unrolled_tied_mlp(rng):
    w1, w2, w3 = mlp_weights(rng)
    x = rng.standard_normal((3, 24, 128))
    net = DistributedScanningMLP(rng=rng, dtype=np.float64)
    net.init_weights([w1, w2, w3])
    shared = [w1[:48, :2], w2[:4, :8], w3[:16, :4]]
    expected = unrolled_distributed_mlp(*shared, x)  # time-major, window by window
    assert expected.shape == (3, 124)
    np.testing.assert_allclose(net(x), channel_major(expected, 4), rtol=0, atol=1e-12)
    np.testing.assert_allclose(distributed_scan_mlp(shared, x, (2, 2, 2), 4), expected,
                               rtol=0, atol=1e-12)


def test_distributed_init_uses_only_the_shared_slices(rng):
    weights = mlp_weights(rng)
    net = DistributedScanningMLP(rng=rng, dtype=np.float64)
    net.init_weights(weights)
    assert [p.shape for p in net.parameters()] == [(2, 24, 2), (8, 2, 2), (4, 8, 2)]
    before = net.state_dict()
    changed = [w.copy() for w in weights]
    changed[0][48:] = 7.0
    changed[0][:, 2:] = 7.0
    changed[1][4:] = 7.0
    changed[2][16:] = 7.0
    net.init_weights(changed)
    for name, value in net.state_dict().items():
        np.testing.assert_array_equal(value, before[name])
    np.testing.assert_array_equal(net[2].weight.data[:, 1, 0], weights[1][1, :8])


def test_distributed_scan_mlp_general_widths_match_conv_stack(rng):
    # widths (3, 2), stride 3 -> Conv1d(k=3, s=3) then Conv1d(k=2, s=1); window 6.
    from convnp.layers import Conv1d, Sequential
    shared = mlp_weights(rng, [(3 * 2, 5), (2 * 5, 3)])
    x = rng.standard_normal((2, 2, 20))
    conv = Sequential(Conv1d(2, 5, 3, stride=3, bias=False, dtype=np.float64), ReLU(),
                      Conv1d(5, 3, 2, stride=1, bias=False, dtype=np.float64), Flatten())
    conv[0].weight.data[...] = mlp_to_conv1d_weight(shared[0], 2, 3)
    conv[2].weight.data[...] = mlp_to_conv1d_weight(shared[1], 5, 2)
    np.testing.assert_allclose(channel_major(distributed_scan_mlp(shared, x, (3, 2), 3), 3),
                               conv(x), rtol=0, atol=1e-12)


# ------------------------------------------------------------------ parameter sharing
def test_shared_parameter_count_lecture_example():
    count = shared_parameter_count(1, [(2, 2, 2), (1, 2, 2), (3, 2, 2)])
    assert (count.neurons, count.unique_sets) == (13, 6)
    # By hand: weights 2*2*1 + 1*2*2 + 3*2*1 = 14 unique; unrolled 4*4 + 2*4 + 1*6 = 30.
    assert (count.receptive_field, count.unique_weights, count.unrolled_weights) == (8, 14, 30)


def test_shared_parameter_count_homework_example(rng):
    # By hand: layer 1 (2 neurons) appears 2*2 = 4 times, layer 2 (8) twice, layer 3 (4)
    # once: 8 + 16 + 4 = 28 neurons from 2 + 8 + 4 = 14 sets; weights 96 + 32 + 64 = 192
    # unique, 4*96 + 2*32 + 64 = 512 unrolled; receptive field 1 + 1 + 1*2 + 1*4 = 8.
    count = shared_parameter_count(24, [(2, 2, 2), (8, 2, 2), (4, 2, 1)])
    assert tuple(count) == (28, 14, 8, 512, 192)
    net = DistributedScanningMLP(rng=rng)
    assert sum(p.data.size for p in net.parameters()) == count.unique_weights


def test_receptive_field_matches_the_model(rng):
    net = DistributedScanningMLP(rng=rng, dtype=np.float64)
    x = rng.standard_normal((1, 24, 128))
    base = net(x)[0, ::31]  # output position 0 of the 4 channels (channel-major, 31 each)
    seen = []
    for t in range(16):
        bumped = x.copy()
        bumped[0, :, t] += 1.0
        seen.append(not np.array_equal(net(bumped)[0, ::31], base))
    assert seen == [True] * 8 + [False] * 8
    assert shared_parameter_count(24, [(2, 2, 2), (8, 2, 2), (4, 2, 1)]).receptive_field == 8


def test_shared_parameter_count_rejects_bad_layers():
    with pytest.raises(ValueError, match=r"shared_parameter_count.*\(2, 0, 2\)"):
        shared_parameter_count(1, [(2, 0, 2)])


# ------------------------------------------------------------------ the homework's CNN
def test_cnn_default_architecture(rng):
    net = CNN(rng=rng)
    assert net.linear_in_features == 420
    assert [(n, p.shape) for n, p in net.named_parameters()] == [
        ("0.weight", (56, 24, 5)), ("0.bias", (56,)), ("2.weight", (28, 56, 6)),
        ("2.bias", (28,)), ("4.weight", (14, 28, 2)), ("4.bias", (14,)),
        ("7.weight", (10, 420)), ("7.bias", (10,))]
    assert [type(m).__name__ for m in net] == ["Conv1d", "Tanh", "Conv1d", "ReLU", "Conv1d",
                                                "Sigmoid", "Flatten", "Linear"]
    assert net(np.zeros((2, 24, 128), np.float32)).shape == (2, 10)


def test_cnn_custom_configuration(rng):
    net = CNN(input_width=50, num_input_channels=3, num_channels=[4, 6], kernel_sizes=[3, 4],
              strides=[2, 3], num_linear_neurons=5, activations=[ReLU(), LeakyReLU()],
              rng=rng)
    # 50 -> floor(47/2)+1 = 24 -> floor(20/3)+1 = 7; 6 * 7 = 42
    assert net.linear_in_features == 42
    assert net(np.zeros((2, 3, 50), np.float32)).shape == (2, 5)


def test_cnn_rejects_inconsistent_configuration(rng):
    with pytest.raises(ValueError, match=r"CNN: num_channels.*same length.*2, 3, 3 and 3"):
        CNN(num_channels=[4, 5], rng=rng)
    with pytest.raises(ValueError, match=r"CNN: a width-6 kernel.*width-4"):
        CNN(input_width=8, rng=rng)


def test_cnn_is_reproducible_from_its_rng():
    a = CNN(rng=np.random.default_rng(3)).state_dict()
    b = CNN(rng=np.random.default_rng(3)).state_dict()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])


def test_models_match_torch(rng):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    x = rng.standard_normal((2, 24, 128))
    cnn = CNN(rng=rng, dtype=np.float64)
    ref = nn.Sequential(nn.Conv1d(24, 56, 5), nn.Tanh(), nn.Conv1d(56, 28, 6, stride=2),
                        nn.ReLU(), nn.Conv1d(28, 14, 2, stride=2), nn.Sigmoid(), nn.Flatten(),
                        nn.Linear(420, 10)).double()
    ref.load_state_dict({k: torch.from_numpy(v) for k, v in cnn.state_dict().items()})
    with torch.no_grad():
        np.testing.assert_allclose(cnn(x), ref(torch.from_numpy(x)).numpy(), atol=1e-12)
    weights = mlp_weights(rng)
    simple = SimpleScanningMLP(rng=rng, dtype=np.float64)
    simple.init_weights(weights)
    ref = nn.Sequential(nn.Conv1d(24, 8, 8, stride=4, bias=False), nn.ReLU(),
                        nn.Conv1d(8, 16, 1, bias=False), nn.ReLU(),
                        nn.Conv1d(16, 4, 1, bias=False), nn.Flatten()).double()
    ref.load_state_dict({k: torch.from_numpy(v) for k, v in simple.state_dict().items()})
    with torch.no_grad():
        expected = ref(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(simple(x), expected, atol=1e-12)


# ------------------------------------------------------------------ gradient checks
def test_gradcheck_simple_scanning_mlp(rng):
    net = SimpleScanningMLP(rng=rng, dtype=np.float64)
    assert gradcheck(net, rng.standard_normal((2, 24, 13)))


def test_gradcheck_distributed_scanning_mlp(rng):
    net = DistributedScanningMLP(rng=rng, dtype=np.float64)
    assert gradcheck(net, rng.standard_normal((2, 24, 17)))


def test_gradcheck_cnn_small(rng):
    net = CNN(input_width=21, num_input_channels=3, num_channels=[4, 3, 2],
              kernel_sizes=[3, 2, 2], strides=[1, 2, 1], num_linear_neurons=3, rng=rng,
              dtype=np.float64)
    assert gradcheck(net, rng.standard_normal((2, 3, 21)))


def test_gradcheck_cnn_default_directional(rng):
    net = CNN(rng=rng, dtype=np.float64)
    assert gradcheck(net, rng.standard_normal((2, 24, 128)), directional=True, rng=rng)


# ------------------------------------------------------------------ reshaping layers
def test_rows_as_time_definition_and_gradient(rng):
    x = rng.standard_normal((2, 1, 5, 3))
    y = RowsAsTime()(x)
    assert y.shape == (2, 3, 5)
    for n in range(2):
        for h in range(5):
            for w in range(3):
                assert y[n, w, h] == x[n, 0, h, w]
    assert gradcheck(RowsAsTime(), x)
    with pytest.raises(ValueError, match=r"RowsAsTime: expected 1 input channels.*\(2, 3, 5, 4\)"):
        RowsAsTime()(np.zeros((2, 3, 5, 4)))


def test_tanh_activation_scan(rng):
    # scan_mlp with another activation matches a model built with it (Tanh CNN, 1x1 later).
    from convnp.layers import Conv1d, Sequential
    weights = mlp_weights(rng, [(3 * 4, 6), (6, 2)])
    x = rng.standard_normal((2, 4, 11))
    net = Sequential(Conv1d(4, 6, 3, stride=2, bias=False, dtype=np.float64), Tanh(),
                     Conv1d(6, 2, 1, bias=False, dtype=np.float64), Flatten())
    net[0].weight.data[...] = mlp_to_conv1d_weight(weights[0], 4, 3)
    net[2].weight.data[...] = mlp_to_conv1d_weight(weights[1], 6, 1)
    np.testing.assert_allclose(net(x), channel_major(scan_mlp(weights, x, 3, 2, np.tanh), 2),
                               rtol=0, atol=1e-12)
