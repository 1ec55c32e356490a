"""Static checks of the production compose layout (no Docker engine needed).

docker-compose.yml against the vendored Compose Specification schema (see README.md), the
topology the hub relies on (replicas, Postgres + Redis), healthchecks behind every
`service_healthy` dependency, the Dockerfiles, the nginx WebSocket route and `.env.example`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from handoff.settings import Settings

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
COMPOSE_FILE = REPO / "docker-compose.yml"
SCHEMA_FILE = HERE / "compose-spec.json"
NGINX_CONF = REPO / "deploy" / "nginx.conf"
ENV_EXAMPLE = REPO / ".env.example"

# `KEY=value` (set, shows the default) or `#KEY=` (unset by default); prose comments use "# ".
ENV_LINE = re.compile(r"^#?([A-Z][A-Z0-9_]*)=(.*)$")


def load_compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), "docker-compose.yml is not a mapping"
    return data


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # ["KEY=value", ...]
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: "service_started" for name in deps}
    return {name: spec["condition"] for name, spec in deps.items()}


# (a) ---------------------------------------------------------------------------------------


def test_compose_file_validates_against_vendored_schema() -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    # The vendored schema declares `http://json-schema.org/draft/2019-09/schema#`; jsonschema
    # registers the https spelling without "#", and would silently fall back to its newest
    # draft for an unknown URI. Normalise, and refuse to guess.
    dialect = schema["$schema"].replace("http://", "https://", 1).rstrip("#")
    validator_cls = jsonschema.validators.validator_for({"$schema": dialect}, default=None)
    assert validator_cls is jsonschema.Draft201909Validator, f"unexpected dialect {schema['$schema']}"
    validator_cls.check_schema(schema)
    validator = validator_cls(schema, format_checker=validator_cls.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(load_compose()), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors)


def test_expected_services_present(services: dict[str, Any]) -> None:
    expected = {"postgres", "redis", "migrate", "hub", "rasa-1", "rasa-2", "actions-1", "actions-2", "proxy"}
    assert expected <= set(services)


# (b) ---------------------------------------------------------------------------------------


def test_hub_is_replicated_on_postgres_and_redis(services: dict[str, Any]) -> None:
    hub = services["hub"]
    assert int(hub["deploy"]["replicas"]) >= 2
    assert not hub.get("container_name"), "a fixed container_name prevents replicas"
    assert not hub.get("ports"), "replicas cannot share a published host port; the proxy publishes"
    env = env_of(hub)
    assert env["DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert "@postgres:5432/" in env["DATABASE_URL"]
    assert env["REDIS_URL"].startswith("redis://redis:")
    assert env["HUB_HOST"] == "0.0.0.0"
    assert env["RASA_URLS"] == "http://rasa-1:5005,http://rasa-2:5005"
    assert env["ACTIONS_URLS"] == "http://actions-1:5055,http://actions-2:5055"
    assert env["CHANNEL_SANDBOX"].lower() == "false"
    # The hub keeps state across replicas only through Postgres + Redis: no SQLite anywhere.
    assert "sqlite" not in COMPOSE_FILE.read_text(encoding="utf-8")


def test_hub_start_order(services: dict[str, Any]) -> None:
    deps = depends_on(services["hub"])
    assert deps["migrate"] == "service_completed_successfully"
    assert deps["redis"] == "service_healthy"
    assert deps["rasa-1"] == deps["rasa-2"] == "service_healthy"
    assert depends_on(services["migrate"])["postgres"] == "service_healthy"
    assert services["migrate"]["command"][-1] == "migrate"
    assert env_of(services["migrate"])["DATABASE_URL"] == env_of(services["hub"])["DATABASE_URL"]


def test_secrets_are_not_hardcoded(services: dict[str, Any]) -> None:
    pg_password = env_of(services["postgres"])["POSTGRES_PASSWORD"]
    assert re.fullmatch(r"\$\{POSTGRES_PASSWORD:\?[^}]*\}", pg_password), pg_password
    assert "${POSTGRES_PASSWORD" in env_of(services["hub"])["DATABASE_URL"]


def test_images_are_pinned(services: dict[str, Any]) -> None:
    for name, svc in services.items():
        if "build" in svc:
            continue
        image = svc["image"]
        assert ":" in image.rsplit("/", 1)[-1], f"{name}: image {image!r} has no tag"
        assert not image.endswith(":latest"), f"{name}: image {image!r} uses latest"


# (c) ---------------------------------------------------------------------------------------


def test_service_healthy_targets_have_healthchecks(services: dict[str, Any]) -> None:
    targets = {
        target for svc in services.values() for target, cond in depends_on(svc).items() if cond == "service_healthy"
    }
    assert targets, "no service_healthy dependency at all"
    for target in sorted(targets):
        assert target in services, f"depends_on an unknown service {target!r}"
        check = services[target].get("healthcheck")
        assert check and not check.get("disable") and check.get("test"), f"{target} has no healthcheck"


def test_healthchecks_hit_the_documented_endpoints(services: dict[str, Any]) -> None:
    def test_cmd(name: str) -> str:
        test = services[name]["healthcheck"]["test"]
        return " ".join(test) if isinstance(test, list) else test

    assert "/healthz" in test_cmd("hub")
    assert "/status" in test_cmd("rasa-1") and "/status" in test_cmd("rasa-2")
    assert "/health" in test_cmd("actions-1") and "/health" in test_cmd("actions-2")
    assert "pg_isready" in test_cmd("postgres")
    # python:*-slim has no curl: the app images probe with the standard library.
    for name in ("hub", "rasa-1", "rasa-2", "actions-1", "actions-2"):
        assert "curl" not in test_cmd(name) and "urllib" in test_cmd(name)


def test_all_dependencies_exist(services: dict[str, Any]) -> None:
    for name, svc in services.items():
        for target in depends_on(svc):
            assert target in services, f"{name} depends on unknown service {target!r}"


# (d) ---------------------------------------------------------------------------------------


def dockerfiles(services: dict[str, Any]) -> list[tuple[Path, Path]]:
    """(build context, Dockerfile) pairs referenced by the compose file, deduplicated."""
    found: dict[Path, Path] = {}
    for svc in services.values():
        build = svc.get("build")
        if build is None:
            continue
        if isinstance(build, str):
            build = {"context": build}
        context = (COMPOSE_FILE.parent / build.get("context", ".")).resolve()
        found[(context / build.get("dockerfile", "Dockerfile")).resolve()] = context
    return [(ctx, df) for df, ctx in found.items()]


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, args = line.partition(" ")
        out.append((instruction.upper(), args.strip()))
    return out


def test_dockerfiles_exist_pin_base_and_copy_existing_paths(services: dict[str, Any]) -> None:
    pairs = dockerfiles(services)
    assert {df.name for _, df in pairs} >= {"hub.Dockerfile", "bot.Dockerfile"}
    for context, dockerfile in pairs:
        assert dockerfile.is_file(), f"missing {dockerfile}"
        instructions = dockerfile_instructions(dockerfile)
        froms = [args for ins, args in instructions if ins == "FROM"]
        assert froms, f"{dockerfile.name}: no FROM"
        for args in froms:
            image = args.split()[0]
            if "@sha256:" in image:
                continue
            tag = image.rsplit("/", 1)[-1].partition(":")[2]
            assert tag and tag != "latest", f"{dockerfile.name}: unpinned base image {image!r}"
        for ins, args in instructions:
            if ins not in ("COPY", "ADD"):
                continue
            parts = [p for p in args.split() if not p.startswith("--")]
            if parts and parts[0].startswith("["):  # JSON form
                parts = json.loads(args[args.index("[") :])
            assert len(parts) >= 2, f"{dockerfile.name}: malformed {ins} {args}"
            for src in parts[:-1]:
                assert (context / src).exists(), f"{dockerfile.name}: {ins} source {src!r} not in the repo"


def test_bot_image_uses_compose_endpoints(services: dict[str, Any]) -> None:
    endpoints = yaml.safe_load((REPO / "deploy" / "endpoints.compose.yml").read_text(encoding="utf-8"))
    assert endpoints["action_endpoint"]["url"] == "${ACTION_SERVER_URL}"
    # each Rasa replica calls its own action server; both share dialogue state and locks
    assert endpoints["tracker_store"]["type"] == "SQL" and endpoints["tracker_store"]["url"] == "postgres"
    assert endpoints["lock_store"]["type"] == "redis"
    for n in ("1", "2"):
        rasa = services[f"rasa-{n}"]
        assert env_of(rasa)["ACTION_SERVER_URL"] == f"http://actions-{n}:5055/webhook"
        assert depends_on(rasa)[f"actions-{n}"] == "service_started"
        command = rasa["command"]
        assert command[command.index("--endpoints") + 1] == "bot/endpoints.compose.yml"
        assert services[f"actions-{n}"]["working_dir"] == "/app/bot"
    bot_dockerfile = (REPO / "deploy" / "bot.Dockerfile").read_text(encoding="utf-8")
    assert "COPY deploy/endpoints.compose.yml bot/endpoints.compose.yml" in bot_dockerfile


# (e) ---------------------------------------------------------------------------------------


def nginx_location(conf: str, path: str) -> str:
    match = re.search(r"location\s+(?:[=^~]+\s+)?" + re.escape(path) + r"\s*\{(?P<body>[^}]*)\}", conf)
    assert match, f"nginx.conf has no location for {path}"
    return match.group("body")


def test_nginx_routes_websocket_to_hub_upstream(services: dict[str, Any]) -> None:
    conf = re.sub(r"#[^\n]*", "", NGINX_CONF.read_text(encoding="utf-8"))
    upstream = re.search(r"upstream\s+(\w+)\s*\{(?P<body>[^}]*)\}", conf)
    assert upstream and re.search(r"server\s+hub:8000\b", upstream.group("body")), "upstream must target hub:8000"
    ws = nginx_location(conf, "/webchat/ws")
    assert re.search(rf"proxy_pass\s+http://{upstream.group(1)}\s*;", ws)
    assert re.search(r"proxy_http_version\s+1\.1\s*;", ws)
    assert re.search(r"proxy_set_header\s+Upgrade\s+\$http_upgrade\s*;", ws)
    connection = re.search(r"proxy_set_header\s+Connection\s+(\S+)\s*;", ws)
    assert connection, "no Connection header on the WebSocket route"
    value = connection.group(1)
    if value.startswith("$"):  # a map from $http_upgrade that yields "upgrade"
        mapping = re.search(r"map\s+\$http_upgrade\s+" + re.escape(value) + r"\s*\{(?P<body>[^}]*)\}", conf)
        assert mapping and re.search(r"default\s+upgrade\s*;", mapping.group("body"))
    else:
        assert value.strip("\"'").lower() == "upgrade"
    # The proxy mounts this file and is the only published port.
    proxy = services["proxy"]
    assert any("deploy/nginx.conf" in v for v in proxy["volumes"])
    assert any(str(p).endswith(":80") for p in proxy["ports"])


# (f) ---------------------------------------------------------------------------------------


def env_example() -> tuple[dict[str, str], set[str]]:
    """Keys of .env.example -> value ('' for unset `#KEY=`), and the keys marked compose only.

    Each key (or group of adjacent keys) follows a prose comment; a comment ending in
    `# compose only` marks the key(s) below it as read by docker-compose.yml, not the hub.
    """
    keys: dict[str, str] = {}
    compose_only: set[str] = set()
    comment: str | None = None
    for raw in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        match = ENV_LINE.match(line)
        if match:
            key = match.group(1)
            assert key not in keys, f".env.example lists {key} twice"
            assert comment is not None, f".env.example: {key} has no comment above it"
            keys[key] = "" if line.startswith("#") else match.group(2)
            if comment.endswith("# compose only"):
                compose_only.add(key)
        elif line.startswith("#"):
            comment = line
        elif not line:
            comment = None
    return keys, compose_only


def test_env_example_lists_exactly_the_settings_keys() -> None:
    keys, compose_only = env_example()
    settings_keys = {name.upper() for name in Settings.model_fields}
    assert compose_only, "no key is marked `# compose only`"
    assert "POSTGRES_PASSWORD" in compose_only
    assert not (compose_only & settings_keys), "a hub setting is marked compose only"
    missing = settings_keys - set(keys)
    extra = set(keys) - settings_keys - compose_only
    assert not missing, f".env.example lacks: {sorted(missing)}"
    assert not extra, f".env.example has keys Settings does not know: {sorted(extra)}"


def test_env_example_values_are_the_settings_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    keys, compose_only = env_example()
    for key in keys:
        monkeypatch.delenv(key, raising=False)
    from_file = Settings(_env_file=ENV_EXAMPLE)  # type: ignore[call-arg]
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    for key, value in keys.items():
        if key in compose_only:
            continue
        field = key.lower()
        assert getattr(from_file, field) == getattr(defaults, field), f".env.example {key}={value!r} is not the default"
        if value == "":  # `#KEY=`: the default must really be "unset" or computed
            assert getattr(defaults, field) is None or Settings.model_fields[field].default_factory is not None


def test_compose_interpolated_vars_are_documented() -> None:
    """Every ${VAR} docker-compose.yml interpolates appears in .env.example (a setting or compose only)."""
    keys, _ = env_example()
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", COMPOSE_FILE.read_text(encoding="utf-8")))
    assert used, "docker-compose.yml interpolates nothing"
    assert not (used - set(keys)), f"undocumented compose variables: {sorted(used - set(keys))}"
