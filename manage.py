#!/usr/bin/env python
"""Django's command-line utility for evqc."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    # A checkout without production configuration is a developer's: run it in DEBUG mode.
    # Web servers and workers (wsgi, asgi, celery) never get this default.
    if "DJANGO_SECRET_KEY" not in os.environ:
        os.environ.setdefault("DJANGO_DEBUG", "True")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
