"""Settings are read from the environment in one place (`base`); see `.env.example`.

`local` is for `make run`, `test` for pytest, `production` for deployments and refuses to start
with unsafe values.
"""
