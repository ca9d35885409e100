"""Every file of a new infrastructure project (``securepipe init``), by path relative to its directory."""

from __future__ import annotations

import re

from ..project import DEFAULT_DECLARATION_FILE
from ..version import compatible_requirement
from .declaration import TEMPLATES, declaration_text
from .model import NewOrganization, new_organization
from .stack_files import provider_settings, stack_file_text

STACKS_DIR = DEFAULT_DECLARATION_FILE.parent.as_posix()
"""The project's ``stackConfigDir``: the declaration and one ``Pulumi.<environment>.yaml`` per stack."""
ADMIN_CLIENT_ID = "vault"
"""Vault's client id at the identity provider in a new project (the declaration's ``bound_audiences``)."""
_NOT_A_NAME = re.compile(r"[^a-z0-9-]+")


def organization_name(directory_name: str) -> str | None:
    """An organisation name made of a directory's name (``Globex_Infra`` -> ``globex-infra``), if one can be."""
    name = _NOT_A_NAME.sub("-", directory_name.lower()).strip("-")[:32].rstrip("-")
    return name if re.fullmatch(r"[a-z](?:[a-z0-9-]*[a-z0-9])?", name) else None


def stack_file_path(stack: str) -> str:
    return f"{STACKS_DIR}/Pulumi.{stack}.yaml"


def project_files(organization: str, installed_version: str) -> dict[str, str]:
    """The files of a new project for ``organization``, pinned to the toolkit's ``installed_version``."""
    new: NewOrganization = new_organization(organization)
    resources_stack = new.environments[-1].name
    files = {
        "Pulumi.yaml": TEMPLATES.render("Pulumi.yaml.j2", project=f"{organization}-infrastructure",
                                        organization=organization),
        "__main__.py": TEMPLATES.render("main.py.j2"),
        "requirements.txt": TEMPLATES.render("requirements.txt.j2",
                                             requirement=compatible_requirement(installed_version)),
        ".gitignore": TEMPLATES.render("gitignore.j2"),
        DEFAULT_DECLARATION_FILE.as_posix(): declaration_text(new),
    }
    for environment in new.environments:
        settings = provider_settings(environment.name, owner=new.owner, resources=environment.name == resources_stack,
                                     vault_address=None, admin_client_id=ADMIN_CLIENT_ID, organization=organization)
        files[stack_file_path(environment.name)] = stack_file_text(settings)
    return files
