"""`python -m ordergraph.cli`: the same as the `ordergraph` command."""

from ordergraph.cli import main

raise SystemExit(main())
