"""Every kind of connection, registered by importing its module."""

from . import airtable, https, sheets, sql

__all__ = ["airtable", "https", "sheets", "sql"]
