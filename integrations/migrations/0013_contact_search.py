# The workspace's contact list: a trigram index over name, e-mail and phone for the search, and
# the by-name order's index, both led by the location.
#
# The trigram index needs the pg_trgm and btree_gin extensions, which a PostgreSQL without its
# contrib modules lacks (the embedded `pgserver` build of a fresh machine). The search itself is a
# plain LIKE and works without the index, only slower on big locations: there the index is left
# out and a warning says so, instead of the migration failing.

import warnings
from typing import Any

import django.contrib.postgres.indexes
import django.db.models.functions.comparison
import django.db.models.functions.text
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

SEARCH_INDEX = django.contrib.postgres.indexes.GinIndex(
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
)
EXTENSIONS = ("pg_trgm", "btree_gin")


def search_index_create(apps: Any, schema_editor: Any) -> None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM pg_available_extensions WHERE name = ANY(%s)", [list(EXTENSIONS)]
        )
        available = {row[0] for row in cursor.fetchall()}
        if available != set(EXTENSIONS):
            warnings.warn(
                "PostgreSQL lacks pg_trgm/btree_gin: the contact search index is not built "
                "(search works, slower on large locations).",
                stacklevel=1,
            )
            return
        for name in EXTENSIONS:
            cursor.execute(f"CREATE EXTENSION IF NOT EXISTS {name}")
    model = apps.get_model("integrations", "MirrorContact")
    schema_editor.add_index(model, SEARCH_INDEX, concurrently=True)


def search_index_drop(apps: Any, schema_editor: Any) -> None:
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {SEARCH_INDEX.name}")


class Migration(migrations.Migration):
    # Built concurrently: the contacts table is the largest one and keeps taking writes.
    atomic = False

    dependencies = [
        ("integrations", "0012_bulk_templates"),
        ("tenants", "0003_accounts"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="mirrorcontact", index=SEARCH_INDEX)],
            database_operations=[migrations.RunPython(search_index_create, search_index_drop)],
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
