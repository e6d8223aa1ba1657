"""Pure domain rules of forge-tasks: no I/O beyond loading the data files in config/.

- ``catalogue``: the region catalogue and the rule for when two regions may be in
  one city.
- ``pairs``: the runbook's default primary/standby pairs.
- ``pricing``: monthly instance prices and the cost estimate of a batch.
- ``feeds``: one adapter per status-feed form, mapped to one incident model.
- ``rules``: the provider selection rules (thresholds, incidents, standby city).
- ``placement``: replacement regions, the next-best provider and the plan of one
  pair.
- ``preflight``: the runbook's pre-provision checklist for a whole batch.
- ``outcomes``: the provisioning state model.
- ``batch_file``: parsing and validating a batch CSV file.
- ``report``: the batch report.
"""
