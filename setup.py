"""kglfr is configured in pyproject.toml (PEP 621); this file only serves tools that still look for a setup.py."""
from setuptools import setup

setup()
