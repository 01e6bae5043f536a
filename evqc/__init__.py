"""evqc's domain core: units, specifications, guidelines and instrument readers.

Plain Python: nothing here imports the Django apps or reads settings at import time.
"""
