"""The loss terms of Gatys et al. 2015 (arXiv 1508.06576), written in ``keras.ops``.

Backend-neutral, so the same formulas run under TensorFlow, JAX or PyTorch. Two formulas:

* normalised (default): every term is a mean over its feature map, and Gram matrices are
  divided by height x width x channels (as jcjohnson/neural-style does), so a weight means the
  same at any image size;
* tutorial: the Keras tutorial's sums: raw Gram matrices, style loss divided by
  4 x 3^2 x (image pixels)^2, content and total variation summed.

Feature maps come as (1, height, width, channels), images as (1, height, width, 3).
"""
from keras import ops


def gram_matrix(features, normalise=True):
    """Channel-by-channel inner products of one feature map, shape (channels, channels)."""
    channels = ops.shape(features)[-1]
    flat = ops.reshape(features, (-1, channels))
    gram = ops.matmul(ops.transpose(flat), flat)
    if normalise:
        gram = gram / ops.cast(ops.shape(flat)[0] * channels, gram.dtype)
    return gram


def content_loss(features, target, normalise=True):
    squared = ops.square(features - target)
    return ops.mean(squared) if normalise else ops.sum(squared)


def style_loss(gram, target_gram, image_pixels=None):
    """Squared Gram difference: a mean (normalised), or the tutorial's sum over 36 x pixels^2."""
    squared = ops.square(gram - target_gram)
    if image_pixels is None:
        return ops.mean(squared)
    return ops.sum(squared) / (4.0 * 3**2 * float(image_pixels) ** 2)


def variation(image):
    """(dx^2 + dy^2)^1.25 at every pixel that has a right and a lower neighbour
    (Mahendran & Vedaldi 2015), shape (1, height - 1, width - 1, channels)."""
    down = ops.square(image[:, :-1, :-1, :] - image[:, 1:, :-1, :])
    right = ops.square(image[:, :-1, :-1, :] - image[:, :-1, 1:, :])
    return ops.power(down + right, 1.25)


def total_variation_loss(image, normalise=True):
    """Sum or mean of ``variation`` over the image."""
    terms = variation(image)
    return ops.mean(terms) if normalise else ops.sum(terms)
