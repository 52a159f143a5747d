"""``python3 -m installer --remote HOST`` (or ``--wsl DISTRO``): the engine on another computer
(or in WSL), the plug-in here.

The installer sends itself (the plug-in folder's files: the engine's source, this installer with
its lock files, the samples of the self-check) and any weights file over the way there
(``remote.Way``: ssh, or wsl.exe) into ``~/.neural-style-installer``, and runs there, so the
support matrix chooses for that machine: its system, processor, Python and GPU. Its self-check
runs there. Its last line says what it installed; from it the plug-in's settings here say where
the engine is (kind ``ssh`` or ``wsl``), and the plug-in is installed here. The copy there stays,
for ``--uninstall``.
"""

from __future__ import annotations

import io
import json
import os
import shlex
import subprocess
import tarfile

from installer import remote, settings
from installer.plugin import plugin_files
from installer.steps import InstallError

FOLDER = ".neural-style-installer"  # in the remote account's home
ENGINE_LINE = "NEURAL-STYLE-ENGINE "  # the remote installer's last line: its settings as JSON


def install(way: remote.Way, weights: str | None, backend: str | None, echo=print) -> settings.EngineSettings:
    """Install the engine there; returns its settings as the plug-in here needs them."""
    echo(f"Sending the installer to {way.name()}...")
    payload, remote_weights = _bundle(weights)
    _run(way, f"rm -rf {FOLDER} && mkdir -p {FOLDER} && tar -xf - -C {FOLDER}", payload, echo)
    options = ["--engine-only"]
    options += ["--weights", remote_weights] if remote_weights else []
    options += ["--backend", backend] if backend else []
    output = _run(way, _installer(options), None, echo, show=True)
    lines = [line for line in output.splitlines() if line.startswith(ENGINE_LINE)]
    if not lines:
        raise InstallError(f"the installer {way.where()} did not say what it installed")
    engine = settings.EngineSettings(**json.loads(lines[-1][len(ENGINE_LINE) :]))
    return engine._replace(kind=way.kind, host=way.host, ssh=way.ssh, device=f"{engine.device} {way.where()}")


def uninstall(way: remote.Way, echo=print) -> None:
    """The engine there removed by the installer sent there, and then that installer."""
    _run(way, _installer(["--uninstall", "--engine-only"]), None, echo, show=True)
    _run(way, f"rm -rf {FOLDER}", None, echo)


def engine_line(engine: settings.EngineSettings) -> str:
    """What a remote install prints last, for the computer that asked for it."""
    return ENGINE_LINE + json.dumps(engine._asdict())


def _installer(options: list) -> str:
    return f"cd {FOLDER} && exec python3 -m installer " + " ".join(shlex.quote(o) for o in options)


def _bundle(weights: str | None) -> tuple:
    """(a tar archive of the plug-in folder's files and the weights, the weights' path in FOLDER)."""
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        for source, inside in plugin_files():
            tar.add(source, inside)
        if weights:
            name = "weights/" + os.path.basename(weights)
            tar.add(os.path.abspath(os.path.expanduser(weights)), name)
    return archive.getvalue(), (f"weights/{os.path.basename(weights)}" if weights else None)  # from FOLDER


def _run(way: remote.Way, command: str, stdin, echo, show=False) -> str:
    """``command`` in the shell there, fed ``stdin``; its output (stderr with it), each line
    echoed as it comes when ``show``. A failure is an ``InstallError`` in one line: the way's
    complaint in the artist's words, or the installer's own last line there."""
    process = subprocess.Popen(
        [*way.shell(), command],
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    if stdin is not None:
        output = process.communicate(stdin)[0].decode("utf-8", "replace")
    else:
        lines = []
        for raw in process.stdout:
            lines.append(raw.decode("utf-8", "replace"))
            if show and not lines[-1].startswith(ENGINE_LINE):
                echo(f"  {way.name()}: {lines[-1].rstrip()}")
        process.wait()
        output = "".join(lines)
    if process.returncode == 0:
        return output
    last = (output.strip().splitlines() or [f"exit code {process.returncode}"])[-1]
    explained = way.explain(output) if process.returncode == 255 or "python3" in last else None
    raise InstallError(explained or f"{way.where()}: {last.removeprefix('Installation failed: ')}")
