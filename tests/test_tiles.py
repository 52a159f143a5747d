"""Tiled evaluation: the plan covers the image, fits the budget, and changes nothing but memory."""

import os
import threading

import numpy as np
import pytest

from core import images, objective, optimizers, plan, regions, tiles, vgg_layers
from core.engine import StyleTransfer
from core.params import ParamError, StyleParams
from tests.conftest import ROOT

DEFAULT_LAYERS = StyleParams().content_layers + StyleParams().style_layers
HALO = tiles.halo(DEFAULT_LAYERS)
TILE = 2 * HALO + 80  # a tile side that cuts the test pictures into several tiles


def _load(name):
    return images.load_image(os.path.join(ROOT, "samples", name))


def test_the_halo_covers_the_receptive_field_of_the_deepest_layer():
    assert vgg_layers.reach("block5_conv2") == 101 and HALO == 112  # the default layers
    assert tiles.halo(("block5_conv4",)) > vgg_layers.reach("block5_conv4") == 133
    assert tiles.halo(("block2_conv1",)) % tiles.GRID == 0


@pytest.mark.parametrize("shape", [(200, 264), (3000, 4000), (97, 301)])
def test_tile_interiors_cover_every_pixel_once_and_windows_sit_on_the_grid(shape):
    covered = np.zeros(shape, np.int32)
    for tile in tiles.plan_tiles(shape, 2 * HALO + 96, HALO):
        covered[tile.y0 : tile.y1, tile.x0 : tile.x1] += 1
        assert tile.top % tiles.GRID == 0 and tile.left % tiles.GRID == 0
        assert tile.top == max(0, tile.y0 - HALO) and tile.bottom == min(shape[0], tile.y1 + HALO)
        assert tile.left == max(0, tile.x0 - HALO) and tile.right == min(shape[1], tile.x1 + HALO)
    assert (covered == 1).all()


def _memory(shape, budget, names=tuple(optimizers.HOST)):
    side, name, history = plan.plan_memory(shape, budget, names, HALO)
    size = plan.SizePlan(shape, side, name, history)
    return size, plan.planned_bytes(size)


def test_memory_plan_keeps_small_images_whole_with_scipy_and_tiles_a_4000x3000_one():
    small, _ = _memory((384, 512), 8e9)
    assert (small.tile_side, small.optimizer, small.history) == (None, "lbfgs-b", 20)
    for budget in (10e9, 16e9):
        big, planned = _memory((3000, 4000), budget)
        assert big.tile_side is not None and plan.MIN_HISTORY <= big.history < 20
        assert big.optimizer == "lbfgs-float32"  # scipy's float64 vectors would leave it less memory
        assert planned <= plan.PLANNED_SHARE * budget
    scipy_only, planned = _memory((3000, 4000), 16e9, ("lbfgs-b",))
    assert scipy_only.optimizer == "lbfgs-b" and scipy_only.history < big.history
    assert planned <= plan.PLANNED_SHARE * 16e9
    roomy, _ = _memory((3000, 4000), 80e9)  # a big machine
    assert (roomy.tile_side, roomy.optimizer, roomy.history) == (None, "lbfgs-b", 20)


def test_a_budget_too_small_for_the_picture_says_how_much_is_needed():
    with pytest.raises(
        ParamError,
        match=r"a 4000x3000 picture needs about [0-9] GB of memory, more than "
        r"the budget of 4 GB",
    ):
        _memory((3000, 4000), 4e9)
    with pytest.raises(ParamError, match=r"needs about 1[0-9] GB of memory, more than the budget of 10 GB"):
        _memory((3000, 4000), 10e9, ("lbfgs-b",))


def test_a_job_whose_full_size_cannot_fit_fails_before_any_work(random_network):
    engine = StyleTransfer(random_network)
    calls = []
    with pytest.raises(ParamError, match="needs about"):
        engine.run(
            _load("tubingen.jpg"),
            [_load("starry_night.jpg")],
            StyleParams(size=4000, memory_budget=4.0),
            on_progress=calls.append,
        )
    assert calls == []


@pytest.mark.slow
@pytest.mark.parametrize("tutorial, masked", [(False, False), (True, False), (False, True)])
def test_tiled_loss_and_gradient_equal_the_whole_image_ones(random_network, tutorial, masked):
    shape = (200, 264)
    content, *styles = (
        _load(name)[..., :3].astype(np.float32) for name in ("tubingen.jpg", "starry_night.jpg", "shipwreck.jpg")
    )
    where = None
    if masked:  # The Starry Night in a soft-edged disc, The Shipwreck around it
        yy, xx = np.mgrid[: content.shape[0], : content.shape[1]]
        disc = np.clip(255 * (1.2 - np.hypot(yy - 300, xx - 350) / 250), 0, 255).astype(np.uint8)
        where = regions.regions_of([disc, None], (0.5, 0.5))
    else:
        styles = styles[:1]
    compiled = StyleTransfer(random_network).compiled
    params = StyleParams.tutorial(size=264) if tutorial else StyleParams(size=264, precision="float32")

    def build(tile_side):
        size = plan.SizePlan(shape, tile_side, "lbfgs-b", 5)
        return objective.build(compiled, content, styles, params, size, "float32", where=where)

    whole, tiled = build(None), build(TILE)
    assert len(tiled.image.tiles) == 12
    x = images.preprocess(images.resize(content, shape))[None]
    x = x + np.random.default_rng(0).normal(0, 20, x.shape).astype(np.float32)
    loss, parts, grad = whole(x)
    tiled_loss, tiled_parts, tiled_grad = tiled(x)
    for name in ("content", "style", "tv"):
        assert tiled_parts[name] == pytest.approx(parts[name], rel=1e-4), name
    assert tiled_loss == pytest.approx(loss, rel=1e-4)
    assert np.linalg.norm(tiled_grad - grad) / np.linalg.norm(grad) < 1e-4


def _tiles_forced(monkeypatch):
    """Plan every size in tiles (the test pictures fit any budget whole)."""
    planned = plan.plan_memory
    monkeypatch.setattr(plan, "plan_memory", lambda *args: (TILE, *planned(*args)[1:]))


@pytest.mark.slow
def test_a_size_planned_in_tiles_runs_in_tiles_with_the_same_result(random_network, monkeypatch):
    engine = StyleTransfer(random_network)
    content, style = _load("tubingen.jpg"), _load("starry_night.jpg")
    params = StyleParams(size=200, iterations=3, pyramid_levels=1, precision="float32")
    whole = engine.run(content, [style], params)
    _tiles_forced(monkeypatch)
    assert engine.plan(content, [style], params).sizes[-1].tile_side == TILE
    tiled = engine.run(content, [style], params)
    assert tiled.losses["total"] == pytest.approx(whole.losses["total"], rel=1e-3)
    assert np.abs(tiled.pixels.astype(int) - whole.pixels.astype(int)).max() <= 2


@pytest.mark.slow
@pytest.mark.parametrize("tiles_before_stop", [2, 20])  # during the targets; during the first evaluation
def test_a_stop_takes_effect_within_one_tile(random_network, monkeypatch, tiles_before_stop):
    """At full resolution one evaluation takes minutes; a cancel must not wait for it to finish."""
    engine = StyleTransfer(random_network)
    params = StyleParams(size=200, iterations=3, pyramid_levels=1, precision="float32")
    _tiles_forced(monkeypatch)
    network = engine.compiled.tiled(params, "float32")
    tiles_run, stop = [], threading.Event()

    def counted(function):
        def call(*args):
            tiles_run.append(function)
            if len(tiles_run) == tiles_before_stop:
                stop.set()  # asked while this tile runs
            return function(*args)

        return call

    monkeypatch.setattr(network, "forward", counted(network.forward))
    monkeypatch.setattr(network, "backward", counted(network.backward))
    result = engine.run(_load("tubingen.jpg"), [_load("starry_night.jpg")], params, should_stop=stop.is_set)
    assert result.cancelled and result.evaluations == 0
    assert len(tiles_run) == tiles_before_stop  # not one tile more
    assert result.pixels.shape[:2] == (150, 200)


def test_a_jobs_plan_says_in_one_line_what_it_will_do():
    """The command line prints it before the work: sizes, whole or in tiles, memory, device."""
    job = plan.plan_job(StyleParams(size=4000, memory_budget=8, optimizer="lbfgs-float32"), (3000, 4000))
    line = job.summary()
    tiled = job.sizes[-1]
    count = len(tiles.plan_tiles(tiled.shape, tiled.tile_side, HALO))
    assert line.startswith("2 sizes: 2000x1500 ") and f"4000x3000 in {count} tiles of {tiled.tile_side} px" in line
    assert f"about {plan.planned_bytes(tiled) / 1e9:.1f} GB of memory (of 8 GB)" in line and "\n" not in line
    assert plan.plan_job(StyleParams(size=96), (72, 96)).summary().startswith("2 sizes: 48x36 whole, 96x72 whole;")
