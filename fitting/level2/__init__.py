"""Level 2: connectome weights fitted against closed-loop behaviour."""
