"""The world the body lives in: media (resistive-force drag), fields, arenas, sensors."""

from env.arena import Arena, Obstacle
from env.errors import (
    EnvInputError,
    InvalidArenaError,
    InvalidFieldError,
    InvalidMediumError,
    UnknownMediumError,
)
from env.fields import (
    DiffusingField,
    Field,
    FoodPatch,
    GaussianSource,
    LinearGradient,
    TemperatureGradient,
)
from env.gym_env import WormEnv
from env.medium import Medium
from env.world import Observation, Recording, World

__all__ = [
    "Arena", "DiffusingField", "EnvInputError", "Field", "FoodPatch", "GaussianSource",
    "InvalidArenaError", "InvalidFieldError", "InvalidMediumError", "LinearGradient", "Medium",
    "Observation", "Obstacle", "Recording", "TemperatureGradient", "UnknownMediumError", "World",
    "WormEnv",
]
