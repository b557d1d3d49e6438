# The workspace's contact list: a trigram index over name, e-mail and phone for the search, and
# the by-name order's index, both led by the location.

import django.contrib.postgres.indexes
import django.db.models.functions.comparison
import django.db.models.functions.text
from django.contrib.postgres.operations import (
    AddIndexConcurrently,
    BtreeGinExtension,
    TrigramExtension,
)
from django.db import migrations, models


class Migration(migrations.Migration):
    # Built concurrently: the contacts table is the largest one and keeps taking writes.
    atomic = False

    dependencies = [
        ("integrations", "0012_bulk_templates"),
        ("tenants", "0003_accounts"),
    ]

    operations = [
        TrigramExtension(),
        BtreeGinExtension(),
        AddIndexConcurrently(
            model_name="mirrorcontact",
            index=django.contrib.postgres.indexes.GinIndex(
                models.F("location"),
                django.contrib.postgres.indexes.OpClass(
                    django.db.models.functions.text.Lower(
                        django.db.models.functions.text.Concat(
                            models.F("first_name"),
                            models.Value(" "),
                            models.F("last_name"),
                            models.Value(" "),
                            models.F("email"),
                            models.Value(" "),
                            models.F("phone"),
                            output_field=models.TextField(),
                        )
                    ),
                    name="gin_trgm_ops",
                ),
                name="mirror_contact_search",
            ),
        ),
        AddIndexConcurrently(
            model_name="mirrorcontact",
            index=models.Index(
                models.F("location"),
                django.db.models.functions.comparison.NullIf(
                    django.db.models.functions.text.Lower(
                        django.db.models.functions.text.Trim(
                            django.db.models.functions.text.Concat(
                                models.F("first_name"), models.Value(" "), models.F("last_name")
                            )
                        )
                    ),
                    models.Value(""),
                ),
                models.F("id"),
                name="mirror_contact_name",
            ),
        ),
    ]
