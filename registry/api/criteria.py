"""Published criteria sets: public reads, admin publishing."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency, Provide
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

    @get(summary="Published criteria sets", responses=problems(400))
    async def list_all(self) -> CriteriaSetList:
        """Every published version (public)."""
        return await criteria.list_published()

    @get("/{key:str}/{version:int}", responses=problems(400, 404))
    async def read(
        self,
        key: FromPath[str],
        version: Annotated[int, PathParameter(ge=1)],
    ) -> CriteriaSetOut:
        """One published version with its full document (public)."""
        return await criteria.get_published(key, version)

    @post(
        guards=[requires(Role.admin)],
        dependencies={"actor": Provide(provide_actor, sync_to_thread=False)},
        security=SECURITY,
        responses=problems(400, 401, 403, 409, 422),
        status_code=201,
    )
    async def publish(
        self, data: JSONBody[CriteriaSetDocument], actor: NamedDependency[Actor]
    ) -> Response[CriteriaSetOut]:
        """Publish a version: 201 when new, 200 for identical content, 409 for different content."""
        published, created = await criteria.publish(actor, data)
        return Response(published, status_code=201 if created else 200)
