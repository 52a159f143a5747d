"""VGG19's layer table, written once: its convolution blocks, and what follows from them for
every layer (channels, stride, receptive field). Standard library only, so that the parameter
check can name the layers before anything heavy is imported.

VGG19 (Simonyan & Zisserman 2014, configuration E): five blocks of 3x3 convolutions ("same"
padding, ReLU), each block followed by a 2x2 max pooling of stride 2.
"""

from __future__ import annotations

BLOCKS = ((64, 2), (128, 2), (256, 4), (512, 4), (512, 4))  # (filters, convolutions) per block
CONV_LAYERS = tuple(f"block{b}_conv{c}" for b, (_, convs) in enumerate(BLOCKS, start=1) for c in range(1, convs + 1))
POOLINGS = len(BLOCKS) - 1  # poolings before the last block: a picture needs 2**4 px to reach it


def _block(layer: str) -> int:
    return int(layer.split("_")[0][len("block") :])


def channels(layer: str) -> int:
    """Feature channels of a convolution layer ("block3_conv1" -> 256)."""
    return BLOCKS[_block(layer) - 1][0]


def stride(layer: str) -> int:
    """Input pixels per feature position of a layer ("block3_conv1" -> 4)."""
    return 2 ** (_block(layer) - 1)


def reach(layer: str) -> int:
    """How far, in input pixels, a feature of this layer sees from its centre: each 3x3
    convolution adds its stride, each pooling (bounded above) the stride before it. Tiles need a
    border at least this wide to compute their features exactly (block5_conv2: 101 px)."""
    block, conv = _block(layer), int(layer.rsplit("conv", 1)[1])
    radius = 0
    for b, (_, convs) in enumerate(BLOCKS[:block], start=1):
        step = 2 ** (b - 1)
        radius += step * (conv if b == block else convs + 1)
    return radius
