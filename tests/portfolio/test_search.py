"""Full-text search `q` on the project list (API and registry page), on SQLite and PostgreSQL.

PostgreSQL matches words by their beginning (GIN-indexed full-text search); SQLite, the embedded
mode, matches substrings. The tests below hold on both, except those that name their backend.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portfolio.filters import MAX_SEARCH_WORDS, search_words
from tests.factories import BusinessUnitFactory, ProjectFactory, member_of

pytestmark = pytest.mark.django_db

LIST = "/api/v1/projects/"
postgresql_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="PostgreSQL full-text semantics"
)
sqlite_only = pytest.mark.skipif("connection.vendor != 'sqlite'", reason="SQLite substring search")


def found(api_client, q: str) -> set[int]:
    response = api_client.get(LIST, {"q": q, "page_size": 100})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == len(body["results"])
    return {row["id"] for row in body["results"]}


@pytest.mark.parametrize(
    "field", ["name", "external_ref", "problem", "benefits", "outputs", "data_description"]
)
def test_finds_a_word_in_each_searched_field(api_client, reviewer, unit, field):
    target = ProjectFactory(business_unit=unit, **{field: "Quokka habitat mapping"})
    ProjectFactory(business_unit=unit)  # the factory's texts mention no quokka
    api_client.force_authenticate(reviewer)

    assert found(api_client, "quokka") == {target.pk}
    assert found(api_client, "QUOKKA") == {target.pk}
    assert found(api_client, "habitat quokka") == {target.pk}


def test_a_word_finds_longer_words_that_start_with_it(api_client, reviewer, unit):
    documents = ProjectFactory(business_unit=unit, problem="Classifies incoming Documents.")
    documentation = ProjectFactory(business_unit=unit, benefits="Better documentation of cases.")
    ProjectFactory(business_unit=unit, problem="Routes letters to caseworkers.")
    api_client.force_authenticate(reviewer)

    assert found(api_client, "document") == {documents.pk, documentation.pk}
    assert found(api_client, "docum") == {documents.pk, documentation.pk}  # typed partly
    assert found(api_client, "documentation") == {documentation.pk}


def test_every_word_must_match(api_client, reviewer, unit):
    both = ProjectFactory(business_unit=unit, name="Wildfire smoke forecast")
    only_one = ProjectFactory(business_unit=unit, name="Wildfire perimeter mapping")
    api_client.force_authenticate(reviewer)

    assert found(api_client, "wildfire") == {both.pk, only_one.pk}
    assert found(api_client, "smoke wildfire") == {both.pk}
    assert found(api_client, "  wildfire   smoke  ") == {both.pk}
    assert found(api_client, "wildfire tsunami") == set()


def test_words_with_punctuation_match_as_written(api_client, reviewer, unit):
    covid = ProjectFactory(business_unit=unit, name="COVID-19 case triage", external_ref="HHS-0042")
    mlops = ProjectFactory(business_unit=unit, problem="An AI/ML platform for O'Brien county.")
    api_client.force_authenticate(reviewer)

    assert found(api_client, "covid-19") == {covid.pk}
    assert found(api_client, "covid") == {covid.pk}
    assert found(api_client, "hhs-0042") == {covid.pk}
    assert found(api_client, "ai/ml") == {mlops.pk}
    assert found(api_client, "o'brien") == {mlops.pk}
    assert found(api_client, '"case triage"') == {covid.pk}


def test_search_never_shows_a_project_the_user_may_not_see(api_client, unit, other_unit, reviewer):
    open_elsewhere = ProjectFactory(business_unit=other_unit, name="Narwhal census")
    restricted = ProjectFactory(
        business_unit=other_unit, name="Narwhal tagging", visibility="restricted"
    )
    own_restricted = ProjectFactory(
        business_unit=unit, name="Narwhal sonar", visibility="restricted"
    )
    outsider = member_of(BusinessUnitFactory(code="THIRD"))
    api_client.force_authenticate(member_of(unit))

    assert found(api_client, "narwhal") == {open_elsewhere.pk, own_restricted.pk}
    assert found(api_client, "tagging") == set()
    body = api_client.get(LIST, {"q": "narwhal tagging"}).json()
    assert (body["count"], body["results"]) == (0, [])

    api_client.force_authenticate(outsider)
    assert found(api_client, "narwhal") == {open_elsewhere.pk}

    api_client.force_authenticate(reviewer)
    assert found(api_client, "narwhal tagging") == {restricted.pk}


def test_search_leaves_archived_projects_out_like_the_list(api_client, reviewer, unit):
    from django.utils import timezone

    current = ProjectFactory(business_unit=unit, name="Glacier melt model")
    ProjectFactory(business_unit=unit, name="Glacier melt model v0", archived_at=timezone.now())
    api_client.force_authenticate(reviewer)
    assert found(api_client, "glacier") == {current.pk}


@pytest.mark.parametrize(
    "q",
    [
        "'",
        '"',
        '"unbalanced quote',
        "\\",
        "it's",
        "a & b | !c",
        "(x) <-> y:*",
        ":*",
        "-",
        "!!! ??? ...",
        "100%",
        "_",
        "🙂 émoji",
        "SELECT * FROM portfolio_project; --",
        "word " * 500,
        "x" * 5000,
    ],
)
def test_odd_searches_answer_normally(api_client, reviewer, unit, q):
    ProjectFactory(business_unit=unit, name="Ordinary project")
    api_client.force_authenticate(reviewer)
    response = api_client.get(LIST, {"q": q})
    assert response.status_code == 200, response.content
    assert response.json()["count"] == len(response.json()["results"])


def test_a_search_without_letters_or_digits_matches_nothing_and_empty_q_matches_all(
    api_client, reviewer, unit
):
    ProjectFactory(business_unit=unit, name="Ordinary project: 100% ready")
    api_client.force_authenticate(reviewer)
    assert found(api_client, "%") == set()
    assert found(api_client, ":") == set()
    assert len(found(api_client, "")) == 1
    assert len(found(api_client, "   ")) == 1


def test_search_words_are_bounded():
    assert search_words("  Alpha  BETA  ") == ["alpha", "beta"]
    assert search_words("-- ! alpha") == ["alpha"]
    assert len(search_words("w " * 50)) == MAX_SEARCH_WORDS
    assert search_words("y" * 1000) == ["y" * 100]


def test_search_costs_the_same_queries_as_the_plain_list(api_client, reviewer, unit):
    for n in range(5):
        ProjectFactory(business_unit=unit, name=f"Beaver dam {n}")
    api_client.force_authenticate(reviewer)

    def queries(params: dict[str, str]) -> list[str]:
        with CaptureQueriesContext(connection) as ctx:
            assert api_client.get(LIST, params).status_code == 200
        return [q["sql"] for q in ctx.captured_queries]

    queries({})  # warm-up: the first request also reads the user's groups
    plain, searched = queries({}), queries({"q": "beaver dam"})
    assert len(searched) == len(plain)
    # The bounded count does not sort what it counts.
    count = next(sql for sql in searched if sql.startswith("SELECT COUNT(*)"))
    assert "ORDER BY" not in count


def test_registry_page_searches_with_the_same_filter(client, member, unit, other_unit):
    ProjectFactory(business_unit=unit, name="Pelican nesting survey")
    ProjectFactory(business_unit=other_unit, name="Pelican secret", visibility="restricted")
    client.force_login(member)
    page = client.get("/projects/", {"q": "pelican"}).content.decode()
    assert "Pelican nesting survey" in page
    assert "Pelican secret" not in page


@postgresql_only
def test_postgresql_matches_words_by_their_beginning_only(api_client, reviewer, unit):
    ProjectFactory(business_unit=unit, problem="Undocumented procedures.")
    api_client.force_authenticate(reviewer)
    assert found(api_client, "document") == set()
    assert len(found(api_client, "undoc")) == 1


@postgresql_only
def test_postgresql_search_uses_the_fulltext_index(reviewer):
    from portfolio.filters import search_projects
    from portfolio.models import Project

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = search_projects(Project.objects.all(), "document").order_by().explain()
    assert "project_search_fts_idx" in plan


@sqlite_only
def test_sqlite_matches_substrings(api_client, reviewer, unit):
    project = ProjectFactory(business_unit=unit, problem="Undocumented procedures.")
    api_client.force_authenticate(reviewer)
    assert found(api_client, "document") == {project.pk}


@pytest.mark.parametrize("ordering", ["name", "-annual_cost", "stage"])
def test_search_pages_keep_the_requested_order_on_the_api_and_the_registry(
    api_client, client, reviewer, unit, ordering
):
    """A search matching few projects is read in an order planned from the match (PostgreSQL):
    the rows and their order are those of the same list without the search."""
    for i, name in enumerate(["Delta", "alpha", "Charlie", "bravo", "Echo"]):
        ProjectFactory(
            business_unit=unit,
            name=f"{name} heron count",
            annual_cost=1000 * (i % 3),
            stage=["pilot", "production", "idea"][i % 3],
        )
    ProjectFactory(business_unit=unit, name="Unrelated ledger")
    api_client.force_authenticate(reviewer)
    searched = api_client.get(LIST, {"q": "heron", "ordering": ordering}).json()["results"]
    listed = api_client.get(LIST, {"ordering": ordering}).json()["results"]
    expected = [row["name"] for row in listed if "heron" in row["name"]]
    assert [row["name"] for row in searched] == expected

    client.force_login(reviewer)

    def shown(**params: str) -> list[str]:
        page = client.get("/projects/", {"ordering": ordering, **params}).content.decode()
        names = [row["name"] for row in listed] + ["Unrelated ledger"]
        return sorted((n for n in set(names) if n in page), key=page.index)

    assert shown(q="heron") == [name for name in shown() if "heron" in name]
