"""The benchmark (``python -m core.bench``): the engine's speed and memory, measured against a
baseline in the same run. A package of its own, for developers: the installer leaves it out of
the engine it installs, and nothing outside it imports it.

It measures the engine only through the engine's own entry points and hooks (``run`` with its
``on_progress``, ``on_evaluation`` and ``should_stop``, ``objective``), never by replacing them.
"""
