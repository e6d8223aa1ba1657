"""Celery tasks, grouped by what they touch.

Every task takes an ``AccountRef`` (batch id and account id, plain JSON) and
reloads what it needs from the store, so a message never carries a secret or an
ORM object. A step whose account has already left the state it works on
returns at once, which makes each step safe to run twice and lets a chain run
to its end after an account reached an early outcome.
"""
