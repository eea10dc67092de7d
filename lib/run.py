"""The book's command line: ``python -m lib.run [chapter[/notebook] ...] [-p key=value] [--profile NAME]``.
The runner itself is ``lib.book.run``."""
import sys

from lib.book.run import main

if __name__ == "__main__":
    sys.exit(main())
