"""``python -m simdeploy`` runs the command line."""

from simdeploy.cli import main

raise SystemExit(main())
