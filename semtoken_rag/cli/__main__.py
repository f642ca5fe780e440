"""``python -m semtoken_rag.cli``: the ``semtoken-rag`` command."""

from . import main

if __name__ == "__main__":
    raise SystemExit(main())
