"""Failure drills: the real topology (gunicorn, Celery workers, PostgreSQL, Redis, the GHL
stand-in), things killed on purpose, and a table of what was expected and what happened.
Run with `make drills` or `python -m drills [name ...]`; see docs/drills.md."""
