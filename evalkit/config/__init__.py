"""Stage 1, config: what a run is asked to do, before anything is sent.

Owns the pydantic config models and their YAML loading with file/line/field errors
(`models`), the default lineup of models per provider key (`lineup`), the provider routes
read from `evalkit/data/routes.yaml` (`routes`: endpoint, key variables, parameter
spelling), and the one lookup of a model's API key. Imports only the foundation
(`evalkit.errors`, `evalkit.redaction`, `evalkit.data`).
"""
