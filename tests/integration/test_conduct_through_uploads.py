"""The code of conduct through the real upload and download endpoints: downloads are
audited, forwards open the content, derived uploads need grants and show provenance,
confidential resources are never cached and every read of them by another school is
audited."""

from __future__ import annotations

import pytest

from tests.conduct_fixtures import (
    Ground,
    grant_by_request,
    ground,
    sister_schools,
    upload,
)
from tests.problems import assert_problem

# On SQLite and PostgreSQL: the rules of the code of conduct are SQL.
pytestmark = pytest.mark.every_database

__all__ = ["ground"]


async def test_downloads_by_other_schools_are_counted_for_the_owner(ground: Ground) -> None:
    cast = await sister_schools(ground)
    resource = (await upload(cast.author, title="Lesson on the Manas epic")).json()
    url = f"/api/resources/{resource['id']}/content"
    assert (await cast.b_teacher.get(url)).status_code == 200
    resumed = await cast.b_teacher.get(url, headers={"Range": "bytes=10-"})
    assert resumed.status_code == 206
    assert (await cast.b.admin.get(url)).status_code == 200
    assert (await cast.colleague.get(url)).status_code == 200  # the owner's own: not counted
    assert_problem(await cast.s.admin.get(url), 404)
    report = (await cast.author.get(f"/api/resources/{resource['id']}/downloads")).json()
    assert report["total"] == 2
    assert [(s["school"]["name"], s["downloads"]) for s in report["schools"]] == [
        ("Naryn Village School", 2)
    ]


async def test_a_forward_opens_the_content_and_revoking_closes_it(ground: Ground) -> None:
    cast = await sister_schools(ground)
    c = await ground.school("Talas Gymnasium")
    await ground.partnership(cast.b, c)
    resource = (await upload(cast.author, title="Assessment rubric")).json()
    content = f"/api/resources/{resource['id']}/content"
    assert_problem(await c.admin.get(content), 404)
    grant_id = await grant_by_request(ground, cast.b_teacher, cast.author, resource["id"], "share")
    forwarded = await cast.b_teacher.post(
        f"/api/resources/{resource['id']}/forward", json={"school_id": str(c.id)}
    )
    assert forwarded.status_code == 201
    assert (await c.admin.get(content)).status_code == 200
    assert (await c.admin.get(f"/api/resources/{resource['id']}")).status_code == 200
    await cast.author.post(f"/api/resources/{resource['id']}/grants/{grant_id}/revoke")
    assert_problem(await c.admin.get(content), 404)
    assert_problem(await c.admin.get(f"/api/resources/{resource['id']}"), 404)


async def test_a_derived_upload_needs_an_adapt_grant_and_a_share_grant_to_go_wider(
    ground: Ground,
) -> None:
    cast = await sister_schools(ground)
    original = (await upload(cast.author, title="Fractions")).json()
    refused = assert_problem(
        await upload(
            cast.b_teacher,
            title="Fractions in Kyrgyz",
            derived_from=original["id"],
            visibility="school",
        ),
        403,
        rule=7,
    )
    assert "permission to adapt it" in refused["detail"]
    await grant_by_request(ground, cast.b_teacher, cast.author, original["id"], "adapt")
    assert_problem(
        await upload(cast.b_teacher, title="Fractions in Kyrgyz", derived_from=original["id"]),
        403,
        rule=7,
    )
    inside = await upload(
        cast.b_teacher,
        title="Fractions in Kyrgyz",
        derived_from=original["id"],
        visibility="school",
    )
    assert inside.status_code == 201, inside.text
    assert inside.json()["derived_from"]["id"] == original["id"]
    await grant_by_request(ground, cast.b_teacher, cast.author, original["id"], "share")
    wider = await upload(
        cast.b_teacher, title="Fractions for partners", derived_from=original["id"]
    )
    assert wider.status_code == 201, wider.text


async def test_provenance_credits_every_original_two_levels_deep(ground: Ground) -> None:
    cast = await sister_schools(ground)
    c = await ground.school("Talas Gymnasium")
    await ground.partnership(cast.b, c)
    c_teacher = await c.teacher("Chyngyz")
    original = (await upload(cast.author, title="Fractions, the original")).json()
    # A second version: the adaptation points at the exact version it adapted.
    again = await cast.author.post(
        f"/api/resources/{original['id']}/versions",
        files={"file": ("plan.txt", b"Fractions, revised.\n", "text/plain")},
    )
    assert again.status_code == 201, again.text
    await grant_by_request(ground, cast.b_teacher, cast.author, original["id"], "adapt")
    await grant_by_request(ground, cast.b_teacher, cast.author, original["id"], "share")
    middle = (
        await upload(cast.b_teacher, title="Fractions in Kyrgyz", derived_from=original["id"])
    ).json()
    await grant_by_request(ground, c_teacher, cast.b_teacher, middle["id"], "adapt")
    last = await upload(
        c_teacher, title="Fractions with games", derived_from=middle["id"], visibility="school"
    )
    assert last.status_code == 201, last.text
    shown = (await c_teacher.get(f"/api/resources/{last.json()['id']}")).json()
    chain = [
        (
            step["title"],
            step["school"]["name"],
            step["version"],
            [a["full_name"] for a in step["authors"]],
        )
        for step in shown["provenance"]
    ]
    assert chain == [
        (
            "Fractions in Kyrgyz",
            "Naryn Village School",
            1,
            [shown["provenance"][0]["authors"][0]["full_name"]],
        ),
        ("Fractions, the original", "Osh School 5", 2, ["Aida Author"]),
    ]
    # C cannot open A's original, but A and its authors are credited all the same.
    assert_problem(await c_teacher.get(f"/api/resources/{original['id']}"), 404)


async def test_a_confidential_resource_is_never_cached_and_its_reads_are_audited(
    ground: Ground,
) -> None:
    cast = await sister_schools(ground)
    refused = await upload(
        cast.a.admin, title="Staff contracts", kind="policy", confidential=True, licence="cc-by"
    )
    assert_problem(refused, 422, rule=6)
    secret = (
        await upload(cast.a.admin, title="Staff contracts", kind="policy", confidential=True)
    ).json()
    base = f"/api/resources/{secret['id']}"
    for path in ("", "/versions", "/content"):
        response = await cast.b_teacher.get(base + path)
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
    assert (await cast.a.admin.get(base)).headers["cache-control"] == "no-store"
    trail = (await cast.a.admin.get(f"/api/audit?resource_id={secret['id']}")).json()
    by_partner = [
        (e["action"], e["details"].get("what"))
        for e in trail["items"]
        if e["actor_school"] and e["actor_school"]["name"] == "Naryn Village School"
    ]
    assert sorted(by_partner, key=str) == sorted(
        [
            ("resource.read", "metadata"),
            ("resource.read", "versions"),
            ("resource.downloaded", None),
        ],
        key=str,
    )
    # Rule 6: it is never forwarded, shared or published, whatever the requester holds.
    assert_problem(
        await cast.b_teacher.post(
            f"{base}/reuse-requests",
            json={"scope": "publish", "purpose": "Print", "audience": "District"},
        ),
        403,
        rule=6,
    )


async def test_ending_a_partnership_cuts_the_partner_at_once(ground: Ground) -> None:
    cast = await sister_schools(ground)
    resource = (await upload(cast.author, title="Open lesson video notes")).json()
    assert (await cast.b_teacher.get(f"/api/resources/{resource['id']}")).status_code == 200
    await ground.end_partnership(cast.partnership_id)
    assert_problem(await cast.b_teacher.get(f"/api/resources/{resource['id']}"), 404)
    assert_problem(await cast.b_teacher.get(f"/api/resources/{resource['id']}/content"), 404)
