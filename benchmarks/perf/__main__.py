from benchmarks.perf.run import main

raise SystemExit(main())
