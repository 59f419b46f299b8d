"""Test stand-in for torchvision (imported by the seed repositories, unused by their networks)."""
from . import utils  # noqa: F401
