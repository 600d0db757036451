"""The pages' shell: sign-in with a session cookie, form tokens, languages, static files."""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable

from exchange.web.assets import ASSETS
from exchange.web.sessions import SESSION_COOKIE
from tests.actors import PASSWORD, SchoolFactory
from tests.pages import Visitor, csrf_token_in


async def test_a_page_for_members_sends_a_visitor_to_sign_in_and_back(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory
) -> None:
    school = await schools.create()
    browser = visitors()
    home = await browser.get("/?from=mail")
    assert home.status_code == 303
    assert home.headers["location"] == "/sign-in?next=%2F%3Ffrom%3Dmail"
    form = await browser.get(home.headers["location"])
    assert form.status_code == 200
    assert form.headers["content-type"] == "text/html; charset=utf-8"
    assert form.headers["x-frame-options"] == "DENY"
    assert "script-src 'self';" in form.headers["content-security-policy"]
    signed_in = await browser.http.post(
        "/sign-in",
        data={
            "_csrf_token": csrf_token_in(form.text),
            "email": school.admin.email,
            "password": PASSWORD,
            "next": "/?from=mail",
        },
    )
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/?from=mail"
    cookie = signed_in.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    home = await browser.get("/")
    assert home.status_code == 200
    assert "Director of" in home.text


async def test_sign_in_refuses_a_wrong_password_on_the_form(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory
) -> None:
    school = await schools.create()
    browser = visitors()
    answer = await browser.post_form(
        "/sign-in", {"email": school.admin.email, "password": "not the password"}
    )
    assert answer.status_code == 401
    assert 'class="error-summary"' in answer.text
    assert 'href="#password"' in answer.text
    assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")


async def test_a_form_without_its_token_is_refused(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory
) -> None:
    school = await schools.create()
    browser = visitors()
    await browser.get("/sign-in")  # the browser holds the token cookie, not the form
    answer = await browser.http.post(
        "/sign-in", data={"email": school.admin.email, "password": PASSWORD}
    )
    assert answer.status_code == 403
    assert "text/html" in answer.headers["content-type"]
    assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")
    forged = await browser.http.post(
        "/sign-in",
        data={"_csrf_token": "0" * 128, "email": school.admin.email, "password": PASSWORD},
    )
    assert forged.status_code == 403


async def test_signing_out_ends_the_session_on_the_server(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory
) -> None:
    school = await schools.create()
    browser = visitors()
    await browser.sign_in(school.admin.email)
    stolen = browser.http.cookies.get(SESSION_COOKIE)
    assert stolen
    out = await browser.post_form("/sign-out", {}, token_from="/")
    assert out.status_code == 303
    assert out.headers["location"] == "/sign-in"
    # The same cookie, replayed by someone who kept it, no longer signs anyone in.
    replay = visitors()
    replay.http.cookies.set(SESSION_COOKIE, stolen)
    assert (await replay.get("/")).status_code == 303


async def test_a_session_cookie_never_authorises_the_api(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory
) -> None:
    school = await schools.create()
    browser = visitors()
    await browser.sign_in(school.admin.email)
    assert (await browser.get("/")).status_code == 200
    me = await browser.get("/api/me")
    assert me.status_code == 401
    write = await browser.http.post(
        "/api/members",
        json={"email": "new@school.kg", "password": PASSWORD, "full_name": "New Teacher"},
        headers={"x-csrftoken": browser.http.cookies.get("exchange_csrf") or ""},
    )
    assert write.status_code == 401
    members = await school.admin.get("/api/members")
    assert [m["email"] for m in members.json()["items"]] == [school.admin.email]


async def test_the_language_switch_is_remembered(
    client: object, visitors: Callable[[], Visitor]
) -> None:
    browser = visitors()
    russian = await browser.get("/sign-in?lang=ru")
    assert '<html lang="ru">' in russian.text
    assert "Войти" in russian.text
    assert russian.headers["content-language"] == "ru"
    assert (await browser.get("/sign-in")).text.count('<html lang="ru">') == 1
    english = await browser.get("/sign-in", headers={"Accept-Language": "en"})
    assert '<html lang="ru">' in english.text
    fresh = visitors()
    assert (
        '<html lang="en">'
        in (await fresh.get("/sign-in", headers={"Accept-Language": "en-GB,en;q=0.9"})).text
    )
    assert '<html lang="ky">' in (await fresh.get("/sign-in")).text


async def test_static_files_carry_their_hash_and_are_kept_a_year(
    client: object, visitors: Callable[[], Visitor]
) -> None:
    browser = visitors()
    page = await browser.get("/sign-in", headers={"Accept-Encoding": "gzip"})
    links = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text)
    assert links
    for link in links:
        answer = await browser.get(link, headers={"Accept-Encoding": "gzip"})
        assert answer.status_code == 200
        assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert answer.headers["content-encoding"] == "gzip"
    css = ASSETS["site.css"]
    assert css.hashed_name != "site.css"
    assert gzip.decompress(css.gzipped) == css.body
    stale = await browser.get("/static/site.000000000000.css")
    assert stale.status_code == 404


async def test_pages_are_gzipped(client: object, visitors: Callable[[], Visitor]) -> None:
    browser = visitors()
    page = await browser.http.get("/sign-in", headers={"Accept-Encoding": "gzip"})
    assert page.headers.get("content-encoding") == "gzip"


async def test_a_members_switch_of_language_is_their_choice_everywhere(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory
) -> None:
    school = await schools.create()
    browser = visitors()
    await browser.sign_in(school.admin.email)
    english = await browser.get("/?lang=en")
    assert '<html lang="en">' in english.text
    me = await school.admin.get("/api/me")
    assert me.json()["language"] == "en"
    other_device = visitors()
    await other_device.sign_in(school.admin.email)
    assert '<html lang="en">' in (await other_device.get("/")).text


async def test_the_account_page_changes_name_position_and_language(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory
) -> None:
    school = await schools.create()
    browser = visitors()
    await browser.sign_in(school.admin.email)
    form = await browser.get("/account")
    assert form.status_code == 200
    assert school.admin.email in form.text
    empty = await browser.post_form("/account", {"full_name": " ", "language": ""})
    assert empty.status_code == 422
    assert '<a href="#full_name">' in empty.text
    saved = await browser.post_form(
        "/account", {"full_name": "Айгүл Асанова", "position": "Директор", "language": "ru"}
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == "/account?saved=1"
    me = (await school.admin.get("/api/me")).json()
    assert (me["full_name"], me["position"], me["language"]) == (
        "Айгүл Асанова",
        "Директор",
        "ru",
    )
    assert '<html lang="ru">' in (await browser.get("/account?saved=1")).text


async def test_a_member_changes_their_password_and_other_sessions_end(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory
) -> None:
    school = await schools.create()
    here, elsewhere = visitors(), visitors()
    await here.sign_in(school.admin.email)
    await elsewhere.sign_in(school.admin.email)
    wrong = await here.post_form(
        "/account/password",
        {"current_password": "not it", "new_password": "a new long passphrase"},
        token_from="/account",
    )
    assert wrong.status_code == 422
    assert '<a href="#current_password">' in wrong.text
    changed = await here.post_form(
        "/account/password",
        {"current_password": PASSWORD, "new_password": "a new long passphrase"},
        token_from="/account",
    )
    assert changed.status_code == 303
    assert changed.headers["location"] == "/account?password=changed"
    assert (await here.get("/")).status_code == 200  # this session stays
    assert (await elsewhere.get("/")).status_code == 303  # the other one ended
    again = visitors()
    await again.sign_in(school.admin.email, "a new long passphrase")


async def test_a_set_password_link_works_once_from_its_page(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory
) -> None:
    school = await schools.create()
    added = await school.admin.post(
        "/api/members",
        json={"email": "teacher@school.kg", "full_name": "Жаңы Мугалим", "role": "teacher"},
    )
    assert added.status_code == 201, added.text
    url = added.json()["set_password_url"]
    path = url[url.index("/set-password") :]
    newcomer = visitors()
    page = await newcomer.get(path)
    assert page.status_code == 200
    token = path.split("token=")[1]
    assert 'name="token"' in page.text
    done = await newcomer.post_form(
        "/set-password", {"token": token, "new_password": "my own passphrase"}, token_from=path
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/sign-in?password=set"
    await newcomer.sign_in("teacher@school.kg", "my own passphrase")
    reused = await visitors().post_form(
        "/set-password", {"token": token, "new_password": "someone else's"}, token_from=path
    )
    assert reused.status_code == 422
    assert 'class="error-summary"' in reused.text


async def test_an_unknown_address_is_a_page_in_the_readers_language_and_stays_json_under_api(
    client: object, visitors: Callable[[], Visitor]
) -> None:
    browser = visitors()
    page = await browser.http.get("/no-such-page", headers={"Accept-Language": "ru"})
    assert page.status_code == 404
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["content-language"] == "ru"
    assert '<html lang="ru"' in page.text
    assert "Not found" not in page.text
    api = await browser.http.get("/api/no-such-thing", headers={"Accept-Language": "ru"})
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/problem+json"
    wrong_method = await browser.http.request("DELETE", "/search")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["content-type"] == "text/html; charset=utf-8"
