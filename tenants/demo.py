"""The demo world `seed_demo` creates. Its GHL ids match the GHL stand-in's `demo` scenario
(sandbox/ghl/scenarios/demo.json), so a demo install lines up with these agencies and locations;
tests/tenants/test_seed_demo.py keeps the two in agreement."""

from typing import Any

DEMO_PASSWORD = "demo-password"  # noqa: S105 — printed in the README; demo data only

OPERATOR_EMAIL = "ops@platform.example"

AGENCIES: list[dict[str, Any]] = [
    {
        "name": "Apex Growth Partners",
        "slug": "apex",
        "ghl_company_id": "DemoCompanyApex00001",
        "branding": {
            "display_name": "Apex Growth",
            "primary_color": "#0f766e",
            "accent_color": "#f59e0b",
            "background_color": "#f8fafc",
            "font": "inter",
            "support_email": "support@apexgrowth.example",
            "sender_name": "Apex Growth Team",
        },
        "locations": [
            {
                "name": "Dubai Homes Realty",
                "ghl_location_id": "DemoLocApexDubai0001",
                "industry": "real_estate",
                "timezone": "Asia/Dubai",
            },
            {
                "name": "Harbor Health Clinic",
                "ghl_location_id": "DemoLocApexClinic001",
                "industry": "health_clinic",
                "timezone": "America/New_York",
            },
        ],
        "users": [
            ("owner@apexgrowth.example", "Amira Haddad", "agency_owner", None),
            ("admin@apexgrowth.example", "Omar Nasser", "agency_admin", None),
            ("staff@apexgrowth.example", "Lina Farouk", "agency_staff", None),
            (
                "manager@dubaihomes.example",
                "Sara Al Mansoori",
                "client_admin",
                "DemoLocApexDubai0001",
            ),
            (
                "frontdesk@harborhealth.example",
                "Dana Brooks",
                "client_member",
                "DemoLocApexClinic001",
            ),
        ],
    },
    {
        "name": "Bolt Local Marketing",
        "slug": "bolt",
        "ghl_company_id": "DemoCompanyBolt00001",
        "branding": {
            "display_name": "Bolt Local",
            "primary_color": "#fde047",
            "accent_color": "#1d4ed8",
            "background_color": "#ffffff",
            "font": "rounded",
            "support_email": "help@boltlocal.example",
            "sender_name": "Bolt Local",
        },
        "locations": [
            {
                "name": "Rapid Rooter Plumbing",
                "ghl_location_id": "DemoLocBoltPlumb0001",
                "industry": "home_services",
                "timezone": "America/Chicago",
            },
            {
                "name": "Greenleaf Coaching",
                "ghl_location_id": "DemoLocBoltGeneric01",
                "industry": "generic",
                "timezone": "Europe/London",
            },
        ],
        "users": [
            ("owner@boltlocal.example", "Jake Miller", "agency_owner", None),
            ("admin@boltlocal.example", "Priya Shah", "agency_admin", None),
            ("staff@boltlocal.example", "Tom Becker", "agency_staff", None),
            ("owner@rapidrooter.example", "Luis Ortega", "client_admin", "DemoLocBoltPlumb0001"),
            ("coach@greenleaf.example", "Emma Clarke", "client_member", "DemoLocBoltGeneric01"),
        ],
    },
]
