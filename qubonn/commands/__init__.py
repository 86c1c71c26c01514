"""Sub-commands of the ``qubonn`` command line; each module offers ``add_parser`` and ``func``."""
