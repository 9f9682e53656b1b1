"""The physical worm body (PyBullet): segments, 95 body-wall muscles, proprioception."""
