"""The world the body lives in: media (resistive-force drag), fields, arenas, sensors."""
