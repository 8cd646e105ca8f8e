"""``python -m imgclf.leaderboard`` keeps working: the same as ``imgclf leaderboard``."""

import sys

from .cli import main

if __name__ == "__main__":
    main(["leaderboard", *sys.argv[1:]])
