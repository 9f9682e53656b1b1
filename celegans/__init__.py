"""celegans: multiscale C. elegans simulation (neurons, network, organism loop, CLI)."""

__version__ = "0.1.0"
