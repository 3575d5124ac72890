"""The simulated lab. Importing the package is free: the CLI reads SCENARIOS from here."""

SCENARIOS = ("seed", "large", "hostile")
