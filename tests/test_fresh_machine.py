"""The artist's path on a fresh machine, from inside GIMP: a pristine Debian with GIMP 3 and nothing
of ours, no python3-venv and no terminal installer, once with GIMP 3.0 and Python 3.13 (trixie)
and once with GIMP 3.2 and Python 3.14 (sid).

GIMP starts once (so its user folder exists, as on any machine where GIMP ran), the release
archive is unzipped into its plug-ins folder, and GIMP is started again: a script calls
``python-fu-neural-style-install`` with the weights file (this machine has no route to the
weights' host), and paints a layer. Slow: uv and the engine's packages come from PyPI.
"""

import os
import shutil

import pytest

from installer import matrix, release
from tests.gimp_harness import PRELUDE, parse_reports, run_in_fresh_root

pytestmark = pytest.mark.gimp
HOST_CA = "/etc/ssl/certs/ca-certificates.crt"  # this machine's trust store, for downloads behind its proxy
DATA = "/root/.local/share/neural-style-gimp"

INSTALL_AND_PAINT = """
install = Gimp.get_pdb().lookup_procedure("python-fu-neural-style-install")
config = install.create_config()
config.set_property("weights-file", "/srv/vgg19_notop_q8.npz")
result = install.run(config)
installed = result.index(0) == Gimp.PDBStatusType.SUCCESS
image = load("/usr/share/neural-style-samples/tubingen.jpg")
image.scale(128, 96)
style = load("/usr/share/neural-style-samples/starry_night.jpg")
ok, error = run_neural_style(image, image.get_layers(), style.get_layers()[0], quality="custom",
                             iterations=5, working_size=96)
report(installed=installed, install_error=None if installed else result.index(1), ok=ok, error=error,
       after=describe(image))
"""


def test_unzip_into_plug_ins_install_from_gimp_then_paint(gimp, tmp_path, compact_weights):
    expected = matrix.choose([matrix.Interpreter("python3", gimp.python, "linux-x86_64")], nvidia=False)
    archive = release.write_release(str(tmp_path / "dist"))
    samples = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "samples")
    binds = {
        archive: "/srv/neural-style.zip",
        compact_weights: "/srv/vgg19_notop_q8.npz",
        samples: "/usr/share/neural-style-samples",
    }
    ca = ""
    if os.path.exists(HOST_CA):
        binds[HOST_CA] = "/usr/local/share/host-ca.crt"
        ca = "SSL_CERT_FILE=/usr/local/share/host-ca.crt "
    plugins = f"/root/.config/GIMP/{gimp.version}/plug-ins"
    commands = (
        "apt-get install -y -qq --no-install-recommends unzip </dev/null >/dev/null\n"
        'python3 -c "import ensurepip" 2>/dev/null && echo "has venv"\n'
        f"cd ~ && echo 'print(1)' | {' '.join(gimp.console)} >/dev/null 2>&1\n"  # GIMP's first start
        f"mkdir -p {plugins} && unzip -q /srv/neural-style.zip -d {plugins}\n"
        f"cd ~ && {ca}{' '.join(gimp.console)}\n"
        f"ls {DATA}/envs | sed 's/^/env: /'\n"
    )
    scratch = tmp_path / "fresh"
    try:
        process = run_in_fresh_root(gimp.root, commands, PRELUDE + INSTALL_AND_PAINT, str(scratch), binds)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    output = process.stdout + process.stderr
    assert "has venv" not in output  # python3-venv is not installed: uv makes the environment
    (report,) = parse_reports(process.stderr)
    assert report["gimp"].startswith(gimp.version + "."), report
    assert report["installed"], report["install_error"]
    envs = [line for line in output.splitlines() if line.startswith("env: ")]
    assert len(envs) == 1 and envs[0].startswith(f"env: linux-x86_64-py{gimp.python}-{expected.variant}-"), envs
    assert report["ok"], report["error"]
    new, source = report["after"]
    assert new["name"].startswith("Background in the style of") and (new["width"], new["height"]) == (128, 96)
    assert new["checksum"] != source["checksum"]
