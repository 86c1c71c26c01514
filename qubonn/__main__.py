"""``python -m qubonn``: the same command line as ``qubonn``."""

from qubonn.cli import main

raise SystemExit(main())
