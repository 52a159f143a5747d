import sys

try:
    from core.cli import main

    code = main()
except KeyboardInterrupt:  # Ctrl-C before the run could stop gracefully (while the libraries load)
    print("python -m core: interrupted while starting; nothing was written", file=sys.stderr)
    code = 130
sys.exit(code)
