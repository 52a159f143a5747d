"""Neural style transfer engine and its worker process (runs in the engine's own environment).

Kept empty of imports: the GIMP plug-in ships this file beside ``core/protocol.py`` and
imports the protocol through it.
"""

__version__ = "0.4.0"
