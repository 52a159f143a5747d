"""Styles placed by masks: the regions made of them, and a real painting whose regions take their
own style."""

import json
import os

import numpy as np
import pytest

from core import images, regions
from core.engine import StyleTransfer
from core.params import StyleParams
from tests.conftest import ROOT


def test_without_masks_there_is_one_region_of_every_style():
    assert regions.regions_of([None, None], (0.5, 0.5)) is None


def test_overlapping_masks_are_shared_out_and_the_unmasked_styles_blend_over_the_rest():
    sky = np.zeros((4, 6), np.uint8)
    sky[:2] = 255
    left = np.zeros((4, 6), np.uint8)
    left[:, :3] = 255
    where = regions.regions_of([sky, None, left, None], (0.1, 0.2, 0.3, 0.4))
    assert where.styles == (((0, 1.0),), ((2, 1.0),), ((1, pytest.approx(1 / 3)), (3, pytest.approx(2 / 3))))
    sky_region, left_region, rest = where.masks
    assert sky_region[0, 0] == left_region[0, 0] == 0.5  # both cover the top left
    assert sky_region[0, 5] == 1.0 and left_region[3, 0] == 1.0 and rest[3, 5] == 1.0
    np.testing.assert_allclose(where.masks.sum(axis=0), 1.0)


def test_when_every_style_has_a_mask_the_first_paints_what_none_covers():
    half = np.zeros((4, 6), np.uint8)
    half[:, 3:] = 100  # partly covered on the right, not at all on the left
    where = regions.regions_of([half, half.copy()], (0.5, 0.5))
    np.testing.assert_allclose(where.masks[0][:, :3], 1.0)
    np.testing.assert_allclose(where.masks[1][:, 3:], 100 / 255)
    np.testing.assert_allclose(where.masks.sum(axis=0), 1.0, rtol=1e-6)


def test_at_each_layer_a_region_weighs_the_pixels_each_position_stands_for():
    mask = np.zeros((32, 48), np.uint8)
    mask[:, :20] = 255  # 20 columns: a block of 16 at block5 is 1, the next one 4/16
    where = regions.regions_of([mask, None], (0.5, 0.5))
    block1, block5 = where.at_layers((32, 48), ("block1_conv1", "block5_conv1"))
    assert block1.shape == (2, 32, 48, 1) and block5.shape == (2, 2, 3, 1)
    np.testing.assert_allclose(block5[0, :, :, 0], [[1.0, 0.25, 0.0]] * 2, atol=1e-6)
    np.testing.assert_allclose(block5.sum(axis=0), 1.0, atol=1e-6)


@pytest.mark.parametrize(
    "masks, message",
    [
        ([None], "1 style masks for 2 style images; give one per style"),
        ([np.zeros((4, 6), np.uint8), None], "style mask 1 is all black: its style would paint nowhere"),
        (
            [None, np.full((6, 4), 255, np.uint8)],
            "style mask 2 is 4x6 pixels; it must have the content image's size, 6x4",
        ),
    ],
)
def test_a_mask_that_cannot_place_its_style_is_refused_in_one_line(masks, message):
    with pytest.raises(images.ImageError, match=message):
        regions.check_masks(masks, 2, (4, 6))


def test_a_pictures_mask_is_its_brightness_times_its_opacity():
    picture = np.array([[[255, 255, 255, 255], [255, 255, 255, 0], [0, 0, 0, 255], [255, 0, 0, 255]]], np.uint8)
    assert regions.mask_of(picture).tolist() == [[255, 0, 0, 76]]


@pytest.mark.real_weights
def test_each_region_takes_its_own_styles_gram_matrices_not_the_others(real_weights):
    """The Starry Night on the left half, The Shipwreck on the right: each half's Gram matrices end
    nearer its own style's than the other's, and nearer than the photo's were."""
    from core.vgg import VGG19Features

    def load(name):
        return images.load_image(os.path.join(ROOT, "samples", name))

    photo, starry, shipwreck = load("tubingen.jpg"), load("starry_night.jpg"), load("shipwreck.jpg")
    left = np.zeros(photo.shape[:2], np.uint8)
    left[:, : photo.shape[1] // 2] = 255
    engine = StyleTransfer(VGG19Features(real_weights))
    params = StyleParams(size=128, iterations=40, pyramid_levels=1, style_weight=2.0)
    result = engine.run(photo, [starry, shipwreck], params, style_masks=[left, None])
    layers = params.style_layers
    extract = engine.network.extractor(layers)

    def grams(rgb, side=None):  # of the "left" or "right" half, or the whole picture
        shape = images.fit_long_side(rgb.shape, 128)
        batch = images.preprocess(images.resize(rgb[..., :3].astype(np.float32), shape))[None]
        out = []
        for features in extract(batch):
            values = np.asarray(features, np.float64)[0]
            middle = values.shape[1] // 2
            values = {"left": values[:, :middle], "right": values[:, middle:]}.get(side, values)
            flat = values.reshape(-1, values.shape[-1])
            out.append(flat.T @ flat / flat.size)
        return out

    def distance(a, b):
        return np.mean([np.sum((x - y) ** 2) / np.sum(y**2) for x, y in zip(a, b)])

    targets = {"starry": grams(starry), "shipwreck": grams(shipwreck)}
    for side, own, other in (("left", "starry", "shipwreck"), ("right", "shipwreck", "starry")):
        painted, before = grams(result.pixels, side), grams(photo, side)
        assert distance(painted, targets[own]) < distance(painted, targets[other])
        assert distance(painted, targets[own]) < 0.7 * distance(before, targets[own])


def test_the_dialogs_extra_style_rows_paint_only_with_a_layer_and_need_a_region():
    from gimp_plugin.neural_style import job_settings

    rows = [(2, "Blue", "Sky"), (3, None, "Town"), (4, None, None)]
    assert job_settings.placed_styles(rows) == [(2, "Blue", "Sky")]  # a region alone paints nothing
    with pytest.raises(job_settings.UserError, match="Style layer 3 needs a region: choose under 'Style 3 paints"):
        job_settings.placed_styles([(2, "Blue", "Sky"), (3, "Red", None)])
    assert [job_settings.style_layer_setting(r) for r in job_settings.EXTRA_STYLE_ROWS] == [
        "style-layer-2",
        "style-layer-3",
        "style-layer-4",
    ]


def test_a_paintings_record_reads_back_and_a_foreign_one_is_passed_over():
    from gimp_plugin.neural_style import job_settings

    settings = dict.fromkeys(job_settings.SETTINGS, 1) | {"quality": "fine"}
    styles = [{"layer": "Starry Night", "tattoo": 4, "file": None, "region": None, "region_tattoo": None}]
    record = job_settings.Record(settings, styles, {"layer": "Photo", "tattoo": 2})
    kept = job_settings.painting_record(record)
    assert job_settings.read_record(kept) == record
    newer = json.loads(kept) | {"settings": settings | {"brush": "round"}}  # a setting this dialog lacks
    assert job_settings.read_record(json.dumps(newer).encode()).settings == settings
    for foreign in (b"not json", b"[]", json.dumps(json.loads(kept) | {"format": 2}).encode(), b'{"format": 1}'):
        assert job_settings.read_record(foreign) is None
