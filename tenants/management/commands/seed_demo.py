"""Create the demo world (idempotent: what exists is left exactly as it is)."""

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from tenants import demo, selectors, services
from tenants.models import Agency, Location, User


class Command(BaseCommand):
    help = "Create a platform operator, two branded agencies, their locations and users per role."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        created = 0
        operator = selectors.user_find(agency=None, email=demo.OPERATOR_EMAIL)
        if operator is None:
            User.objects.create_superuser(demo.OPERATOR_EMAIL, demo.DEMO_PASSWORD, full_name="Ops")
            created += 1
        for spec in demo.AGENCIES:
            created += self._seed_agency(spec)
        if created:
            self.stdout.write(self.style.SUCCESS(f"Demo data: {created} objects created."))
        else:
            self.stdout.write("Demo data already present; nothing changed.")
        for agency in Agency.objects.filter(slug__in=[a["slug"] for a in demo.AGENCIES]):
            self.stdout.write(f"  {agency.name}: {selectors.agency_portal_url(agency)}")

    def _seed_agency(self, spec: dict[str, Any]) -> int:
        created = 0
        agency = Agency.objects.filter(slug=spec["slug"]).first()
        if agency is None:
            agency = services.agency_create(
                name=spec["name"],
                slug=spec["slug"],
                ghl_company_id=spec["ghl_company_id"],
                branding=spec["branding"],
                acting_user=None,
            )
            created += 1
        locations = {}
        for loc in spec["locations"]:
            location = (
                Location.objects.for_agency(agency)
                .filter(ghl_location_id=loc["ghl_location_id"])
                .first()
            )
            if location is None:
                location = services.location_create(
                    agency=agency,
                    name=loc["name"],
                    industry=loc["industry"],
                    timezone_name=loc["timezone"],
                    ghl_location_id=loc["ghl_location_id"],
                    acting_user=None,
                )
                created += 1
            locations[loc["ghl_location_id"]] = location
        for email, full_name, role, location_id in spec["users"]:
            if selectors.user_find(agency=agency, email=email) is not None:
                continue
            user = services.user_create(
                agency=agency,
                email=email,
                full_name=full_name,
                password=demo.DEMO_PASSWORD,
                acting_user=None,
                email_verified=True,
            )
            services.membership_grant(
                user=user,
                role=role,
                location=locations[location_id] if location_id else None,
                acting_user=None,
            )
            created += 1
        return created
