"""`{{ gap.catalogue|catalogue_title }}`: a guideline catalogue by the name people use."""

from django import template

from evqc.guidelines import CATALOGUE_TITLES

register = template.Library()


@register.filter
def catalogue_title(code: str) -> str:
    return CATALOGUE_TITLES.get(code, code)
