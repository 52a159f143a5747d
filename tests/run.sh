#!/bin/sh
# The one test command: makes the test environment .venv from its lock file (tests/requirements.txt,
# locked for Python 3.11 on Linux x86-64), and, when run as root, the two pristine GIMP roots the
# real-GIMP tiers run in (.cache/gimp-trixie: GIMP 3.0, Python 3.13; .cache/gimp-sid: GIMP 3.2,
# Python 3.14; a few minutes each, once). Then runs pytest, a test process per core, with any
# arguments; --quick first leaves out the slow tiers (installs, the registry, real GIMP, benchmark).
set -eu
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
locked_for=3.11
if [ "$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" != "$locked_for" ]; then
    if command -v "python$locked_for" >/dev/null; then
        python=python$locked_for
    else
        echo "tests/run.sh: the test environment is locked for Python $locked_for; install it or set PYTHON" >&2
        exit 2
    fi
fi
stamp=.venv/.requirements-installed
if ! cmp -s tests/requirements.txt "$stamp" 2>/dev/null; then
    rm -rf .venv
    "$python" -m venv .venv
    .venv/bin/python -m pip install -q --disable-pip-version-check --require-hashes --only-binary :all: \
        -r tests/requirements.txt
    cp tests/requirements.txt "$stamp"
fi
if [ "$(id -u)" = 0 ]; then
    # unzip: the release tests unpack the archive as artists do, keeping the entry file's run bit
    command -v unzip >/dev/null || { apt-get update -qq && apt-get install -y -qq unzip >/dev/null; }
    # openssh-server: the remote engine's tests start their own sshd on a loopback port
    [ -x /usr/sbin/sshd ] || { apt-get update -qq && apt-get install -y -qq openssh-server >/dev/null; }
    tests/provision_gimp.sh trixie .cache/gimp-trixie
    tests/provision_gimp.sh sid .cache/gimp-sid
fi
# A test process per core, at most four (each may hold a GIMP and a worker of a few GB; pytest-xdist);
# worksteal evens out the long tests at the end.
if [ "${1:-}" = --quick ]; then  # everyday work: all but the slow tiers, in a few minutes
    shift
    set -- -m "not slow" "$@"
fi
processes=$(nproc 2>/dev/null || echo 1)
[ "$processes" -le 4 ] || processes=4
exec .venv/bin/python -m pytest -n "$processes" --dist worksteal "$@"
