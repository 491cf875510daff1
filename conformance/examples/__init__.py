"""Example clients of the mocked API, one well-behaved and several with one bug each: runnable
from an installed vidmock as ``python -m conformance.examples.<name>`` (docs/conformance.md)."""
