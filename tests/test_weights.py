"""Weights resolution and the hash-checked download, with a file:// origin standing in for the host."""

import hashlib
import os
from pathlib import Path

import pytest

from core import vgg, weights
from core.vgg import VGG19Features
from core.weights import WeightsError


@pytest.fixture
def origin(tmp_path):
    source = tmp_path / "host" / weights.WEIGHTS_FILE
    source.parent.mkdir()
    source.write_bytes(os.urandom(4096))
    return source, hashlib.md5(source.read_bytes()).hexdigest()


def test_download_checks_the_hash_and_caches(tmp_path, origin):
    source, md5 = origin
    cache = tmp_path / "cache"
    path = weights.download_weights(origin=source.as_uri(), file_hash=md5, cache_dir=str(cache))
    assert path == weights.cached_weights_path(str(cache))
    assert Path(path).read_bytes() == source.read_bytes()
    source.unlink()  # a second call must use the cached copy
    assert weights.download_weights(origin=source.as_uri(), file_hash=md5, cache_dir=str(cache)) == path


def test_damaged_download_is_refused_and_removed(tmp_path, origin):
    source, _ = origin
    cache = tmp_path / "cache"
    with pytest.raises(WeightsError, match="damaged \\(hash mismatch\\)"):
        weights.download_weights(origin=source.as_uri(), file_hash="0" * 32, cache_dir=str(cache))
    assert not os.path.exists(weights.cached_weights_path(str(cache)))


def test_unreachable_host_says_what_to_do(tmp_path):
    with pytest.raises(WeightsError, match="could not download .* pass the file with --weights"):
        weights.download_weights(origin=(tmp_path / "nothing.h5").as_uri(), cache_dir=str(tmp_path))


def test_explicit_path_argument_and_environment(tmp_path, monkeypatch):
    file = tmp_path / "w.h5"
    file.write_bytes(b"x")
    monkeypatch.setenv(weights.WEIGHTS_ENV, str(file))
    assert weights.resolve_weights() == str(file)
    with pytest.raises(WeightsError, match="does not exist"):
        weights.resolve_weights(str(tmp_path / "missing.h5"))


def test_not_installed_without_download(tmp_path, monkeypatch):
    monkeypatch.delenv(weights.WEIGHTS_ENV, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(WeightsError, match="not installed; run the installer"):
        weights.resolve_weights(download=False)


def test_truncated_or_wrong_weights_file(tmp_path, real_weights):
    truncated = tmp_path / "truncated.h5"
    with open(real_weights, "rb") as f:
        truncated.write_bytes(f.read(1_000_000))
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(os.urandom(10_000))
    for path in (truncated, garbage):
        with pytest.raises(WeightsError, match="is damaged or not VGG19's; run the installer") as error:
            VGG19Features(str(path))
        assert "\n" not in str(error.value) and "sblock" not in str(error.value)  # h5py's words go to the log


def test_compact_weights_expand_to_the_same_network(tmp_path, real_weights, compact_weights):
    import numpy as np

    expanded = vgg.expand_compact_weights(compact_weights, str(tmp_path / "vgg.weights.h5"))
    x = np.random.default_rng(0).normal(0, 50, (1, 40, 40, 3)).astype("float32")
    layers = ("block5_conv2",)
    ours = np.asarray(VGG19Features(expanded).extractor(layers)(x))
    reference = np.asarray(VGG19Features(real_weights).extractor(layers)(x))
    np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-4)
    bad = tmp_path / "bad.npz"
    np.savez(bad, nothing=np.zeros(3))
    with pytest.raises(WeightsError, match="lacks usable weights for block1_conv1"):
        vgg.expand_compact_weights(str(bad), str(tmp_path / "x.weights.h5"))
