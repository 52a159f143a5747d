"""Where each style paints: the styles' masks turned into regions for guided Gram matrices
(Gatys et al. 2017, "Controlling Perceptual Factors in Neural Style Transfer", arXiv 1611.07865).

A job may give each style a greyscale mask at the content's size (255: this style paints here,
grey: partly). Masks may overlap; where their sum passes 1 they are divided by it. Each masked
style is a region of its own. A style without a mask paints "the rest", what the masks leave
uncovered; several such styles blend there by their blend weights. When every style has a mask,
the rest goes to the first style. Without masks there is one region, everywhere, painted by the
blend of all styles: the loss of a single-region job is exactly the loss without regions.

At each layer a region's weight per feature position is the mean of its mask over the pixels the
position stands for (the layer's stride squared): the simple downsampling of Gatys et al. 2017.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core import images, vgg_layers


@dataclass(frozen=True)
class Regions:
    """``masks``: (regions, height, width) float32 in [0, 1] at the content's size; ``styles``:
    per region, (style index, weight) pairs whose weights sum to 1."""

    masks: np.ndarray
    styles: tuple

    def at_layers(self, shape: tuple, layers: tuple) -> list:
        """Per layer: the regions' weights at its feature positions for an image of ``shape``,
        (regions, height // stride, width // stride, 1) float32."""
        resized = np.clip(images.resize(np.moveaxis(self.masks, 0, -1), shape), 0.0, 1.0)
        out = []
        for layer in layers:
            s = vgg_layers.stride(layer)
            h, w = shape[0] // s, shape[1] // s
            blocks = resized[: h * s, : w * s].reshape(h, s, w, s, -1).mean(axis=(1, 3))
            out.append(np.ascontiguousarray(np.moveaxis(blocks, -1, 0)[..., None], dtype=np.float32))
        return out


def gathered(weights: np.ndarray, inside: np.ndarray | None = None) -> list:
    """The regions of one layer's (regions, height, width, 1) weights (times ``inside``, a
    (height, width) map of the positions that count) as ``core.losses.guided_gram_sums`` takes
    them: per region, the flat positions where it weighs (int32) and its weights there."""
    out = []
    for region in weights[..., 0]:
        flat = (region if inside is None else region * inside).ravel()
        positions = np.flatnonzero(flat).astype(np.int32)
        out.append((positions, flat[positions].astype(np.float32)))
    return out


def regions_of(style_masks: list, blend: tuple) -> Regions | None:
    """The regions of a job whose styles have these masks (uint8 (h, w) arrays or None, one per
    style) and blend weights; None when no style has a mask (one region: the whole image)."""
    if all(mask is None for mask in style_masks):
        return None
    masked = [i for i, mask in enumerate(style_masks) if mask is not None]
    values = np.stack([style_masks[i].astype(np.float32) / 255.0 for i in masked])
    covered = values.sum(axis=0)
    values = values / np.maximum(covered, 1.0)  # overlaps shared out
    rest = np.clip(1.0 - covered, 0.0, 1.0)
    unmasked = [i for i, mask in enumerate(style_masks) if mask is None]
    masks, styles = list(values), [((i, 1.0),) for i in masked]
    if unmasked:
        total = sum(blend[i] for i in unmasked)
        masks.append(rest)
        styles.append(tuple((i, blend[i] / total) for i in unmasked))
    else:
        masks[0] = masks[0] + rest  # every style has a mask: the first paints what none covers
    kept = [k for k, mask in enumerate(masks) if mask.max() > 0]
    return Regions(np.stack([masks[k] for k in kept]), tuple(styles[k] for k in kept))


def mask_of(pixels: np.ndarray) -> np.ndarray:
    """A uint8 (h, w) mask from a loaded picture: its brightness (ITU-R 601, as a greyscale
    conversion makes it), times its opacity where it has one; a one-channel picture as it is."""
    if pixels.shape[-1] == 1:
        return pixels[..., 0]
    grey = pixels[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    if pixels.shape[-1] == 4:
        grey = grey * pixels[..., 3] / 255.0
    return np.clip(np.rint(grey), 0, 255).astype(np.uint8)


def check_masks(style_masks: list, n_styles: int, shape: tuple) -> None:
    """Refuse masks that cannot say where a style paints (the wrong count or size, all black)
    with an ``images.ImageError``."""
    if len(style_masks) != n_styles:
        raise images.ImageError(f"{len(style_masks)} style masks for {n_styles} style images; give one per style")
    for number, mask in enumerate(style_masks, 1):
        if mask is None:
            continue
        if mask.shape[:2] != tuple(shape):
            raise images.ImageError(
                f"style mask {number} is {mask.shape[1]}x{mask.shape[0]} pixels; it must have the "
                f"content image's size, {shape[1]}x{shape[0]}"
            )
        if not mask.any():
            raise images.ImageError(f"style mask {number} is all black: its style would paint nowhere")
