"""The command line for people: ``python -m core CONTENT STYLE [STYLE ...] -o OUT.png``.

Bad input ends with one line on stderr and exit code 2; Ctrl-C stops early and still saves the
best image so far (nothing, when nothing was painted yet). The artist's pictures are never
written to.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import signal
import sys
import threading

from core.keras_setup import BACKENDS
from core.params import INITS, OPTIMIZERS, PRECISIONS, ParamError, StyleParams
from core.presets import PRESETS

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def _floats(text):
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None


def _names(text):
    return tuple(v.strip() for v in text.split(",") if v.strip())


def build_parser() -> argparse.ArgumentParser:
    d = StyleParams()
    p = _Parser(
        prog="python -m core",
        description="Repaint CONTENT in the style of one or more STYLE images (Gatys et al. 2015).",
    )
    p.add_argument("content", help="the picture to repaint")
    p.add_argument("styles", nargs="+", metavar="style", help="one or more style pictures")
    p.add_argument("-o", "--output", required=True, help="where to write the result (.png keeps transparency)")
    p.add_argument(
        "--size", type=int, help=f"long side of the result in pixels, 0 for the picture's own (default {d.size})"
    )
    p.add_argument(
        "--quality",
        choices=PRESETS,
        help="draft, standard (the default) or fine: each size stops when its picture stops changing "
        "(see core/presets.py)",
    )
    p.add_argument("--iterations", type=int, help="exact L-BFGS iterations at the full size, instead of --quality")
    p.add_argument(
        "--coarse-iterations",
        type=int,
        help="exact L-BFGS iterations at each smaller scale (default: a quarter of --iterations)",
    )
    p.add_argument(
        "--content-weight", type=float, help=f"how much of the picture to keep (default {d.content_weight:g})"
    )
    p.add_argument("--style-weight", type=float, help=f"style strength (default {d.style_weight:g})")
    p.add_argument("--tv-weight", type=float, help=f"smoothness (default {d.tv_weight:g})")
    p.add_argument(
        "--style-scale",
        type=float,
        help=f"brush-stroke size: style long side relative to the result's (default {d.style_scale:g})",
    )
    p.add_argument("--style-blend", type=_floats, help="weights of the style images, e.g. 0.7,0.3")
    p.add_argument(
        "--style-masks",
        metavar="M1,M2,...",
        type=lambda text: tuple(v.strip() for v in text.split(",")),
        help="where each style paints: one greyscale picture per style, in the styles' order, the "
        "content's size (white: paints here); leave one empty (e.g. ,sky.png) for the style that "
        "paints the rest; where no mask covers, the first style paints",
    )
    p.add_argument(
        "--preserve-colors",
        action="store_true",
        default=None,
        help="keep the picture's own colours, transfer only brightness patterns",
    )
    p.add_argument("--pyramid-levels", type=int, help=f"coarse-to-fine scales (default {d.pyramid_levels})")
    p.add_argument("--init", choices=INITS, help=f"start image (default {d.init})")
    p.add_argument("--seed", type=int, help=f"random seed for noise start (default {d.seed})")
    p.add_argument(
        "--content-layers", type=_names, help=f"VGG19 layers, comma-separated (default {','.join(d.content_layers)})"
    )
    p.add_argument("--style-layers", type=_names, help=f"(default {','.join(d.style_layers)})")
    p.add_argument("--style-layer-weights", type=_floats, help="one weight per style layer")
    p.add_argument(
        "--tutorial-loss", action="store_true", help="use the Keras tutorial's loss formula and weights (one scale)"
    )
    p.add_argument("--seed-compatible", action="store_true", help=argparse.SUPPRESS)  # its old name
    p.add_argument(
        "--precision",
        choices=PRECISIONS,
        help="network arithmetic; auto = bfloat16 where "
        f"the processor or GPU is faster with it (default {d.precision})",
    )
    p.add_argument(
        "--optimizer",
        choices=OPTIMIZERS,
        help="lbfgs-b (scipy), lbfgs-float32 (half the memory "
        f"per step, for huge pictures) or device (L-BFGS on the GPU, JAX backend); default "
        f"{d.optimizer}: device on a GPU where possible, lbfgs-float32 where memory is short",
    )
    p.add_argument(
        "--memory-budget",
        type=float,
        help="GB the job may use; larger pictures are computed "
        "in tiles to stay within it (default: three quarters of this machine's memory)",
    )
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        help="Keras backend (default: KERAS_BACKEND, else the one installed; tensorflow first)",
    )
    p.add_argument("--weights", help="VGG19 weights file (default: NEURAL_STYLE_WEIGHTS or the Keras cache)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def params_from_args(args) -> StyleParams:
    if args.quality and (args.iterations or args.coarse_iterations):
        raise ParamError("--quality and exact iteration counts (--iterations, --coarse-iterations) exclude each other")
    if not (args.quality or args.iterations or args.coarse_iterations or args.tutorial_loss):
        args.quality = "standard"
    names = (
        "size",
        "quality",
        "iterations",
        "coarse_iterations",
        "content_weight",
        "style_weight",
        "tv_weight",
        "style_scale",
        "style_blend",
        "preserve_colors",
        "pyramid_levels",
        "init",
        "seed",
        "content_layers",
        "style_layers",
        "style_layer_weights",
        "precision",
        "optimizer",
        "memory_budget",
    )
    given = {n: getattr(args, n) for n in names if getattr(args, n) is not None}
    return StyleParams.tutorial(**given) if args.tutorial_loss else StyleParams.from_dict(given)


def in_flag_words(message: str) -> str:
    """A setting's error as the command line's flag names it: "content_weight must be ..." ->
    "--content-weight must be ..."."""
    return re.sub(r"^([a-z]+(?:_[a-z]+)*)(?= must| has)", lambda m: "--" + m.group(1).replace("_", "-"), message)


def main(argv=None) -> int:
    """The command line; a Ctrl-C before the run can stop gracefully raises ``KeyboardInterrupt``
    (``python -m core`` says so in one line)."""
    args = build_parser().parse_args(argv)
    if args.seed_compatible:
        print("python -m core: --seed-compatible is now called --tutorial-loss", file=sys.stderr)
        args.tutorial_loss = True
    from core import images
    from core.weights import WeightsError

    try:
        full_size = args.size == 0  # the picture's own size, as GIMP's working size 0
        if full_size:
            args.size = None
        params = params_from_args(args)
        images.check_writable(args.output, [args.content, *args.styles, *filter(None, args.style_masks or ())])
        content = images.load_image(args.content)
        if full_size:
            params = params.replace(size=max(content.shape[:2]))
        styles = [images.load_image(path) for path in args.styles]
        pictures = [args.content, *args.styles]
        profiles = list(map(images.profile_note, pictures))  # the content's says to tag the result sRGB
        for note in filter(None, [*map(images.animation_note, pictures), *profiles]):
            print(f"python -m core: {note}", file=sys.stderr)
        images.check_inputs(content, styles, params)
        style_masks = _style_masks(args.style_masks, len(styles), content.shape[:2])
        result = _stylise(content, styles, params, args, style_masks)
        if result.cancelled and not result.iterations:
            print("python -m core: stopped before anything was painted; nothing was written", file=sys.stderr)
            return 130
        images.save_image(result.pixels, args.output, srgb_tag=profiles[0] is not None)
    except ParamError as error:
        print(f"python -m core: error: {in_flag_words(str(error))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (images.ImageError, WeightsError) as error:
        print(f"python -m core: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if result.cancelled:
        print(f"stopped early; saved the best image so far to {args.output}", file=sys.stderr)
        return 130
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


@contextlib.contextmanager
def _interrupts_after():
    """Ctrl-C while Keras and its backend import is taken once they have: an import cut short
    can leave TensorFlow's threads keeping the process alive at exit."""
    caught = []
    previous = signal.signal(signal.SIGINT, lambda *_: caught.append(True))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def _style_masks(paths, n_styles, shape):
    """The ``--style-masks`` pictures as masks (None for an empty name), checked; None without them."""
    from core import images, regions

    if paths is None:
        return None
    masks = [regions.mask_of(images.load_image(path)) if path else None for path in paths]
    regions.check_masks(masks, n_styles, shape)
    return masks


def _stylise(content, styles, params, args, style_masks=None):
    """Load the network and run, with a progress bar and Ctrl-C as a graceful stop."""
    from tqdm import tqdm

    from core.keras_setup import import_keras

    with _interrupts_after():
        import_keras(args.backend)
    from core import speed
    from core.engine import StyleTransfer
    from core.vgg import VGG19Features
    from core.weights import resolve_weights

    network = VGG19Features(resolve_weights(args.weights))
    engine = StyleTransfer(network)
    job = engine.plan(content, styles, params, style_masks)
    print(f"python -m core: {job.summary()}; {speed.foretell(job, params).text()}", file=sys.stderr)
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    bar = tqdm(total=1, unit="it", disable=args.quiet, file=sys.stderr, dynamic_ncols=True)

    def on_progress(report):
        bar.total = report.total
        bar.n = report.iteration
        bar.set_postfix_str(f"scale {report.level}/{report.levels}, loss {report.losses['total']:.4g}", refresh=False)
        bar.refresh()

    try:
        result = engine.run(content, styles, params, on_progress, stop.is_set, style_masks=style_masks)
        speed.remember(result.job.speed_kind(), result.timings)
        return result
    finally:
        bar.close()
        signal.signal(signal.SIGINT, previous)
