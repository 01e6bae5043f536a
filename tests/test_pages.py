import re

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
    scripts = re.findall(r'src="([^"]+\.js)"', page)
    assert scripts, "the docs page loads Swagger UI"
    for script in scripts:
        assert client.get(script).status_code == 200, script
