import re
from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

CDN = re.compile(r"https?://(cdn\.|unpkg\.com|cdnjs\.|fonts\.googleapis|code\.jquery)")


def test_the_home_page_asks_a_visitor_to_sign_in(client, db):
    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=/"


def test_a_person_signs_in_and_sees_the_home_page(client, user):
    response = client.post(
        reverse("login"), {"username": "ana", "password": "a-long-test-password"}, follow=True
    )

    assert response.status_code == 200
    assert b"Ana Silva" in response.content
    assert b'href="/api/v1/docs/"' in response.content


def test_a_wrong_password_is_refused_on_the_sign_in_page(client, user):
    response = client.post(reverse("login"), {"username": "ana", "password": "wrong"})

    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_signing_out_needs_a_post_with_the_csrf_token(signed_in_client):
    page = signed_in_client.get(reverse("home")).content.decode()

    assert 'name="csrfmiddlewaretoken"' in page
    assert signed_in_client.get(reverse("logout")).status_code == 405


def test_the_api_docs_are_served_without_any_cdn(client, db):
    response = client.get(reverse("api-docs"))
    page = response.content.decode()

    assert response.status_code == 200
    assert not CDN.search(page)
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert scripts, "the docs page loads Swagger UI"
    for script in scripts:
        assert client.get(script).status_code == 200, script


def test_every_page_allows_only_evqcs_own_scripts_and_no_framing(signed_in_client):
    policy = signed_in_client.get(reverse("home"))["Content-Security-Policy"]

    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"


def test_the_api_docs_allow_inline_styles_but_not_inline_scripts(client, db):
    policy = client.get(reverse("api-docs"))["Content-Security-Policy"]

    assert "style-src 'self' 'unsafe-inline'" in policy
    assert "script-src 'self';" in policy


def test_no_portal_template_holds_an_inline_script_or_style():
    """The policy would block them in the browser: scripts and styles live in files."""
    inline = re.compile(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=", re.IGNORECASE)
    templates = [
        path
        for folder in ("config", "batches", "assays", "evqc")
        for path in (Path(settings.BASE_DIR) / folder).rglob("templates/**/*.html")
    ]
    assert len(templates) > 10
    offending = [str(path) for path in templates if inline.search(path.read_text())]
    assert offending == []


def test_error_pages_keep_the_portals_frame_and_render_without_a_request():
    """Django renders 500.html with no request and no database; it must still work."""
    for name in ("403.html", "404.html", "500.html"):
        page = render_to_string(name)
        assert '<a class="skip-link" href="#main">' in page
        assert "<h1>" in page
