from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('places', '0006_seal_person_fields'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='person',
            index=models.Index(condition=models.Q(('registration', 'pending')), fields=['id_number_index'], name='person_id_number_index_pending'),
        ),
        migrations.AddIndex(
            model_name='person',
            index=models.Index(fields=['phone_index'], name='person_phone_index_idx'),
        ),
        migrations.AddConstraint(
            model_name='person',
            constraint=models.UniqueConstraint(condition=models.Q(('registration', 'confirmed')), fields=('id_number_index',), name='person_id_number_index_confirmed'),
        ),
    ]
