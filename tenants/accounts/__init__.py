"""Portal accounts on django-allauth, kept inside the request's realm (docs/accounts.md)."""
