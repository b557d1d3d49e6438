"""factory_boy factories for every model. Agencies are made through the service, so each one has
its branding and verified platform subdomain like a real one."""

from typing import Any

import factory
from django.utils import timezone

from tenants import services
from tenants.models import Agency, AgencyDomain, AuditLogEntry, Branding, Location, Membership, User

TEST_PASSWORD = "correct-horse-battery"


class AgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agency

    name = factory.Sequence(lambda n: f"Agency {n}")
    slug = factory.Sequence(lambda n: f"agency{n}")
    ghl_company_id = factory.Sequence(lambda n: f"TestCompany{n:09d}")

    @classmethod
    def _create(cls, model_class: type[Agency], *args: Any, **kwargs: Any) -> Agency:
        branding = kwargs.pop("branding", None)
        return services.agency_create(acting_user=None, branding=branding, **kwargs)


class BrandingFactory(factory.django.DjangoModelFactory):
    """Agencies get their branding from `agency_create`; this edits it."""

    class Meta:
        model = Branding

    agency = factory.SubFactory(AgencyFactory)

    @classmethod
    def _create(cls, model_class: type[Branding], *args: Any, **kwargs: Any) -> Branding:
        agency = kwargs.pop("agency")
        branding = Branding.objects.for_agency(agency).get()
        return services.branding_update(branding=branding, acting_user=None, data=kwargs)


class AgencyDomainFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgencyDomain

    agency = factory.SubFactory(AgencyFactory)
    domain = factory.Sequence(lambda n: f"portal{n}.client-domain.test")
    kind = AgencyDomain.Kind.CUSTOM
    verified_at = factory.LazyFunction(timezone.now)
    verification_token = factory.LazyFunction(AgencyDomain.new_verification_token)


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    agency = factory.SubFactory(AgencyFactory)
    name = factory.Sequence(lambda n: f"Location {n}")
    ghl_location_id = factory.Sequence(lambda n: f"TestLocation{n:08d}")
    industry = Location.Industry.GENERIC
    timezone = "UTC"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    agency = factory.SubFactory(AgencyFactory)
    email = factory.Sequence(lambda n: f"person{n}@example.test")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def _save_password(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            self.save(update_fields=["password"])


class OperatorFactory(UserFactory):
    agency = None
    is_staff = True
    is_superuser = True


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    agency = factory.SelfAttribute("user.agency")
    location = None
    role = Membership.Role.AGENCY_OWNER


class AuditLogEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuditLogEntry

    agency = factory.SubFactory(AgencyFactory)
    action = "test.happened"
    target_type = "tenants.agency"
    target_id = factory.SelfAttribute("agency.pk")
    target_repr = factory.SelfAttribute("agency.name")
