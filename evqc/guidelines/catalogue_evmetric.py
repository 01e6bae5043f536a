"""EV-METRIC-style completeness (rules.md §4 and decision 1): its nine components, scored
as 100 x fulfilled applicable components / applicable components.
"""
