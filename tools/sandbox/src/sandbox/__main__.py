"""``python -m sandbox up|down|status|reset``."""

from sandbox.cli import main

raise SystemExit(main())
