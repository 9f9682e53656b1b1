"""torch surrogates: forward ensembles, surrogate-assisted search, inverse estimation."""
