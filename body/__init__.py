"""The physical worm body (PyBullet): segments, 95 body-wall muscles, proprioception."""

from body.errors import BodyInputError, BodyInstabilityError, InvalidActivationError
from body.geometry import MUSCLES, N_MUSCLES
from body.patterns import travelling_wave
from body.sensors import BodySensors
from body.worm import SENSOR_NAMES, Kinematics, Worm, default_parameters, validate_activations

__all__ = [
    "MUSCLES", "N_MUSCLES", "SENSOR_NAMES", "BodyInputError", "BodyInstabilityError",
    "BodySensors", "InvalidActivationError", "Kinematics", "Worm", "default_parameters",
    "travelling_wave", "validate_activations",
]
