"""Judging pictures on screenshots of GIMP's windows: where a picture appeared, whether it shows
the photo's shapes, how far two pictures are apart. Screenshots are (height, width, 3) int16 arrays.
"""

import numpy as np
from PIL import Image


def changed(a, b):
    """Where two screenshots differ clearly (over the part both cover, should a window have
    changed its size)."""
    height, width = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
    return np.abs(a[:height, :width] - b[:height, :width]).sum(axis=2) > 30


def changed_pixels(a, b) -> int:
    """How many pixels differ clearly between two screenshots."""
    return int(changed(a, b).sum())


def grey(rgb):
    return rgb[..., :3].astype(float) @ [0.299, 0.587, 0.114]


def edges(rgb):
    rows, columns = np.gradient(grey(rgb))
    return np.hypot(rows, columns)


def picture_place(blank, shown, size) -> tuple:
    """Where a picture of ``size`` (width, height) appeared: the window of that size in which the
    most pixels changed between two screenshots (labels and bars changing elsewhere change far
    fewer). Returns (top, left)."""
    counts = window_sums(changed(blank, shown).astype(float), size[1], size[0])
    return np.unravel_index(np.argmax(counts), counts.shape)


def window_sums(values, height, width):
    """The sum of ``values`` over every height x width window, by its top-left corner."""
    total = np.pad(values, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    return total[height:, width:] - total[:-height, width:] - total[height:, :-width] + total[:-height, :-width]


def picture_at(screen, place, size):
    return screen[place[0] : place[0] + size[1], place[1] : place[1] + size[0]]


def edge_correlation(a, b) -> float:
    """How alike two pictures' shapes are: the normalised correlation (-1 to 1) of their edges at a
    quarter of their size, where a painting's brush strokes blur away and the photo's shapes stay
    (a Preview of the photo scores about 0.7, of the photo upside down or of the style about 0)."""
    ea, eb = (edges(quarter(x))[1:-1, 1:-1] for x in (a, b))
    ea, eb = ea - ea.mean(), eb - eb.mean()
    return float((ea * eb).sum() / np.sqrt((ea**2).sum() * (eb**2).sum()))


def quarter(rgb):
    height, width = rgb.shape[0] // 4 * 4, rgb.shape[1] // 4 * 4
    return rgb[:height, :width].reshape(height // 4, 4, width // 4, 4, -1).mean((1, 3))


def shrunk(path, size):
    with Image.open(path) as picture:
        return np.asarray(picture.convert("RGB").resize(size, Image.Resampling.BILINEAR), np.int16)


def closest_match(screen, picture) -> float:
    """How closely ``picture`` appears anywhere on ``screen``: the root-mean-square difference, in
    levels, at the best place (sums of squares by FFT, so every place is tried)."""
    height, width = picture.shape[:2]
    screen, picture = screen[..., :3].astype(float), picture[..., :3].astype(float)
    squared_differences = window_sums((screen**2).sum(axis=2), height, width) + (picture**2).sum()
    for channel in range(3):
        spectrum = np.fft.rfft2(screen[..., channel]) * np.fft.rfft2(picture[::-1, ::-1, channel], screen.shape[:2])
        products = np.fft.irfft2(spectrum, screen.shape[:2])[height - 1 :, width - 1 :]
        squared_differences -= 2 * products
    return float(np.sqrt(max(squared_differences.min(), 0) / (height * width * 3)))
