"""Neural style transfer engine and its worker process (runs in the engine's own environment).

TensorFlow's C++ start-up chatter is silenced unless the user asked for it; this module is
otherwise empty because the GIMP side imports ``core.protocol`` through it.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
__version__ = "0.1.0"
