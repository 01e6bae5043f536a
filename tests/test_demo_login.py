import re

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command


@pytest.mark.django_db
def test_demo_login_prints_a_login_that_works(settings, capsys):
    settings.DEBUG = True

    call_command("demo_login")

    password = re.search(r"password (\S+)", capsys.readouterr().out)[1]
    user = authenticate(username="demo", password=password)
    assert user is not None
    assert user.is_staff


@pytest.mark.django_db
def test_demo_login_gives_a_fresh_password_each_time(settings, capsys):
    settings.DEBUG = True
    call_command("demo_login")
    first = re.search(r"password (\S+)", capsys.readouterr().out)[1]

    call_command("demo_login")

    assert authenticate(username="demo", password=first) is None


@pytest.mark.django_db
def test_demo_login_refuses_to_run_outside_a_local_debug_evqc(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="only runs with DJANGO_DEBUG=True"):
        call_command("demo_login")
