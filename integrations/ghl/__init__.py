"""The GoHighLevel adapter: OAuth install, token vault, rate governor, API client, webhooks."""
