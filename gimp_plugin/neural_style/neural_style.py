#!/usr/bin/env python3
"""Filters > Artistic > Neural Style Transfer...: repaint the selected layers in the style of another.

The procedure's arguments are the settings: they drive the dialog, are remembered between runs
and make the procedure scriptable. The work happens in the engine's worker process; this file
reads layers, passes progress to GIMP's progress bar and inserts the results, all in one undo
step, only once every layer is done, so a failure or a cancel leaves the image as it was.
"""

import os
import sys
import time

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("GimpUi", "3.0")
from gi.repository import Gimp, GimpUi, GLib, GObject  # noqa: E402

PLUGIN_DIR = os.path.dirname(os.path.abspath(__file__))
if PLUGIN_DIR not in sys.path:
    sys.path.insert(0, PLUGIN_DIR)

import gimp_io  # noqa: E402
import messages  # noqa: E402
import plugin_log  # noqa: E402
from settings import SettingsError, load_settings  # noqa: E402
from worker_client import WorkerClient, WorkerError  # noqa: E402

PROCEDURE = "python-fu-neural-style"
# (label, iterations at the working size; the smaller scale gets a quarter as many); the times
# are for a 512x384 result on a 2-core CPU (bfloat16).
QUALITY = {
    "draft": ("Draft (about 1 minute)", 40),
    "standard": ("Standard (about 3 minutes)", 120),
    "fine": ("Fine (about 6 minutes)", 250),
    "custom": ("Custom: use Iterations below", None),
}
RW = GObject.ParamFlags.READWRITE


class UserError(Exception):
    """Something the artist can fix; the text says what."""


def add_arguments(procedure):
    procedure.add_layer_argument(
        "style-layer", "St_yle layer", "The picture whose style to paint with (any layer of any open image)", True, RW
    )
    quality = Gimp.Choice.new()
    for index, (nick, (label, _)) in enumerate(QUALITY.items()):
        quality.add(nick, index, label, "")
    procedure.add_choice_argument(
        "quality", "_Quality", "More iterations look finer and take longer", quality, "standard", RW
    )
    procedure.add_int_argument(
        "iterations", "_Iterations", "Iterations at the working size, with Custom quality", 1, 5000, 120, RW
    )
    procedure.add_double_argument(
        "style-strength", "Style s_trength", "How strongly the style is painted (1 = balanced)", 0.0, 20.0, 1.0, RW
    )
    procedure.add_double_argument(
        "content-keep", "_Keep original", "How much of the original picture to keep (1 = balanced)", 0.0, 20.0, 1.0, RW
    )
    procedure.add_double_argument(
        "smoothness", "S_moothness", "Smooths away fine noise (1 = default)", 0.0, 100.0, 1.0, RW
    )
    procedure.add_boolean_argument(
        "keep-colors",
        "Keep original colo_urs",
        "Paint only the style's brush strokes and light, not its colours",
        False,
        RW,
    )
    procedure.add_double_argument(
        "stroke-size",
        "_Brush-stroke size",
        "Size of the style's patterns relative to the picture (1 = as in the style image)",
        0.1,
        4.0,
        1.0,
        RW,
    )
    procedure.add_int_argument(
        "working-size",
        "_Working size",
        "Long side in pixels at which the style "
        "is painted; the result is scaled to the layer. 0 = the layer's own size "
        "(slow for big layers)",
        0,
        8192,
        512,
        RW,
    )
    procedure.add_int_argument("seed", "S_eed", "Random seed, for repeatable results", 0, 2**31 - 1, 0, RW)


def fill_dialog(dialog, config):
    """Every setting, as ``fill(None)`` lays them out, then what the engine computes on (found by
    the installer's self-check; the live worker says it again in the progress text)."""
    names = [spec.name for spec in config.list_properties() if spec.owner_type != Gimp.ProcedureConfig.__gtype__]
    try:
        device = load_settings(PLUGIN_DIR).engine_device
    except SettingsError:
        device = ""  # running will say what is wrong
    if device:
        dialog.get_label("engine-device", f"Computes on: {device}", False, False)
        names.append("engine-device")
    dialog.fill(names)


def painted_size(config, area_long_side: int) -> int:
    """The long side the engine paints at: the working size, never above the layer's own."""
    working = config.get_property("working-size")
    return min(working, area_long_side) if working else area_long_side


def engine_params(config, defaults: dict, area_long_side: int) -> dict:
    """The engine's settings from the dialog's, scaling the engine's own defaults."""
    iterations = QUALITY[config.get_property("quality")][1] or config.get_property("iterations")
    return {
        "size": painted_size(config, area_long_side),
        "iterations": iterations,
        "style_weight": defaults["style_weight"] * config.get_property("style-strength"),
        "content_weight": defaults["content_weight"] * config.get_property("content-keep"),
        "tv_weight": defaults["tv_weight"] * config.get_property("smoothness"),
        "preserve_colors": bool(config.get_property("keep-colors")),
        "style_scale": config.get_property("stroke-size"),
        "seed": config.get_property("seed"),
        "init": "content",
    }


def check_sizes(config, drawables, areas, masked, style_layer, style):
    """Refuse, before the engine starts, what it could not paint: too small a layer, selection
    or style layer, or a working size that would leave a side too short."""
    for layer, (_, _, width, height) in zip(drawables, areas):
        what = f"The selection on layer '{layer.get_name()}'" if masked else f"Layer '{layer.get_name()}'"
        problem = messages.too_small(what, width, height) or messages.too_small_at(
            layer.get_name(), width, height, painted_size(config, max(width, height))
        )
        if problem:
            raise UserError(problem)
    problem = messages.too_small(f"The style layer '{style_layer.get_name()}'", style.width, style.height)
    if problem:
        raise UserError(problem)


def stylise(image, drawables, config, settings):
    """All the work; raises ``UserError`` or ``WorkerError`` for failures the artist should see."""
    if not drawables:
        raise UserError("Select one or more layers to repaint")
    if image.get_base_type() == Gimp.ImageBaseType.INDEXED:
        raise UserError("Indexed-colour images cannot be repainted: convert the image with Image > Mode > RGB")
    for drawable in drawables:
        gimp_io.check_source(drawable)
    style_layer = config.get_property("style-layer")
    if style_layer is None or not style_layer.is_valid():
        raise UserError("Choose a style layer: the picture whose style to paint with")
    style = gimp_io.read_pixels(style_layer)
    if gimp_io.is_transparent(style):
        raise UserError(f"The style layer '{style_layer.get_name()}' is empty (fully transparent)")
    masked = not Gimp.Selection.is_empty(image)
    areas = [gimp_io.source_area(image, layer) for layer in drawables]
    check_sizes(config, drawables, areas, masked, style_layer, style)

    Gimp.progress_init("Neural style transfer: starting the engine")
    results = []
    with WorkerClient(settings.worker_command, settings.worker_cwd) as worker:
        device = f"{worker.hello['device']}, {worker.hello['backend']}"
        for index, (layer, area) in enumerate(zip(drawables, areas)):
            params = engine_params(config, worker.hello["defaults"], max(area[2:]))
            progress = _progress_reporter(index, len(drawables), layer.get_name(), device)
            try:
                result = worker.run_job(params, gimp_io.read_pixels(layer, area), [style], on_progress=progress)
            except WorkerError as error:
                error.message = messages.explain(error.code, error.message, layer.get_name())
                raise
            results.append((layer, area, result.pixels))
    Gimp.progress_set_text("Neural style transfer: adding the new layers")

    style_name = _style_name(style_layer, image)
    inserted = []
    image.undo_group_start()
    try:
        for layer, area, pixels in results:
            name = f"{layer.get_name()} in the style of {style_name}"
            inserted.append(gimp_io.insert_result(image, layer, area, pixels, name, masked))
    except Exception:
        for layer in inserted:
            image.remove_layer(layer)
        raise
    finally:
        image.undo_group_end()
    Gimp.progress_end()
    Gimp.displays_flush()


def _style_name(style_layer, image):
    """The style layer's name, or its image's name when it comes from another image."""
    style_image = style_layer.get_image()
    file = style_image.get_file() or style_image.get_imported_file()
    if style_image.get_id() != image.get_id() and file is not None:
        return file.get_basename()
    return style_layer.get_name()


def _progress_reporter(index, count, name, device):
    """Progress bar updates, and a text saying how far, how long, and what the engine runs on."""
    last = [0.0]

    def report(message):
        now = time.monotonic()
        done = message["iteration"] / max(1, message["total"])
        Gimp.progress_update((index + done) / count)
        if now - last[0] > 0.5:
            last[0] = now
            left = message.get("seconds_left")
            eta = f", about {_duration(left)} left" if left is not None else ""
            Gimp.progress_set_text(
                f"Neural style: '{name}' ({index + 1}/{count}), "
                f"iteration {message['iteration']}/{message['total']}{eta} ({device})"
            )

    return report


def _duration(seconds):
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{max(1, round(seconds))} s"


class NeuralStyle(Gimp.PlugIn):
    def do_query_procedures(self):
        return [PROCEDURE]

    def do_set_i18n(self, name):
        return False

    def do_create_procedure(self, name):
        procedure = Gimp.ImageProcedure.new(self, name, Gimp.PDBProcType.PLUGIN, self.run, None)
        procedure.set_image_types("RGB*, GRAY*")
        procedure.set_sensitivity_mask(Gimp.ProcedureSensitivityMask.DRAWABLE | Gimp.ProcedureSensitivityMask.DRAWABLES)
        procedure.set_menu_label("_Neural Style Transfer...")
        procedure.add_menu_path("<Image>/Filters/Artistic")
        procedure.set_documentation(
            "Repaint layers in the style of another layer",
            "Repaints each selected layer (or the selection on it) in the style "
            "of the chosen style layer, by neural style transfer (Gatys et al. "
            "2015), and adds the result as a new layer above it.",
            name,
        )
        procedure.set_attribution("Neural Style for GIMP", "Neural Style for GIMP", "2026")
        add_arguments(procedure)
        return procedure

    def run(self, procedure, run_mode, image, drawables, config, data):
        if run_mode == Gimp.RunMode.INTERACTIVE:
            GimpUi.init(PROCEDURE)
            dialog = GimpUi.ProcedureDialog.new(procedure, config, "Neural Style Transfer")
            fill_dialog(dialog, config)
            accepted = dialog.run()
            dialog.destroy()
            if not accepted:
                return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())
        log_file = None
        try:
            settings = load_settings(PLUGIN_DIR)
            log_file = plugin_log.start(settings.log_folder)
            plugin_log.log.info(
                "run: GIMP %s, Python %s, %d layer(s)", Gimp.version(), sys.version.split()[0], len(drawables)
            )
            stylise(image, list(drawables), config, settings)
        except (UserError, SettingsError, gimp_io.LayerError) as error:
            plugin_log.log.info("refused: %s", error)
            return _failure(procedure, str(error))
        except WorkerError as error:
            plugin_log.log.error("the engine failed (%s): %s\nworker log:\n%s", error.code, error, error.log_tail)
            print(f"neural-style: worker log:\n{error.log_tail}", file=sys.stderr)
            return _failure(procedure, messages.with_log(messages.explain(error.code, error.user_text()), log_file))
        except Exception as error:  # never a traceback in the artist's face
            plugin_log.log.exception("unexpected failure")
            import traceback

            traceback.print_exc()
            return _failure(
                procedure,
                messages.with_log(f"Neural Style failed unexpectedly ({type(error).__name__}: {error}).", log_file),
            )
        plugin_log.log.info("done")
        return procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, GLib.Error())


def _failure(procedure, message):
    Gimp.progress_end()
    return procedure.new_return_values(Gimp.PDBStatusType.EXECUTION_ERROR, GLib.Error(message))


if __name__ == "__main__":
    Gimp.main(NeuralStyle.__gtype__, sys.argv)
