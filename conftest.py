# The Greenlight pytest plugin (harness/pytest_plugin.py) is registered as a `pytest11` entry point in
# pyproject.toml, so it is loaded once, before the command line is parsed. Do not load it here as well.
