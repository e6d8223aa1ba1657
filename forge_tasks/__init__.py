"""forge-tasks: a Celery backend that provisions primary/standby VPS pairs.

Layout, from rules to order:

- ``domain/``: pure rules with no I/O: the state model, placement, status-feed
  adapters, preflight, the batch file and the report;
- ``gatewayforge/``: the GatewayForge API models and HTTP client;
- ``store/``: SQLModel tables and the functions that read and write them;
- ``tasks/``: Celery tasks, grouped by what they touch;
- ``canvas.py``: builds the chains and chords from those tasks;
- ``submission.py``: validates, preflights, stores and enqueues a batch;
- ``sandbox/``: the simulated GatewayForge used by the demo and the tests;
- ``cli/``: the ``forge-tasks`` command.
"""
