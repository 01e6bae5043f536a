"""API shapes of batches' read endpoints."""

from rest_framework import serializers


class ReportingGapSerializer(serializers.Serializer):
    catalogue = serializers.CharField(help_text="misev2018, misev2023, evmetric or release")
    rule_id = serializers.CharField(help_text='As in rules.md, e.g. "M18-MRK-01"')
    status = serializers.ChoiceField(choices=["gap", "warning", "excepted"])
    severity = serializers.CharField()
    confidence = serializers.CharField(help_text="C confirmed, S secondary, U unverified")
    guideline = serializers.CharField()
    title = serializers.CharField()
    message = serializers.CharField()
    how_to_fix = serializers.CharField()
    missing = serializers.ListField(child=serializers.CharField())
    justification = serializers.CharField(help_text="The exception's, when excepted")
    checked_at = serializers.DateTimeField()


class GuidelineComplianceSerializer(serializers.Serializer):
    catalogue = serializers.CharField()
    applicable = serializers.IntegerField()
    fulfilled = serializers.IntegerField()
    excepted = serializers.IntegerField()
    gaps = serializers.IntegerField()
    warnings = serializers.IntegerField()
    percent = serializers.FloatField(
        allow_null=True,
        help_text="Met rules / applicable rules in %; EV-METRIC-style score "
        "for the evmetric catalogue",
    )
    batch_version = serializers.IntegerField()
    checked_at = serializers.DateTimeField()
