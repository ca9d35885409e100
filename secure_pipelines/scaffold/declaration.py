"""The declaration a new project starts from: the core sections from the core's template, each CI
system's parts from its ``Scaffold`` capability, every id a placeholder that validates."""

from __future__ import annotations

from dataclasses import dataclass

from ..ci import registry
from ..ci.base import CISystem, Scaffold
from ..declaration.model import GITHUB_HOST
from ..declaration.where import github_owner_id, github_repository_id, github_team_id
from ..render.templating import Templates
from .model import NewOrganization, placeholder_number

NOTHING = "{}"


def section(key: str, body: str, indent: int) -> str:
    """``key: body`` at ``indent`` spaces: one line for ``{}``, else the body indented under the key."""
    pad = " " * indent
    if body.strip() == NOTHING:
        return f"{pad}{key}: {NOTHING}"
    lines = [f"{pad}  {line}" if line else "" for line in body.strip("\n").split("\n")]
    return "\n".join([f"{pad}{key}:", *lines])


TEMPLATES = Templates(__package__ or "secure_pipelines.scaffold", filters={"section": section})


@dataclass(frozen=True)
class SampleRepository:
    """One CI system's sample repository, as the core writes it."""

    name: str
    key: str
    body: str
    github_id: int | None
    where: str


def _scaffolds() -> list[tuple[CISystem, Scaffold]]:
    return [(system, system.scaffold) for system in registry.systems() if system.scaffold is not None]


def declaration_text(new: NewOrganization) -> str:
    """The commented declaration ``securepipe init`` writes for ``new``."""
    scaffolds = _scaffolds()
    repositories = [
        SampleRepository(
            name=scaffold.repository_name,
            key=system.key,
            body=scaffold.repository(new),
            github_id=placeholder_number(10 + number) if system.vcs_host == GITHUB_HOST else None,
            where=github_repository_id(new.owner, scaffold.repository_name),
        )
        for number, (system, scaffold) in enumerate(scaffolds, start=1)
    ]
    return TEMPLATES.render(
        "declaration.yaml.j2",
        new=new,
        owner_id=placeholder_number(1),
        reviewer_team=placeholder_number(20 + new.environments[-1].number),
        where={"owner_id": github_owner_id(new.owner), "team_id": github_team_id(new.owner, "production-approvers")},
        organization_sections=[(system.key, scaffold.organization(new)) for system, scaffold in scaffolds],
        developers=[(developer, [(system.key, body) for system, scaffold in scaffolds
                                 if (body := scaffold.developer(new, developer)) is not None])
                    for developer in new.developers],
        repositories=repositories,
        repository_names=[r.name for r in repositories],
        developer_names=[d.name for d in new.developers],
        environments=[(environment, [(system.key, body) for system, scaffold in scaffolds
                                     if (body := scaffold.environment(new, environment)) is not None])
                      for environment in new.environments],
    )
