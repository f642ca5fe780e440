"""``python -m semtoken_rag.cli``: the ``semtoken-rag`` command."""

from . import main

raise SystemExit(main())
