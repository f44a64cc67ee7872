"""Misuse of the model builders: lenet5, ConvBlock, ResBlock, nin, vgg, resnet, densenet and
ladder_model.

Wrong types raise TypeError and out-of-range values ValueError, each naming the builder and
the argument, before any layer is built: no raw Python error from deep inside, no model
silently built with fewer layers, no failure left for the first forward pass.
"""

import numpy as np
import pytest

from convnp.models import ConvBlock, ResBlock, densenet, ladder_model, lenet5, nin, resnet, vgg

FIVE_BLOCKS = ((1, 8), (1, 8), (1, 8), (1, 8), (1, 8))


@pytest.mark.parametrize("make, error, message", [
    # lenet5
    (lambda: lenet5(1), TypeError, "lenet5: variant must be one of 'modern'"),
    (lambda: lenet5("lenet"), ValueError, "lenet5: variant must be one of 'modern'.*got 'lenet'"),
    (lambda: lenet5(rng=0), TypeError, "lenet5: rng must be a np.random.Generator"),
    (lambda: lenet5(dtype=np.int32), TypeError, "lenet5: dtype must be a floating dtype"),
    # ConvBlock and ResBlock
    (lambda: ConvBlock(1, 0, 3), ValueError, "ConvBlock: out_channels must be >= 1, got 0"),
    (lambda: ConvBlock(1.0, 4, 3), TypeError, "ConvBlock: in_channels must be an int, got float"),
    (lambda: ConvBlock(1, 4, (3, 3)), TypeError, "ConvBlock: filter_size must be an int"),
    (lambda: ConvBlock(1, 4, 3, dtype=int), TypeError, "ConvBlock: dtype must be a floating"),
    (lambda: ConvBlock(1, 4, 3, rng=0), TypeError, "ConvBlock: rng must be a np.random"),
    (lambda: ResBlock(0, 4, 3), ValueError, "ResBlock: in_channels must be >= 1, got 0"),
    (lambda: ResBlock(2, 4, 3.0), TypeError, "ResBlock: filter_size must be an int, got float"),
    (lambda: ResBlock(4, 4, (1, 1), 1, 0), TypeError, "ResBlock: filter_size must be an int"),
    (lambda: ResBlock(2, 4, 3, stride=0), ValueError, "ResBlock: stride must be >= 1, got 0"),
    (lambda: ResBlock(2, 4, 3, stride=True), TypeError, "ResBlock: stride must be an int, got "
                                                        "bool"),
    (lambda: ResBlock(2, 4, 3, padding=-1), ValueError, "ResBlock: padding must be >= 0, got -1"),
    (lambda: ResBlock(2, 4, 3, rng=1), TypeError, "ResBlock: rng must be a np.random.Generator"),
    (lambda: ResBlock(2, 4, 3, dtype="int8"), TypeError, "ResBlock: dtype must be a floating"),
    # nin
    (lambda: nin(widths=(32, 64)), ValueError,
     r"nin: widths must be a tuple of 3 ints, got 2 entries: \(32, 64\)"),
    (lambda: nin(widths=16), TypeError, "nin: widths must be a tuple of 3 ints, got int 16"),
    (lambda: nin(widths=(8, 0, 8)), ValueError, r"nin: widths\[1\] must be >= 1, got 0"),
    (lambda: nin(widths=(8, 16.0, 8)), TypeError, r"nin: widths\[1\] must be an int"),
    (lambda: nin(num_classes=0), ValueError, "nin: num_classes must be >= 1, got 0"),
    (lambda: nin(num_classes=2.0), TypeError, "nin: num_classes must be an int, got float"),
    (lambda: nin(batch_norm="yes"), TypeError, "nin: batch_norm must be a bool, got str 'yes'"),
    (lambda: nin(rng=0), TypeError, "nin: rng must be a np.random.Generator"),
    (lambda: nin(dtype="int8"), TypeError, "nin: dtype must be a floating dtype"),
    # vgg
    (lambda: vgg(arch=(1, 16)), TypeError,
     r"vgg: arch\[0\] must be a \(num_convs, out_channels\) pair of ints, got int 1"),
    (lambda: vgg(arch=((-1, 16),)), ValueError, r"vgg: arch\[0\]\[0\] must be >= 1, got -1"),
    (lambda: vgg(arch=((0, 16),)), ValueError, r"vgg: arch\[0\]\[0\] must be >= 1, got 0"),
    (lambda: vgg(arch=((1, 0),)), ValueError, r"vgg: arch\[0\]\[1\] must be >= 1, got 0"),
    (lambda: vgg(arch=((1.0, 16),)), TypeError, r"vgg: arch\[0\]\[0\] must be an int"),
    (lambda: vgg(arch=((1, 16, 3),)), ValueError, r"vgg: arch\[0\] must be a \(num_convs, "
                                                  r"out_channels\) pair of ints, got 3 entries"),
    (lambda: vgg(arch=()), ValueError, "vgg: arch must be a tuple of .* pairs, got 0 entries"),
    (lambda: vgg(arch="vgg11"), TypeError, "vgg: arch must be a tuple of .* pairs, got str"),
    (lambda: vgg(arch=FIVE_BLOCKS), ValueError,
     "vgg: arch has 5 blocks, but each block's 2x2 max-pool halves the 28x28 input .* at most "
     "4 fit"),
    (lambda: vgg(hidden=0), ValueError, "vgg: hidden must be >= 1, got 0"),
    (lambda: vgg(hidden=1.5), TypeError, "vgg: hidden must be an int, got float 1.5"),
    (lambda: vgg(num_classes=-3), ValueError, "vgg: num_classes must be >= 1, got -3"),
    (lambda: vgg(batch_norm=1), TypeError, "vgg: batch_norm must be a bool, got int 1"),
    (lambda: vgg(rng=1), TypeError, "vgg: rng must be a np.random.Generator"),
    (lambda: vgg(dtype=np.int64), TypeError, "vgg: dtype must be a floating dtype"),
    # resnet
    (lambda: resnet(widths=16), TypeError, "resnet: widths must be a tuple of .*ints, got int 16"),
    (lambda: resnet(widths="abcd"), TypeError, "resnet: widths must be a tuple of .*got str"),
    (lambda: resnet(widths=(16, 0, 8, 8)), ValueError, r"resnet: widths\[1\] must be >= 1"),
    (lambda: resnet(blocks=(2, -1, 2, 2)), ValueError, r"resnet: blocks\[1\] must be >= 1, got -1"),
    (lambda: resnet(blocks=(2, 0, 2, 2)), ValueError, r"resnet: blocks\[1\] must be >= 1, got 0"),
    (lambda: resnet(blocks=(2.0, 2, 2, 2)), TypeError,
     r"resnet: blocks\[0\] must be an int, got float 2.0"),
    (lambda: resnet(widths=(), blocks=()), ValueError, "resnet: widths must be a tuple of"),
    (lambda: resnet(blocks=(2, 2)), ValueError, "resnet: widths and blocks must have the same "
                                                "length"),
    (lambda: resnet(num_classes=None), TypeError, "resnet: num_classes must be an int, got "
                                                  "NoneType"),
    (lambda: resnet(in_channels=0), ValueError, "resnet: in_channels must be >= 1, got 0"),
    (lambda: resnet(rng=42), TypeError, "resnet: rng must be a np.random.Generator"),
    (lambda: resnet(dtype=int), TypeError, "resnet: dtype must be a floating dtype"),
    # densenet
    (lambda: densenet(block_config=4), TypeError,
     "densenet: block_config must be a tuple of .*ints, got int 4"),
    (lambda: densenet(block_config=(4, 4, 4, 4)), ValueError,
     "densenet: block_config has 4 blocks, but the stem shrinks the 28x28 input to 7x7 .* at "
     "most 3 fit"),
    (lambda: densenet(block_config=()), ValueError, "densenet: block_config must be a tuple of"),
    (lambda: densenet(block_config=(4, -1)), ValueError,
     r"densenet: block_config\[1\] must be >= 1, got -1"),
    (lambda: densenet(block_config=(4, 0)), ValueError, r"densenet: block_config\[1\] must be "
                                                        r">= 1, got 0"),
    (lambda: densenet(growth_rate=0), ValueError, "densenet: growth_rate must be >= 1, got 0"),
    (lambda: densenet(growth_rate=1.5), TypeError, "densenet: growth_rate must be an int"),
    (lambda: densenet(stem_channels=0), ValueError, "densenet: stem_channels must be >= 1"),
    (lambda: densenet(num_classes=True), TypeError, "densenet: num_classes must be an int, got "
                                                    "bool"),
    (lambda: densenet(rng=7), TypeError, "densenet: rng must be a np.random.Generator"),
    (lambda: densenet(dtype=bool), TypeError, "densenet: dtype must be a floating dtype"),
    # ladder_model
    (lambda: ladder_model(["lenet"]), TypeError, "ladder_model: name must be one of 'lenet'.*"
                                                 r"got list \['lenet'\]"),
    (lambda: ladder_model(None), TypeError, "ladder_model: name must be one of"),
    (lambda: ladder_model("alexnet"), ValueError, "ladder_model: name must be one of .*got "
                                                  "'alexnet'"),
    (lambda: ladder_model("nin", rng=1), TypeError, "ladder_model: rng must be a np.random"),
    (lambda: ladder_model("vgg", dtype=int), TypeError, "ladder_model: dtype must be a floating"),
])
def test_builder_arguments_are_checked(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_valid_arguments_of_other_kinds_still_build():
    """Lists, NumPy ints and NumPy bools are ints and bools too; the limits still build."""
    x = np.zeros((2, 1, 28, 28), np.float32)
    assert nin([8, 16, 24], np.int64(3), batch_norm=np.bool_(False))(x).shape == (2, 3)
    assert vgg([[1, 8]] * 4, np.int64(16))(x).shape == (2, 10)  # four blocks: 28 -> 1
    assert resnet(np.array([8, 16]), [1, 1], in_channels=np.int32(1))(x).shape == (2, 10)
    assert densenet(8, (1, 1, 1))(x).shape == (2, 10)  # three blocks: 7 -> 3 -> 1
    assert ResBlock(np.int64(2), 2, 1, 1, 0, dtype="float64")[0].shortcut is None
