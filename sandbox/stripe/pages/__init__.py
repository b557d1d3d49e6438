"""The hosted pages: Checkout, the billing portal, Connect onboarding and hosted invoices."""
