from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0003_sync_seen"),
    ]

    operations = [
        migrations.AddField(
            model_name="inboundevent",
            name="entity_id",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AlterField(
            model_name="inboundevent",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("processing", "Processing"),
                    ("succeeded", "Succeeded"),
                    ("failed", "Failed (will retry)"),
                    ("dead", "Dead letter"),
                    ("superseded", "Superseded by a newer event"),
                ],
                default="pending",
                max_length=12,
            ),
        ),
        migrations.AddIndex(
            model_name="inboundevent",
            index=models.Index(
                fields=["source", "location_id", "entity_id", "status"],
                name="integration_source_70be3b_idx",
            ),
        ),
    ]
