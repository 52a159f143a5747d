"""``python3 -m installer``: install, upgrade (run it again), ``--check`` or ``--uninstall``; with
``--remote HOST`` the engine goes on another computer, with ``--wsl DISTRO`` into WSL
(``installer.remote_install``)."""

import argparse
import os
import sys

from installer import install, locations, machine, matrix, remote, remote_install, settings, status
from installer.progress import Cancelled, Progress
from installer.steps import InstallError

NO_GIMP = (
    "no GIMP 3 was found, so the plug-in was not installed (the engine was). Install GIMP 3 "
    "and run the installer again; or name GIMP's plug-in folder with --plugin-dir "
    "(GIMP: Edit > Preferences > Folders > Plug-ins)."
)


NEVER_STARTED = (
    "GIMP {version} has never been started, so the plug-in was not installed into it: start GIMP "
    "{version} once, then run the installer again (GIMP sets up its user folder, bringing over "
    "the settings of an older version, only when that folder does not exist yet)."
)


class TerminalProgress:
    """Draws the installer's progress: a line per step and, on a terminal, a bar for downloads."""

    def __init__(self, stream=sys.stdout):
        self.stream, self.step, self.bar = stream, None, False

    def __call__(self, progress: Progress) -> None:
        if progress.step != self.step:
            self._end_bar()
            self.step = progress.step
            print(f"{progress.step}...", file=self.stream, flush=True)
        if progress.total_bytes and self.stream.isatty():
            done = int(30 * progress.done_bytes / progress.total_bytes)
            mb = f"{progress.done_bytes / 1e6:.1f} of {progress.total_bytes / 1e6:.1f} MB"
            self.stream.write(f"\r  [{'#' * done}{'.' * (30 - done)}] {mb}")
            self.stream.flush()
            self.bar = True

    def _end_bar(self):
        if self.bar:
            self.stream.write("\n")
            self.bar = False


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 -m installer",
        description="Set up Neural Style for GIMP: the engine, the VGG19 weights and the GIMP 3 plug-in.",
    )
    parser.add_argument(
        "--weights", help="use this VGG19 weights file instead of downloading it (Keras .h5, or the compact .npz)"
    )
    parser.add_argument(
        "--plugin-dir",
        action="append",
        help="install into this GIMP plug-ins folder instead of the ones found (may be given more than once)",
    )
    parser.add_argument("--data-dir", help=f"where the engine goes (default {locations.data_dir()})")
    parser.add_argument(
        "--backend",
        choices=matrix.BACKENDS,
        help="the engine's Keras backend (default: TensorFlow where it has packages for "
        "this machine and Python, else JAX, or PyTorch on a Mac); jax is the fastest on "
        "NVIDIA GPUs under Linux, torch uses a Mac's GPU",
    )
    parser.add_argument("--dry-run", action="store_true", help="say what would be installed, and change nothing")
    parser.add_argument("--check", action="store_true", help="diagnose an installation")
    parser.add_argument("--uninstall", action="store_true", help="remove everything the installer added")
    parser.add_argument(
        "--remote",
        metavar="HOST",
        help="put the engine on another computer, reached by ssh (user@host, or an alias of ~/.ssh/config), "
        "and the plug-in here; it needs an ssh key for HOST (no passwords) and Python 3 there",
    )
    parser.add_argument(
        "--ssh-command",
        default="",
        help='with --remote: the ssh command line, as rsync -e takes it (for example "ssh -p 2222 -F FILE")',
    )
    parser.add_argument(
        "--wsl",
        metavar="DISTRO",
        help="on Windows: put the engine into this WSL distribution (where an NVIDIA GPU has Linux's packages), "
        "and the plug-in here (not yet tried on a real Windows PC)",
    )
    parser.add_argument("--engine-only", action="store_true", help=argparse.SUPPRESS)  # what --remote runs there
    args = parser.parse_args(argv)

    data = os.path.abspath(args.data_dir or locations.data_dir())
    if args.engine_only:
        folders = []
    elif args.plugin_dir:
        folders = [locations.GimpFolder(os.path.abspath(p), "custom", False) for p in args.plugin_dir]
    else:
        folders = locations.find_gimp_folders(installed=locations.installed_gimps())
    try:
        if args.uninstall:
            status.uninstall(data, folders)
            print("Neural Style for GIMP is uninstalled.")
            return 0
        if args.check:
            return _check(data, folders, args.backend)
        if args.remote or args.wsl:
            way = (
                remote.Way(remote.WSL, args.wsl) if args.wsl else remote.Way(remote.SSH, args.remote, args.ssh_command)
            )
            return _install_elsewhere(way, args, data, folders)
        choice = _choose(args.backend)
        if args.dry_run:
            print(f"Would install {choice.describe()}, from {os.path.relpath(choice.lock)}")
            for folder in folders:
                if locations.never_started(folder):
                    print(NEVER_STARTED.format(version=folder.version))
                else:
                    print(f"Would install the plug-in in {folder.plugins}")
            return 0
        started = [f for f in folders if not locations.never_started(f)]
        install.install(data, started, args.weights, choice, progress=TerminalProgress())
        if args.engine_only:
            print(remote_install.engine_line(settings.read(data)))
            return 0
        for folder in folders:
            if folder not in started:
                print(f"\nWARNING: {NEVER_STARTED.format(version=folder.version)}")
        if not folders:
            print(f"\nWARNING: {NO_GIMP}")
        print("\nDone. Restart GIMP, select a layer and choose Filters > Artistic > Neural Style Transfer...")
    except (InstallError, matrix.Unsupported) as error:
        print(f"Installation failed: {error}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, Cancelled):
        print("Interrupted; nothing was changed. Run the installer again to install.", file=sys.stderr)
        return 130
    return 0


def _install_elsewhere(way, args, data, folders) -> int:
    """The engine there, then the plug-in here, with settings that say so."""
    engine = remote_install.install(way, args.weights, args.backend)
    started = [f for f in folders if not locations.never_started(f)]
    settings.write(data, engine._replace(logs=install.log_folder(data)))
    written = install.install_plugins(data, started, print)
    install.write_marker(
        data,
        {"version": engine.version, "plugins": written, "remote": way.host, "kind": way.kind, "ssh": way.ssh,
         "device": engine.device, "backend": engine.backend},
    )  # fmt: skip
    if not folders:
        print(f"\nWARNING: {NO_GIMP}")
    print(
        f"\nDone: the engine computes on {engine.device}. Restart GIMP, select a layer and choose "
        "Filters > Artistic > Neural Style Transfer..."
    )
    return 0


def _choose(backend):
    return matrix.choose(machine.interpreters(), machine.has_nvidia_gpu(), backend)


def _check(data, folders, backend) -> int:
    summary, problems = status.check(data, folders)
    if summary:
        print(f"Installed: {summary}")
    else:
        try:
            print(f"This machine would get {_choose(backend).describe()}.")
        except matrix.Unsupported as error:
            problems.append(f"this machine cannot run the engine: {error}")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print(
        "Neural Style for GIMP is installed and works."
        if not problems
        else "Neural Style for GIMP needs attention (see above)."
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
