"""How `sam build` packs each function: functions/Makefile, one requirements file per function.
What the build holds (bytecode, no extra libraries) is checked on the build itself by
infra/check-template."""

from __future__ import annotations

import re
import tomllib

import pytest

from tests.stack.cfn import FUNCTIONS, RESOURCES, ROOT, TEMPLATE

MAKEFILE = (ROOT / "functions" / "Makefile").read_text("utf-8")
RUNTIME_PROVIDES = {"boto3"}
CLI_ONLY = {"tqdm"}  # the backfill's progress bar: the command line's, never a function's
NEEDS = {
    "DigestFunction": {"requests", "urllib3", "jinja2", "aws-lambda-powertools", "tzdata"},
    "FeedFunction": {"jinja2", "aws-lambda-powertools", "tzdata"},  # no requests
}


def requirement_names(path: str) -> list[str]:
    lines = (ROOT / "functions" / path).read_text("utf-8").splitlines()
    return [re.split(r"[\s<>=!~;\[]", line, maxsplit=1)[0].lower()
            for line in lines if line.strip() and not line.startswith("#")]  # fmt: skip


def requirements_file(function: str) -> str:
    (path,) = re.findall(rf"^build-{function}: REQUIREMENTS = (\S+)$", MAKEFILE, re.M)
    return str(path)


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_each_function_is_built_by_the_makefile_with_only_what_it_needs(function: str) -> None:
    assert RESOURCES[function]["Metadata"] == {"BuildMethod": "makefile"}
    targets = re.findall(r"^((?:build-\w+ ?)+):\s*$", MAKEFILE, re.M)
    assert targets == [" ".join(f"build-{name}" for name in FUNCTIONS)]
    names = requirement_names(requirements_file(function))
    assert sorted(names) == sorted(NEEDS[function])


def test_the_requirements_files_together_are_the_projects_dependencies() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    declared = {re.split(r"[<>=!~;\[ ]", dependency, maxsplit=1)[0].lower()
                for dependency in project["dependencies"]}  # fmt: skip
    files = {requirements_file(function) for function in FUNCTIONS}
    shipped = {name for path in files for name in requirement_names(path)}
    assert shipped == declared - RUNTIME_PROVIDES - CLI_ONLY
    assert sorted(p.name for p in (ROOT / "functions" / "requirements").iterdir()) == sorted(
        path.removeprefix("requirements/") for path in files
    )


def test_the_build_targets_the_lambda_runtime() -> None:
    """Wheels and bytecode for the runtime's Python and architecture, not the builder's."""
    globals_ = TEMPLATE["Globals"]["Function"]
    (version,) = re.findall(r"^PYTHON_VERSION = (\S+)$", MAKEFILE, re.M)
    assert globals_["Runtime"] == f"python{version}"
    assert globals_["Architectures"] == ["arm64"]
    platforms = re.findall(r"--platform (\S+)", MAKEFILE)
    assert platforms
    assert all(platform.endswith("_aarch64") for platform in platforms)
    assert "--invalidation-mode unchecked-hash" in MAKEFILE
