"""Crisis Hub: a multi-stakeholder cyber crisis information-sharing hub."""

__version__ = "0.1.0"
