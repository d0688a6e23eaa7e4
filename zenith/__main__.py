from zenith.cli import main

raise SystemExit(main())
