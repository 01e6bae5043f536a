"""`python manage.py seed_demo`: the demo lab, products, specifications and batches
(`batches/demo.py`) for a local evqc; running it again adds only what is missing."""

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from assays.models import Specification
from assays.services import specification_create
from batches import demo
from batches.management.commands.demo_login import DEMO_USERNAME
from batches.models import Batch, Lab, LabMembership, Product
from batches.services import batch_record_import, lab_create, product_create

NOT_LOCAL = "seed_demo only runs with DJANGO_DEBUG=True (a local evqc): its data is not real."


class Command(BaseCommand):
    help = "Load the demo lab, its two products and their batches (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError(NOT_LOCAL)
        with transaction.atomic():
            user = self._demo_user()
            lab = Lab.objects.filter(code=demo.LAB["code"]).first() or lab_create(
                code=demo.LAB["code"], name=demo.LAB["name"], acting_user=user
            )
            LabMembership.objects.get_or_create(lab=lab, user=user, defaults={"role": "admin"})
            for definition in demo.PRODUCTS:
                self._product(lab, definition, user)
        created = 0
        for document in demo.BATCHES:
            if not Batch.objects.filter(lot_number=document["lot_number"]).exists():
                batch_record_import(document, lab=lab, acting_user=user)
                created += 1
        self.stdout.write(
            f"Demo lab {lab.code}: {len(demo.PRODUCTS)} products, {len(demo.BATCHES)} batches "
            f"({created} new)."
        )

    def _demo_user(self) -> Any:
        user, _ = get_user_model().objects.get_or_create(
            username=DEMO_USERNAME,
            defaults={
                "first_name": "Demo",
                "last_name": "Scientist",
                "is_staff": True,
                "is_superuser": True,
            },
        )
        return user

    def _product(self, lab: Lab, definition: dict[str, Any], user: Any) -> None:
        fields = {
            k: v for k, v in definition.items() if k not in {"code", "name", "specifications"}
        }
        product = Product.objects.filter(lab=lab, code=definition["code"]).first()
        if product is None:
            product = product_create(
                lab, code=definition["code"], name=definition["name"], acting_user=user, **fields
            )
        for spec in definition["specifications"]:
            in_force = Specification.objects.filter(
                product=product,
                attribute=spec["attribute"],
                method=spec.get("method", ""),
                retired_at__isnull=True,
            )
            if not in_force.exists():
                specification_create(product, acting_user=user, **spec)
