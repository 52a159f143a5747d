"""The plug-in's log: a rotating file in the engine's data folder (the installer names the
folder in the settings), so that an artist has something to send when a run fails. No ``gi``."""

from __future__ import annotations

import logging
import logging.handlers
import os

FILE_NAME = "plugin.log"
log = logging.getLogger("neural_style.plugin")


def start(folder: str | None) -> str | None:
    """Log to ``folder``/plugin.log (rotated at 1 MB, two older files kept); returns its path,
    or None when there is no folder or it cannot be written (the run goes on without a log)."""
    log.setLevel(logging.INFO)
    if not folder or log.handlers:
        return next((h.baseFilename for h in log.handlers if hasattr(h, "baseFilename")), None)
    path = os.path.join(folder, FILE_NAME)
    try:
        os.makedirs(folder, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=2, encoding="utf-8")
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s: %(message)s"))
    log.addHandler(handler)
    return path
