#!/usr/bin/env python3
"""Filters > Artistic > Neural Style Transfer...: repaint the selected layers in the style of another.

The procedure's arguments are the settings: they drive the dialog, are remembered between runs
and make the procedure scriptable. The work happens in the engine's worker process. Interactive
runs get a Preview in the settings dialog (``preview_panel``) and a progress window with the
painting as it grows and Stop and keep (``progress_window``); scripted runs report to GIMP's
progress bar only (``status_bar``). ``painting`` reads the layers and inserts the results.

When the engine is missing, broken or older than the plug-in, the filter first offers to install
it (``install_window``); ``python-fu-neural-style-install`` does the same for scripts.
"""

import os
import sys

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("GimpUi", "3.0")
from gi.repository import Gimp, GimpUi, GLib, GObject, Gtk  # noqa: E402

PLUGIN_DIR = os.path.dirname(os.path.abspath(__file__))
if PLUGIN_DIR not in sys.path:
    sys.path.insert(0, PLUGIN_DIR)

import engine_setup  # noqa: E402
import gimp_io  # noqa: E402
import job_settings  # noqa: E402
import jobs  # noqa: E402
import messages  # noqa: E402
import painting  # noqa: E402
import painting_again  # noqa: E402
import plugin_log  # noqa: E402
from install_window import InstallWindow  # noqa: E402
from job_settings import UserError  # noqa: E402
from preview_panel import PreviewPanel  # noqa: E402
from progress_window import ProgressWindow  # noqa: E402
from status_bar import StatusBar  # noqa: E402
from style_choice import show_choice  # noqa: E402
from worker_client import WorkerError  # noqa: E402

from installer.matrix import Unsupported  # noqa: E402
from installer.progress import Cancelled  # noqa: E402
from installer.settings import SettingsError  # noqa: E402
from installer.steps import InstallError  # noqa: E402

PROCEDURE = "python-fu-neural-style"
INSTALL_PROCEDURE = "python-fu-neural-style-install"
RW = GObject.ParamFlags.READWRITE


def add_arguments(procedure):
    procedure.add_layer_argument(
        "style-layer", "St_yle layer", "The picture whose style to paint with (any layer of any open image)", True, RW
    )
    for row in job_settings.EXTRA_STYLE_ROWS:
        procedure.add_layer_argument(
            job_settings.style_layer_setting(row),
            f"Style layer {row}",
            f"Another style, painted where 'Style {row} paints where' is white (optional)",
            True,
            RW,
        )
        procedure.add_channel_argument(
            job_settings.style_region_setting(row),
            f"Style {row} paints where",
            "A saved selection or a layer mask: white where this style paints (the first style layer paints the rest)",
            True,
            RW,
        )
    quality = Gimp.Choice.new()
    for index, (nick, label) in enumerate(job_settings.QUALITY.items()):
        quality.add(nick, index, label, "")
    procedure.add_choice_argument(
        "quality",
        "_Quality",
        "Finer looks take longer; each stops when the picture stops changing",
        quality,
        "standard",
        RW,
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


def fill_dialog(dialog, config, device, image) -> Gtk.Box:
    """Every setting, in a column as ``fill(None)`` lays them out, with what each style chooser
    holds named beside it and the rows of more styles (a style layer and its region side by side)
    in an expander below the first (open when one is in use), then what the engine computes on
    (found by the installer's self-check; the live worker says it again in the progress text).
    Returns the box beside the column, for the Preview: beside, not below, so that the dialog
    fits a laptop's screen."""
    names = [spec.name for spec in config.list_properties() if spec.owner_type != Gimp.ProcedureConfig.__gtype__]
    rows = job_settings.EXTRA_STYLE_ROWS
    extra = []
    for row in rows:
        pair = [job_settings.style_layer_setting(row), job_settings.style_region_setting(row)]
        pair_box = dialog.fill_box(f"style-row-{row}", pair)
        pair_box.set_orientation(Gtk.Orientation.HORIZONTAL)
        pair_box.set_spacing(12)
        extra += pair
    dialog.fill_box("more-styles-box", [f"style-row-{row}" for row in rows])
    dialog.get_label("more-styles-title", "More styles, each painting a region", False, False)
    expander = dialog.fill_expander("more-styles", "more-styles-title", False, "more-styles-box")
    expander.set_expanded(any(config.get_property(job_settings.style_layer_setting(row)) for row in rows))
    names = [name for name in names if name not in extra]
    names.insert(names.index("style-layer") + 1, "more-styles")
    if device:
        dialog.get_label("engine-device", f"Computes on: {device}", False, False)
        names.append("engine-device")
    column = dialog.fill_box("settings-column", names)
    dialog.fill(["settings-column"])
    area = dialog.get_content_area()
    area.remove(column)
    side_by_side, beside = Gtk.Box(spacing=12), Gtk.Box(orientation=Gtk.Orientation.VERTICAL)
    side_by_side.pack_start(column, True, True, 0)
    side_by_side.pack_start(beside, False, False, 0)
    area.pack_start(side_by_side, True, True, 0)
    area.reorder_child(side_by_side, 0)
    side_by_side.show_all()
    show_choice(dialog, config, image, "style-layer", "No style layer chosen yet")
    for row in rows:
        show_choice(dialog, config, image, job_settings.style_layer_setting(row), "none", 14)
        show_choice(dialog, config, image, job_settings.style_region_setting(row), "none", 14)
    return beside


def stylise(image, drawables, config, settings, interactive, worker=None) -> bool:
    """All the work; False when the artist cancelled. Raises ``UserError``, ``LayerError`` or
    ``WorkerError`` for failures the artist should see. ``worker``: one the dialog's Preview
    started, to reuse."""
    plan = painting.prepare(image, drawables, config)
    values = painting.settings_of(config)
    names = [job.name for job in plan.jobs]
    client = worker or engine_setup.worker_for(settings)
    Gimp.progress_init("Neural style transfer: starting the engine")

    def work(watch):
        if client.hello is None:
            client.start(on_starting=lambda stage: watch.on_stage(0, stage))
        where = f" {settings.way().where()}" if settings.way() else ""
        device = f"{client.hello.device}, {client.hello.backend}{where}"
        plugin_log.log.info("computes on %s", device)
        watch.started(device)
        return jobs.paint(client, plan, values, watch)

    try:
        if interactive:
            window = ProgressWindow(names, settings.device)
            painted, stopped = window.run(work)
            if window.cancelled or not painted:
                return False
            if stopped:
                plugin_log.log.info("stopped by the artist: keeping the pictures so far (%d)", len(painted))
        else:
            painted, _ = work(StatusBar(names, settings.device))
    finally:
        client.close()
    Gimp.progress_set_text("Neural style transfer: adding the new layers")
    painting.insert(image, plan, painted)
    Gimp.progress_end()
    return True


class NeuralStyle(Gimp.PlugIn):
    def do_query_procedures(self):
        return [PROCEDURE, INSTALL_PROCEDURE]

    def do_set_i18n(self, name):
        return False

    def do_create_procedure(self, name):
        if name == INSTALL_PROCEDURE:
            return self.create_install_procedure(name)
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

    def create_install_procedure(self, name):
        procedure = Gimp.Procedure.new(self, name, Gimp.PDBProcType.PLUGIN, self.run_install, None)
        procedure.set_documentation(
            "Install, update or repair the Neural Style engine",
            "Installs the engine that python-fu-neural-style paints with (a Python environment with "
            "its packages and the VGG19 weights) into the engine's data folder. Without a weights file "
            "it downloads them.",
            name,
        )
        procedure.set_attribution("Neural Style for GIMP", "Neural Style for GIMP", "2026")
        procedure.set_menu_label("Neural Style _Engine...")
        procedure.add_menu_path("<Image>/Filters/Artistic")
        procedure.set_sensitivity_mask(Gimp.ProcedureSensitivityMask.ALWAYS)
        procedure.add_enum_argument(
            "run-mode", "Run mode", "The run mode", Gimp.RunMode, Gimp.RunMode.NONINTERACTIVE, RW
        )
        procedure.add_string_argument(
            "weights-file", "_Weights file", "A VGG19 weights file to use instead of downloading it", "", RW
        )
        procedure.add_string_argument(
            "backend", "_Backend", "tensorflow, jax or torch; empty: the installer's choice for this machine", "", RW
        )
        return procedure

    def run_install(self, procedure, config, data):
        """Install, update or repair the engine: in the install window, or for scripts without
        windows, reporting to GIMP's progress bar."""
        if config.get_property("run-mode") == Gimp.RunMode.INTERACTIVE:
            GimpUi.init(INSTALL_PROCEDURE)
            state = engine_setup.engine_state(PLUGIN_DIR)
            if state.settings is not None:
                state = state._replace(
                    problem=f"The Neural Style engine is installed and works on {state.settings.device}; "
                    "Repair installs it again.",
                    action=engine_setup.REPAIR,
                )
            installed = InstallWindow(state, PLUGIN_DIR).run()
            return _cancelled(procedure) if installed is None else _success(procedure)
        Gimp.progress_init("Neural Style: installing the engine")
        try:
            choice = engine_setup.choose(config.get_property("backend"))
            engine_setup.install_engine(
                PLUGIN_DIR,
                choice,
                config.get_property("weights-file"),
                lambda progress: Gimp.progress_set_text(progress.step),
            )
        except (InstallError, Unsupported, SettingsError) as error:
            return _failure(procedure, f"Installation failed: {error}")
        except Cancelled:
            return _cancelled(procedure)
        Gimp.progress_end()
        return _success(procedure)

    def run(self, procedure, run_mode, image, drawables, config, data):
        interactive = run_mode == Gimp.RunMode.INTERACTIVE
        worker = None
        drawables = list(drawables)  # the dialog may swap a painting for the layer it was painted from
        if interactive:
            GimpUi.init(PROCEDURE)
            state = engine_setup.engine_state(PLUGIN_DIR)
            engine = state.settings or InstallWindow(state, PLUGIN_DIR).run()
            if engine is None:
                return _cancelled(procedure)
            plugin_log.start(engine.logs)  # from the dialog on: the Preview's pictures and failures too
            dialog = GimpUi.ProcedureDialog.new(procedure, config, "Neural Style Transfer")
            beside = fill_dialog(dialog, config, engine.device, image)
            panel = PreviewPanel(beside, image, drawables, config, PLUGIN_DIR)

            def paint_instead(source):
                drawables[:] = [source]
                panel.use_layers(drawables)

            painting_again.offer(dialog, image, drawables, config, paint_instead)
            accepted = dialog.run()
            worker = panel.finish(keep_worker=accepted)
            dialog.destroy()
            if not accepted:
                return _cancelled(procedure)
        log_file = None
        try:
            settings = engine_setup.ready_settings(PLUGIN_DIR)
            log_file = plugin_log.start(settings.logs)
            plugin_log.log.info(
                "run: GIMP %s, Python %s, %d layer(s)", Gimp.version(), sys.version.split()[0], len(drawables)
            )
            if not stylise(image, drawables, config, settings, interactive, worker):
                plugin_log.log.info("cancelled")
                return _cancelled(procedure)
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
        finally:
            if worker is not None:  # the Preview's, when the run failed before taking it over
                worker.close()
        plugin_log.log.info("done")
        return procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, GLib.Error())


def _success(procedure):
    return procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, GLib.Error())


def _cancelled(procedure):
    Gimp.progress_end()
    return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())


def _failure(procedure, message):
    Gimp.progress_end()
    return procedure.new_return_values(Gimp.PDBStatusType.EXECUTION_ERROR, GLib.Error(message))


if __name__ == "__main__":
    Gimp.main(NeuralStyle.__gtype__, sys.argv)
