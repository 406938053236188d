"""Stage 4, economics: what a call, a month and a machine cost.

Owns price rules and their resolution for a model (`pricing`), volumes and monthly
projections (`volume`), the capacity sweep of a self-hosted endpoint and the $/token it
implies (`capacity`), and self-hosting against APIs (`selfhost`). No plotting: the charts of
these figures are the report's. Imports config, transport, store and the foundation.
"""
