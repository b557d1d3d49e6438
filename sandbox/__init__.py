"""Local stand-ins for third-party services; never imported by product code."""
