"""sessionwatch: detective controls for session-timeout policy in an Elastic stack."""

__version__ = "0.1.0"
__all__ = ["__version__"]
