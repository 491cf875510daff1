"""Fragile on purpose: takes the first refusal or dropped connection as the end (no retries), so
it exits 1 where the reference client would retry and succeed. No rule catches it: only server
behaviour does. ``vidmock check --explore 10 --seed 1 -- python gives_up.py`` finds it and shrinks
the failure to one refusal of the submit, ``{"submit": [429]}``."""

import asyncio
import sys

from reference_client import Client, main


class GivesUp(Client):
    max_attempts = 1  # the bug: a 429 or a 5xx is not worth a second try


if __name__ == "__main__":
    sys.exit(asyncio.run(main(GivesUp)))
