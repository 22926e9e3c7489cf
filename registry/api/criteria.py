"""Published criteria sets: public reads, admin publishing."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, PathParameter

from registry.api.auth import SECURITY, provide_actor, requires
from registry.api.problems import problems
from registry.domain.identity import Role
from registry.services import criteria
from registry.services.audit import Actor
from schemas.criteria import CriteriaSetDocument, CriteriaSetList, CriteriaSetOut


class CriteriaSetController(Controller):
    """Criteria sets: published, versioned, immutable."""

    path = "/v1/criteria-sets"
    tags = ["criteria"]

    @get(
        operation_id="listCriteriaSets",
        summary="List published criteria sets",
        responses=problems(429),
    )
    async def list_all(self) -> CriteriaSetList:
        """Every published version of every criteria set, with its SHA-256 and how many criteria it
        holds (no documents; read one version for that). Public.
        """
        return await criteria.list_published()

    @get(
        "/{key:str}/{version:int}",
        operation_id="getCriteriaSet",
        summary="Read one published criteria set version",
        responses=problems(400, 404, 429),
    )
    async def read(
        self,
        key: FromPath[str],
        version: Annotated[int, PathParameter(ge=1)],
    ) -> CriteriaSetOut:
        """The full criteria document of `key` at `version`: sections, criteria, thresholds,
        evidence requirements and review policy, with the SHA-256 of its canonical JSON.
        Published versions never change. Public.
        """
        return await criteria.get_published(key, version)

    @post(
        guards=[requires(Role.admin)],
        dependencies={"actor": Provide(provide_actor, sync_to_thread=False)},
        security=SECURITY,
        status_code=201,
        operation_id="publishCriteriaSet",
        summary="Publish a criteria set version",
        responses={
            200: ResponseSpec(
                data_container=CriteriaSetOut,
                description="This exact content was already published: the existing version",
                generate_examples=False,
            ),
            **problems(400, 401, 403, 409, 413, 422, 429),
        },
    )
    async def publish(
        self, data: JSONBody[CriteriaSetDocument], actor: NamedDependency[Actor]
    ) -> Response[CriteriaSetOut]:
        """Publish a new version of a criteria set (admins only). The document is checked against
        every rule for criteria sets (422 names the first broken one). Publishing is idempotent:
        the same content again answers 200 with the existing version, while different content
        under a published key and version is refused with 409.
        """
        published, created = await criteria.publish(actor, data)
        return Response(published, status_code=201 if created else 200)
