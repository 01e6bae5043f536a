"""MISEV2023 rules (Welsh et al., J Extracell Vesicles 2024;13:e12404) and the related
frameworks of rules.md §2.10-2.11 (FC-01, BL-01, RNA-01, CCM-01). MISEV2023 rules are
labelled "suggested (MISEV2023)".
"""
