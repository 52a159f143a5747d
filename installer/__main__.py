"""``python3 -m installer``: install, upgrade (run it again), ``--check`` or ``--uninstall``."""
import argparse
import os
import sys

from installer import install, locations


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m installer", description="Set up Neural Style "
                                     "for GIMP: the engine, the VGG19 weights and the GIMP 3 plug-in.")
    parser.add_argument("--weights", help="use this VGG19 weights file instead of downloading it "
                        "(Keras .h5, or the compact .npz)")
    parser.add_argument("--plugin-dir", action="append", help="install into this GIMP plug-ins folder "
                        "instead of the ones found (may be given more than once)")
    parser.add_argument("--data-dir", help=f"where the engine goes (default {locations.data_dir()})")
    parser.add_argument("--backend", choices=install.BACKENDS, default="tensorflow",
                        help="the engine's Keras backend: tensorflow (default), jax (fastest on NVIDIA "
                        "GPUs under Linux) or torch (NVIDIA GPUs on Windows, Apple GPUs)")
    parser.add_argument("--check", action="store_true", help="diagnose an installation")
    parser.add_argument("--uninstall", action="store_true", help="remove everything the installer added")
    args = parser.parse_args(argv)

    data = os.path.abspath(args.data_dir or locations.data_dir())
    if args.plugin_dir:
        folders = [locations.GimpFolder(os.path.abspath(p), "custom", False) for p in args.plugin_dir]
    else:
        folders = locations.find_gimp_folders(installed_version=locations.installed_gimp_version())
    try:
        if args.uninstall:
            install.uninstall(data, folders)
            print("Neural Style for GIMP is uninstalled.")
        elif args.check:
            problems = install.check(data, folders)
            for problem in problems:
                print(f"PROBLEM: {problem}")
            print("Neural Style for GIMP is installed and works." if not problems else
                  "Neural Style for GIMP needs attention (see above).")
            return 1 if problems else 0
        else:
            if install.install(data, folders, args.weights, backend=args.backend):
                print("\nDone. Restart GIMP, select a layer and choose Filters > Artistic > "
                      "Neural Style Transfer...")
    except install.InstallError as error:
        print(f"Installation failed: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted; run the installer again to finish.", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
