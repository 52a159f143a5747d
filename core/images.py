"""Pixels in and out: loading, saving, resizing, VGG pre/deprocessing and colour transfer.

Arrays are height x width x channels. Loaded images are uint8 RGBA; the engine works on float32
RGB in 0..255 and hands the alpha channel back untouched.
"""

from __future__ import annotations

import io
import os
import warnings

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from core.protocol import MAX_SIDE, MIN_SIDE

# ImageNet channel means in BGR order, as Keras' VGG19 "caffe" preprocessing subtracts them.
VGG_MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float32)

# ITU-R BT.601 RGB -> YIQ; Gatys et al. 2016 (arXiv 1606.05897) transfer luminance in YIQ.
_RGB_TO_YIQ = np.array(
    [[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]], dtype=np.float32
)
_YIQ_TO_RGB = np.linalg.inv(_RGB_TO_YIQ).astype(np.float32)


class ImageError(ValueError):
    """An input or output image cannot be used; the text says which and why."""


# Pictures up to the engine's largest side squared are normal here; Pillow warns at 89 megapixels.
Image.MAX_IMAGE_PIXELS = MAX_SIDE * MAX_SIDE


def load_image(path: str) -> np.ndarray:
    """Read any Pillow-readable file as uint8 RGBA, upright (its EXIF orientation applied, as
    viewers do) and in sRGB (an embedded profile converted: VGG19 was trained on sRGB); 16-bit and
    32-bit greys are scaled to 8 bits, not clipped (Pillow's own conversion would clip them,
    turning most pictures white)."""
    if not os.path.exists(path):
        raise ImageError(f"{path}: no such file")
    if os.path.isfile(path) and os.path.getsize(path) == 0:
        raise ImageError(f"{path}: the file is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as opened:
                opened.load()
                ImageOps.exif_transpose(opened, in_place=True)
                image = _in_srgb(opened)
                mode = image.mode
                deep = mode.startswith("I;16") or mode in ("I", "F")
                values = np.asarray(image, np.float64) if deep else np.asarray(image.convert("RGBA"), np.uint8)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ImageError(f"{path}: larger than {MAX_SIDE}x{MAX_SIDE} pixels, the most Neural Style takes") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ImageError(f"{path}: not a readable image ({error.__class__.__name__})") from None
    return _deep_grey_as_rgba(values, mode, path) if deep else values.copy()


def profile_note(path: str) -> str | None:
    """A line saying that ``path``'s colour profile was converted to sRGB, or None (no profile, or sRGB's)."""
    try:
        with Image.open(path) as image:
            name = _foreign_profile(image)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None
    return f"{path}: converted from its colour profile ({name}) to sRGB" if name else None


def _foreign_profile(image) -> str | None:
    """The description of an embedded colour profile other than sRGB, or None."""
    data = image.info.get("icc_profile")
    if not data or image.mode not in ("RGB", "RGBA"):
        return None
    try:
        name = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(data))).strip()
    except (OSError, ImageCms.PyCMSError):
        return None
    return None if "srgb" in name.lower() else name or "unnamed"


def _in_srgb(image):
    """The picture converted to sRGB from an embedded profile that is not sRGB's."""
    if not _foreign_profile(image):
        return image
    source = ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"]))
    return ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode=image.mode)


def animation_note(path: str) -> str | None:
    """A line saying that ``path`` is an animation of which only the first frame is used, or None."""
    try:
        with Image.open(path) as image:
            frames = getattr(image, "n_frames", 1)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None
    return f"{path} is an animation of {frames} frames; using its first" if frames > 1 else None


def _deep_grey_as_rgba(values, mode, path) -> np.ndarray:
    """A 16-bit, 32-bit integer or 32-bit float grey picture as uint8 RGBA. White is 65535 for
    16 bits; for 32-bit pictures, whose range the file does not say, it is the smallest of 1 (float
    only), 255 and 65535 that holds every value."""
    if not np.isfinite(values).all() or (values.size and values.min() < 0):
        raise ImageError(f"{path}: a {mode} picture with negative or undefined values; save it as 8 or 16 bits")
    high = float(values.max()) if values.size else 0.0
    scales = (65535.0,) if mode.startswith("I;16") else ((1.0,) if mode == "F" else ()) + (255.0, 65535.0)
    white = next((scale for scale in scales if high <= scale), None)
    if white is None:
        raise ImageError(f"{path}: a 32-bit picture with values up to {high:.0f}; save it as 8 or 16 bits")
    grey = np.clip(np.rint(values * (255.0 / white)), 0, 255).astype(np.uint8)
    return np.dstack([grey, grey, grey, np.full_like(grey, 255)])


def check_writable(path: str, inputs=()) -> None:
    """Fail before a long run when the output could not be saved, or would overwrite one of the
    ``inputs`` (the artist's pictures are never modified)."""
    extension = os.path.splitext(path)[1].lower()
    kind = Image.registered_extensions().get(extension)
    if kind is None or kind not in Image.SAVE:
        writable = ", ".join(WRITABLE)
        what = "an unknown image type" if kind is None else f"a type that can be read but not written ({kind})"
        raise ImageError(f"{path}: {extension or '(no extension)'} is {what}; write one of {writable}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ImageError(f"{path}: the folder {folder} does not exist")
    existed = os.path.exists(path)
    if existed and any(os.path.exists(given) and os.path.samefile(path, given) for given in inputs):
        raise ImageError(f"{path}: that is one of the input pictures; choose another output file")
    try:  # by trying: permissions alone do not tell (a read-only disk, /proc, a full quota)
        with open(path, "ab"):
            pass
    except OSError as error:
        raise ImageError(f"{path}: cannot write there ({error.strerror})") from None
    if not existed:
        os.remove(path)


WRITABLE = (".png", ".jpg", ".tif", ".webp", ".bmp")  # the output types named when one cannot be written


def save_image(pixels: np.ndarray, path: str, srgb_tag: bool = False) -> None:
    """Write uint8 RGB or RGBA; formats without alpha (JPEG) get the RGB part. ``srgb_tag``: embed
    the sRGB profile (when an input's profile was converted, the output says what it is)."""
    image = Image.fromarray(pixels)
    if image.mode == "RGBA" and os.path.splitext(path)[1].lower() in (".jpg", ".jpeg", ".bmp"):
        image = image.convert("RGB")
    options = {"icc_profile": ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()} if srgb_tag else {}
    try:
        image.save(path, **options)
    except OSError as error:
        raise ImageError(f"{path}: could not save ({error})") from None


def check_size(pixels: np.ndarray, what: str) -> None:
    height, width = pixels.shape[:2]
    if min(height, width) < MIN_SIDE:
        raise ImageError(f"the {what} is {width}x{height} pixels; it must be at least {MIN_SIDE} pixels on each side")


def check_inputs(content: np.ndarray, styles: list, params) -> tuple:
    """Refuse images the network cannot take, before any work; returns the output (h, w)."""
    check_size(content, "content image")
    for style in styles:
        check_size(style, "style image")
    params.blend_weights(len(styles))
    out_shape = fit_long_side(content.shape, params.size)
    if min(out_shape) < MIN_SIDE:
        raise ImageError(
            f"at size {params.size} the image would be {out_shape[1]}x"
            f"{out_shape[0]} pixels; it must be at least {MIN_SIDE} on each side"
        )
    return out_shape


def fit_long_side(shape: tuple, long_side: int) -> tuple:
    """(height, width) scaled so that the longer side is ``long_side``, aspect kept."""
    height, width = shape[:2]
    scale = long_side / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def resize(pixels: np.ndarray, shape: tuple) -> np.ndarray:
    """Resample float or uint8 pixels to (height, width) as float32, Lanczos, any channel count."""
    height, width = shape
    if pixels.shape[:2] == (height, width):
        return pixels.astype(np.float32)
    channels = [
        Image.fromarray(np.ascontiguousarray(pixels[..., c], dtype=np.float32), mode="F").resize(
            (width, height), Image.Resampling.LANCZOS
        )
        for c in range(pixels.shape[2])
    ]
    return np.stack([np.asarray(c, dtype=np.float32) for c in channels], axis=-1)


def preprocess(rgb: np.ndarray) -> np.ndarray:
    """RGB 0..255 -> the network's input: BGR with the ImageNet mean removed."""
    return rgb[..., ::-1].astype(np.float32) - VGG_MEAN_BGR


def deprocess(bgr: np.ndarray) -> np.ndarray:
    """Inverse of ``preprocess``, clipped to 0..255 float32 RGB."""
    return np.clip(bgr + VGG_MEAN_BGR, 0.0, 255.0)[..., ::-1].astype(np.float32)


def vgg_bounds() -> tuple:
    """Per-channel (low, high) of preprocessed pixels, the valid box for the optimiser."""
    return -VGG_MEAN_BGR, 255.0 - VGG_MEAN_BGR


def to_yiq(rgb: np.ndarray) -> np.ndarray:
    return rgb @ _RGB_TO_YIQ.T


def from_yiq(yiq: np.ndarray) -> np.ndarray:
    return np.clip(yiq @ _YIQ_TO_RGB.T, 0.0, 255.0)


def luminance_image(rgb: np.ndarray, like: np.ndarray | None = None) -> np.ndarray:
    """Grey RGB of the image's luminance; with ``like``, matched to its mean and spread.

    This is the input side of luminance-only transfer (Gatys et al. 2016): style and content
    become grey images, the style's luminance histogram moved to the content's first moments.
    """
    y = to_yiq(rgb)[..., 0]
    if like is not None:
        target = to_yiq(like)[..., 0]
        y = (y - y.mean()) / (y.std() + 1e-6) * target.std() + target.mean()
    return np.repeat(np.clip(y, 0.0, 255.0)[..., None], 3, axis=-1)


def keep_colors(result_rgb: np.ndarray, content_rgb: np.ndarray) -> np.ndarray:
    """The result's luminance with the content's colour (I and Q) channels."""
    yiq = to_yiq(content_rgb)
    yiq[..., 0] = to_yiq(result_rgb)[..., 0]
    return from_yiq(yiq)


def compose(x, shape, content, preserve_colors) -> np.ndarray:
    """The uint8 picture of the optimised (preprocessed) image ``x`` at ``shape``, with the
    content's channels: its colours kept when asked, its alpha passed through."""
    rgb = resize(deprocess(x), shape)
    if preserve_colors:
        rgb = keep_colors(rgb, resize(content[..., :3], shape))
    pixels = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    if content.shape[2] == 4:
        alpha = (
            content[..., 3:]
            if content.shape[:2] == shape
            else np.clip(np.rint(resize(content[..., 3:], shape)), 0, 255).astype(np.uint8)
        )
        pixels = np.concatenate([pixels, alpha], axis=-1)
    return pixels


def apply_mask(pixels, mask):
    """Scale the result's alpha by the mask (resized along with the output when sizes differ)."""
    if mask.shape[:2] != pixels.shape[:2]:
        mask = resize(mask, pixels.shape[:2])
    alpha = (
        pixels[..., 3:].astype(np.float32)
        if pixels.shape[2] == 4
        else np.full((*pixels.shape[:2], 1), 255.0, np.float32)
    )
    alpha = np.clip(np.rint(alpha * mask.astype(np.float32) / 255.0), 0, 255).astype(np.uint8)
    return np.concatenate([pixels[..., :3], alpha], axis=-1)
