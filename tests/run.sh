#!/bin/sh
# The one test command: prepares the test environment (engine venv in .venv, a GIMP 3 for the
# real-GIMP tier when this machine has none and we are root), then runs pytest with any arguments.
set -eu
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
stamp=.venv/.requirements-installed
wanted=$(cat tests/requirements.txt core/requirements*.txt)
if [ "$wanted" != "$(cat "$stamp" 2>/dev/null)" ]; then
    .venv/bin/python -m pip install -q --disable-pip-version-check -r tests/requirements.txt
    printf '%s' "$wanted" > "$stamp"
fi
if ! command -v gimp-console-3.0 >/dev/null && [ "$(id -u)" = 0 ]; then
    tests/provision_gimp.sh .cache/gimp-trixie
fi
exec .venv/bin/python -m pytest "$@"
