"""Release-attribute checks of rules.md §5 that need no product specification: is each
attribute a release decision rests on measured at all.
"""
