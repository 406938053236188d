"""Run: the compare use case, from a config to records in the store, with all its rules.

Owns which config a comparison runs (`selection`: file or objects, the default lineup, the
offline demo), the validated `Plan` (`plan`, made by `prepare`), the rules on the options
(`compare`: budget, shards, resume, checked before anything is sent and again by
`execute`), `resume`, the `fingerprint` resume compares, the `runner` that sends the
calls, the `budget`, the development `cache`, `shards`, the cost `estimate`, and the
`capacity` use case (a load sweep of one endpoint).

May import the foundation and the stages below it: config, transport, store, economics,
scoring, suites. Never analysis, report or console: the verdict, the run folder and the
terminal views are made from what it stores, by the stages above (see `evalkit.api`).
"""
