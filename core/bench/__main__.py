"""``python -m core.bench``: speed and memory of the engine against baselines, in one run; JSON out.

By default:

* seconds per evaluation, the engine (in float32 and at its default precision) against the Keras
  tutorial's way (``core.bench.speed``);
* the loss the tutorial's way reaches in ``--evaluations`` evaluations, and the seconds the engine
  needs to reach it, one scale and coarse to fine;
* peak memory by image size, each size in a fresh process (``core.bench.memory``);
* the protocol alone: a 4000x3000 RGBA picture to a child process and back through pipes;
* the worker's start-up time until its hello.

``--quick`` measures only the last two. Per backend and precision (``core.bench.backends``):
``--precisions`` (float32 against bfloat16 here), ``--gpu`` (the GPU figures), ``--pastiche`` (end to
end against pastiche, where it is installed), ``--startup`` (a job's start-up step by step);
``--backend`` picks the Keras backend; ``--full-resolution`` the peak memory of a 4000x3000 job
(``--full-size``); ``--live`` what an artist waits for in GIMP (``core.bench.live``: OK to the
first preview at ``--side``, the dialog's Preview, what previews cost, the longest silence of a
``--full-size`` job within ``--memory-budget``). ``--quality`` what each quality preset buys
(``core.bench.quality``: the bundled pairs painted with each of ``--presets`` as it stops now and
with its fixed counts of before, and by pastiche in the same time, scored by one yardstick;
pictures and a contact sheet in ``--out``; with ``--strengths``, Standard at each Style strength).
``--regions`` what styles placed by masks cost per evaluation (``core.bench.regions``).
``--transport HOST`` what the way to an engine on HOST costs: a picture through a pipe, ssh and
ssh -C, and zlib and PNG for slower links (``core.bench.transport``; ``--ssh-command``).
``--random-weights`` tries any mode out without the real weights.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from core.bench import backends, live, memory, plumbing, quality, regions, speed, transport
from core.bench.common import machine, parse_size
from core.keras_setup import BACKENDS, import_keras


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m core.bench", description=__doc__.splitlines()[0])
    p.add_argument("--weights", help="VGG19 weights (default: NEURAL_STYLE_WEIGHTS or the Keras cache)")
    p.add_argument(
        "--random-weights",
        action="store_true",
        help="an untrained network: tries the benchmark "
        "out (its figures time the same arithmetic, its pictures mean nothing)",
    )
    p.add_argument("--size", default="512x384", help="WIDTHxHEIGHT of the speed runs")
    p.add_argument("--evaluations", type=int, default=100, help="the tutorial baseline's budget")
    p.add_argument(
        "--memory-sizes", default="512x384,1024x768,2048x1536", help="WIDTHxHEIGHT,... of the peak-memory runs"
    )
    p.add_argument("--quick", action="store_true", help="only the protocol and start-up figures")
    p.add_argument("--backend", choices=BACKENDS, help="Keras backend (default: KERAS_BACKEND, else the one installed)")
    p.add_argument("--precisions", action="store_true", help="float32 against bfloat16 at --side")
    p.add_argument("--gpu", action="store_true", help="the GPU figures (per evaluation, --iterations at --side)")
    p.add_argument("--pastiche", action="store_true", help="end to end against pastiche (needs it installed)")
    p.add_argument("--startup", action="store_true", help="where a job's start-up goes, step by step")
    p.add_argument(
        "--side",
        type=int,
        default=512,
        help="square side of --precisions, --gpu, --pastiche, --startup; long side of --live",
    )
    p.add_argument(
        "--iterations", type=int, help="iterations of --precisions (default 100), --gpu and --pastiche (default 500)"
    )
    p.add_argument("--out", help="folder for the pictures the runs make")
    p.add_argument(
        "--full-resolution",
        action="store_true",
        help="peak memory of a --full-size job (a few evaluations) within --memory-budget",
    )
    p.add_argument("--full-size", default="4000x3000", help="WIDTHxHEIGHT of --full-resolution")
    p.add_argument(
        "--memory-budget",
        type=float,
        default=0.0,
        help="GB (default: the engine's, three quarters of this machine's memory)",
    )
    p.add_argument("--live", action="store_true", help="previews and silences through a real worker (--side)")
    p.add_argument(
        "--silence-seconds", type=float, default=360.0, help="--live cancels its --full-size job after this long"
    )
    p.add_argument("--quality", action="store_true", help="seconds and looks of each quality preset (--side)")
    p.add_argument("--presets", default="draft,standard,fine", help="the presets --quality paints")
    p.add_argument("--no-pastiche", action="store_true", help="--quality without pastiche")
    p.add_argument(
        "--strengths",
        help="--quality paints Standard at these Style strengths (e.g. 0.5,1,2,4) instead of comparing presets",
    )
    p.add_argument("--regions", action="store_true", help="seconds per evaluation with style regions (--size)")
    p.add_argument("--transport", metavar="HOST", help="a picture's round trip to HOST by ssh (--full-size)")
    p.add_argument("--ssh-command", default="", help='with --transport: the ssh command line ("ssh -p 2222")')
    p.add_argument("--memory-job", metavar="WIDTHxHEIGHT", help=argparse.SUPPRESS)  # in a child process
    p.add_argument("--startup-only", action="store_true", help=argparse.SUPPRESS)  # in a child process
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    started = time.perf_counter()
    import_keras(args.backend)
    import_seconds = time.perf_counter() - started
    from core.weights import resolve_weights

    weights = None if args.random_weights else resolve_weights(args.weights, download=False)
    if args.startup_only:
        print(json.dumps(backends.startup_steps_here(weights, (args.side, args.side), import_seconds)))
    elif args.memory_job:
        print(json.dumps(memory.memory_job_here(weights, parse_size(args.memory_job), args.memory_budget)))
    elif args.quality:
        out = args.out or os.path.join("out", "quality")
        if args.strengths:
            strengths = tuple(float(v) for v in args.strengths.split(","))
            report = quality.strength_figures(weights, out, args.side, strengths)
        else:
            report = quality.quality_figures(
                weights, out, args.side, tuple(args.presets.split(",")), not args.no_pastiche
            )
        print(json.dumps({"machine": machine(), "quality": report}, indent=2))
    elif args.transport:
        report = transport.transport_figures(args.transport, args.ssh_command, parse_size(args.full_size))
        print(json.dumps({"machine": machine(), "transport": report}, indent=2))
    elif args.regions:
        print(
            json.dumps(
                {"machine": machine(), "regions": regions.region_figures(weights, parse_size(args.size))}, indent=2
            )
        )
    elif args.live:
        budget = args.memory_budget or 8.0
        full = parse_size(args.full_size)
        report = live.live_figures(weights, args.side, full, budget, args.silence_seconds)
        print(json.dumps({"machine": machine(), "live": report}, indent=2))
    elif args.full_resolution:
        report = memory.peak_memory(weights, [args.full_size], args.memory_budget)[0]
        print(json.dumps({"machine": machine(), "full_resolution": report}, indent=2))
    elif args.precisions or args.gpu or args.pastiche or args.startup:
        print(json.dumps(dict(machine=machine(), **_backend_figures(weights, args)), indent=2))
    else:
        report = {
            "machine": machine(),
            "protocol_round_trip_4000x3000_rgba_seconds": plumbing.protocol_round_trip(),
            "worker_start_to_hello_seconds": plumbing.worker_start(weights),
        }
        if not args.quick:
            report.update(speed.speed_figures(weights, parse_size(args.size), args.evaluations))
            report["memory"] = memory.peak_memory(weights, args.memory_sizes.split(","), args.memory_budget)
        print(json.dumps(report, indent=2))
    return 0


def _backend_figures(weights, args):
    report = {}
    # These two first, while this process holds no GPU memory the programs they start need.
    if args.startup:
        report["startup"] = backends.startup_figures(weights, args.side)
    if args.pastiche:
        report["pastiche"] = backends.pastiche_comparison(weights, args.out or ".", args.iterations or 500, args.side)
    if args.precisions:
        report["precisions"] = backends.precision_figures(weights, args.side, args.iterations or 100, args.out)
    if args.gpu:
        report["gpu"] = backends.gpu_figures(weights, args.side, args.iterations or 500, args.out)
    return report


if __name__ == "__main__":
    sys.exit(main())
