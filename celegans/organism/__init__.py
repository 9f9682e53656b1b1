"""The closed-loop organism: connectome network + PyBullet body + environment on one clock."""

from celegans.organism.config import OrganismConfig, load_config
from celegans.organism.errors import ClockMismatchError, OrganismError, SimulationBlowUp
from celegans.organism.loop import Organism
from celegans.organism.perturb import ConnectionScale, Perturbation
from celegans.organism.simulate import SimulationResult, simulate

__all__ = ["ClockMismatchError", "ConnectionScale", "Organism", "OrganismConfig",
           "OrganismError", "Perturbation", "SimulationBlowUp", "SimulationResult",
           "load_config", "simulate"]
