"""``python -m mockserver`` is ``vidmock``."""

from mockserver.cli import main

main()
