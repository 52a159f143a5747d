"""The artist's path on a fresh machine: a pristine Debian with GIMP 3 and nothing of ours, once
with GIMP 3.0 and Python 3.13 (trixie) and once with GIMP 3.2 and Python 3.14 (sid).

The repository is mounted read-only as a downloaded copy would be; the installer runs as the
README says (with --weights, as this machine has no route to the weights' host): first before
python3-venv is installed, which it must refuse in one line and change nothing, then after. GIMP
never ran there, so its user folder does not exist yet. Then GIMP paints a layer through the
installed plug-in. Slow: it installs the engine's packages from PyPI.
"""

import os
import shutil

import pytest

from installer import matrix
from tests.conftest import ROOT, SHARED_VGG19, skip_or_fail
from tests.gimp_harness import PRELUDE, parse_reports, run_in_fresh_root

pytestmark = pytest.mark.gimp
HOST_CA = "/etc/ssl/certs/ca-certificates.crt"  # this machine's trust store, for pip behind its proxy
DATA = "/root/.local/share/neural-style-gimp"


def test_install_then_paint_a_layer_in_gimp(gimp, tmp_path):
    expected = matrix.choose([matrix.Interpreter("python3", gimp.python, "linux-x86_64")], nvidia=False)
    compact = os.path.join(SHARED_VGG19, "vgg19_notop_q8.npz")
    if not os.path.exists(compact):
        skip_or_fail(f"no compact weights at {compact}")
    binds = {ROOT: "/srv/neural-style", compact: "/srv/vgg19_notop_q8.npz"}
    pip_cert = ""
    if os.path.exists(HOST_CA):
        binds[HOST_CA] = "/usr/local/share/host-ca.crt"
        pip_cert = "PIP_CERT=/usr/local/share/host-ca.crt "
    script = (
        PRELUDE
        + """
image = load("/srv/neural-style/samples/tubingen.jpg")
image.scale(128, 96)
style = load("/srv/neural-style/samples/starry_night.jpg")
ok, error = run_neural_style(image, image.get_layers(), style.get_layers()[0], quality="custom",
                             iterations=5, working_size=96)
report(ok=ok, error=error, after=describe(image))
"""
    )
    install = f"cd /srv/neural-style && {pip_cert}python3 -m installer --weights /srv/vgg19_notop_q8.npz </dev/null"
    commands = (
        f'{install} >/tmp/refused.out 2>&1; echo "refused: exit $?"; cat /tmp/refused.out\n'
        f'for made in {DATA} /root/.config/GIMP; do [ -e $made ] && echo "left: $made"; done\n'
        "apt-get install -y -qq --no-install-recommends python3-venv </dev/null >/dev/null\n"
        f"{install}\n"
        f"ls {DATA}/envs | sed 's/^/env: /'\n"
        f"cd ~ && {' '.join(gimp.console)}\n"
    )
    scratch = tmp_path / "fresh"
    try:
        process = run_in_fresh_root(gimp.root, commands, script, str(scratch), binds)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    output = process.stdout + process.stderr
    refusal = output.split("refused: exit ", 1)[1].splitlines()
    assert refusal[0] == "1" and refusal[1].startswith("Installation failed: ") and "-venv" in refusal[1], output
    assert not refusal[2].startswith("Installation"), "more than one line"  # then comes what was left
    assert "left: " not in output, output  # nothing was made
    assert f"Self-check: the engine works on CPU ({expected.backend})" in output, output[-4000:]
    assert f"Plug-in installed in /root/.config/GIMP/{gimp.version}/plug-ins/neural_style" in output
    envs = [line for line in output.splitlines() if line.startswith("env: ")]
    assert len(envs) == 1 and envs[0].startswith(f"env: linux-x86_64-py{gimp.python}-{expected.variant}-"), envs
    (report,) = parse_reports(process.stderr)
    assert report["gimp"].startswith(gimp.version + "."), report
    assert report["ok"], report["error"]
    new, source = report["after"]
    assert new["name"].startswith("Background in the style of") and (new["width"], new["height"]) == (128, 96)
    assert new["checksum"] != source["checksum"]
    assert not os.path.exists(os.path.join(gimp.root, "root", ".local", "share", "neural-style-gimp"))
