"""virtmodel: performance models of virtualized systems, derived, predicted and simulated."""
__version__ = "0.1.0"
