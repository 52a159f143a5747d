"""The artist's path on a fresh machine: a pristine Debian trixie with GIMP 3 and nothing of ours.

The repository is mounted read-only as a downloaded copy would be; the installer runs as the
README says (with --weights, as this machine has no route to the weights' host), then GIMP
paints a layer through the installed plug-in. Slow (it installs TensorFlow from PyPI).
"""
import os
import shutil

import pytest

from tests.conftest import ROOT, SHARED_VGG19, skip_or_fail
from tests.gimp_harness import GIMP_ROOT, GIMP_ARGS, PRELUDE, find_gimp, parse_reports, run_in_fresh_root

pytestmark = pytest.mark.gimp
HOST_CA = "/etc/ssl/certs/ca-certificates.crt"  # this machine's trust store, for pip behind its proxy


def test_install_then_paint_a_layer_in_gimp(tmp_path):
    chroot, reason = find_gimp()
    if reason or chroot is None:
        skip_or_fail(reason or "needs the provisioned GIMP root (a pristine system), not the system's GIMP")
    compact = os.path.join(SHARED_VGG19, "vgg19_notop_q8.npz")
    if not os.path.exists(compact):
        skip_or_fail(f"no compact weights at {compact}")
    binds = {ROOT: "/srv/neural-style", compact: "/srv/vgg19_notop_q8.npz"}
    pip_cert = ""
    if os.path.exists(HOST_CA):
        binds[HOST_CA] = "/usr/local/share/host-ca.crt"
        pip_cert = "PIP_CERT=/usr/local/share/host-ca.crt "
    script = PRELUDE + '''
image = load("/srv/neural-style/samples/tubingen.jpg")
image.scale(128, 96)
style = load("/srv/neural-style/samples/starry_night.jpg")
ok, error = run_neural_style(image, image.get_layers(), style.get_layers()[0], quality="custom",
                             iterations=5, working_size=96)
report(ok=ok, error=error, after=describe(image))
'''
    commands = (
        "apt-get install -y -qq --no-install-recommends python3-venv </dev/null >/dev/null\n"
        f"cd /srv/neural-style && {pip_cert}python3 -m installer --weights /srv/vgg19_notop_q8.npz </dev/null\n"
        f"cd ~ && {' '.join(GIMP_ARGS)}\n"
    )
    scratch = tmp_path / "fresh"
    try:
        process = run_in_fresh_root(commands, script, str(scratch), binds)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    output = process.stdout + process.stderr
    assert "Self-check: the engine works" in output, output[-4000:]
    (report,) = parse_reports(process.stderr)
    assert report["ok"], report["error"]
    new, source = report["after"]
    assert new["name"].startswith("Background in the style of") and (new["width"], new["height"]) == (128, 96)
    assert new["checksum"] != source["checksum"]
    assert not os.path.exists(os.path.join(GIMP_ROOT, "root", ".local", "share", "neural-style-gimp"))
