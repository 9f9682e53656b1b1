"""NEURON backend: mechanism loading, single-compartment HH cells, reduced models, networks."""
