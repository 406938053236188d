"""evalkit's exceptions: one base class, and what each kind means for the user.

```
EvalkitError                      everything evalkit raises on purpose
├── UsageError                    bad input or a set-up the user can fix: one line naming
│   │                             the file, line and field (or the command) and how to fix
│   │                             it; exit code 2, nothing written
│   ├── RunHeld                   (store.lease) another live process is running that run
│   └── LocalServerError          (transport.local.server) the embedded model's server could
│                                 not start or died: the cause and the command that fixes it
├── RunStopped                    a run stopped from outside (its lease was taken over);
│                                 exit code 1, the records stored so far stay
├── CallError                     (transport.base) one failed attempt, classified
│                                 (rate_limit, auth, timeout, ...): the runner retries or
│                                 records it; it never reaches the command line
└── JudgeError                    (scoring.registry) an async scorer (the LLM judge) gave no
                                  verdict: the item is an error of class `judge`
```

Internal signals of the runner (`_BudgetExhausted`, `_ModelStopped`) derive from the
base too; they never leave `evalkit.run.runner`.

Anything else that escapes a command is a bug: the CLI prints one redacted line and exits
1 (`EVALKIT_DEBUG=1` shows the traceback).
"""


class EvalkitError(Exception):
    """Base of every exception evalkit raises on purpose."""


class UsageError(EvalkitError):
    """Bad input: a config, suite file, model id or option the user can fix.

    The message is one line that names the thing (file, line, field) and how to fix it.
    """


class RunStopped(EvalkitError):
    """A run stopped by something outside it, not by bad input: another process took
    over its lease. The message says what happened; the records stored so far stay."""
