"""rwe: a real-world-evidence pipeline for multiple myeloma (ixazomib combinations)."""

__version__ = "0.1.0"
