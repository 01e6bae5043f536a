"""`{{ name|attribute_label }}`: a result attribute by the words people use ("size D10")."""

from django import template

from evqc.vocabulary import ATTRIBUTES

register = template.Library()


@register.filter
def attribute_label(name: str) -> str:
    attribute = ATTRIBUTES.get(name)
    return name if attribute is None else attribute.label
