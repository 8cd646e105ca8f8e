"""``python -m imgclf ...`` is the ``imgclf`` command."""

from .cli import main

main()
