"""Hierarchical fitting: Level 1 (single neurons), Level 2 (network vs behaviour), surrogates."""
