"""Sets up Neural Style for GIMP on an artist's machine. Standard library only, Python 3.10+."""
