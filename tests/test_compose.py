"""docker-compose.yml, the Dockerfile and deploy/: valid, and in agreement with the hub's own options.

No Docker engine runs here: Debian's ``docker-compose`` validates and resolves a
compose file without one (``.ci/run`` installs it). The checks read the file as
compose itself resolves it (``docker-compose config``), so anchors and merge
keys are expanded exactly as a deployment sees them.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from hub.cli import build_parser
from hub.cli.options import ENV, ENVIRONMENT
from hub.cli.parser import commands
from hub.config import load_config
from tests.timing import STARTUP

ROOT = Path(__file__).parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()
HAPROXY = ROOT / "deploy" / "haproxy.cfg"
HUBS = ("hub1", "hub2")
NO_COMPOSE = "docker-compose is not installed (.ci/run installs Debian's: apt-get install docker-compose)"


def cli_variables() -> set[str]:
    """The CRISIS_HUB_* variables the command line reads."""
    return {variable.name for variable in ENVIRONMENT} | {ENV}


def docker_compose(*args: str, env_dir: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.skip(NO_COMPOSE)
    # Hermetic: no operator .env file, no COMPOSE_* settings, no CONNECTOR_TOKEN from this shell.
    env_file = env_dir / "empty.env"
    env_file.touch()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_") and k != "CONNECTOR_TOKEN"}
    return subprocess.run(
        [exe, "--env-file", str(env_file), "-f", str(ROOT / "docker-compose.yml"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=STARTUP,
    )


def _python_script(exe: str | None) -> list[str]:
    """The interpreter command of a Python script (docker-compose 1.x), or [] (compose 2 is a Go binary)."""
    if exe is None:
        pytest.skip(NO_COMPOSE)
    with open(exe, "rb") as file:
        first = file.readline(200).decode("utf-8", "replace")
    return first[2:].split() if first.startswith("#!") and "python" in first else []


def _yaml_to_json(text: str) -> Any:
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:
        pass
    else:
        return yaml.safe_load(text)
    # docker-compose 1.x is a Python program with PyYAML: its own interpreter reads its output.
    interpreter = _python_script(shutil.which("docker-compose"))
    assert interpreter, "docker-compose 1.x is a Python script"
    converted = subprocess.run(
        [*interpreter, "-c", "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"],
        input=text,
        capture_output=True,
        text=True,
        timeout=STARTUP,
        check=True,
    )
    return json.loads(converted.stdout)


@pytest.fixture(scope="module")
def compose(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The compose file as docker-compose resolves it (compose 2 prints JSON itself; 1.x only YAML)."""
    env_dir = tmp_path_factory.mktemp("compose")
    if not _python_script(shutil.which("docker-compose")):
        as_json = docker_compose("config", "--format", "json", env_dir=env_dir)
        assert as_json.returncode == 0, as_json.stderr
        model: dict[str, Any] = json.loads(as_json.stdout)
        return model
    resolved = docker_compose("config", env_dir=env_dir)
    assert resolved.returncode == 0, resolved.stderr
    model = _yaml_to_json(resolved.stdout)
    return model


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def dockerfile_env() -> dict[str, str]:
    return dict(re.findall(r"\b(CRISIS_HUB_[A-Z0-9_]+)=(\S+)", DOCKERFILE))


def hub_port(service: dict[str, Any]) -> int:
    """The port a hub service listens on: its environment, else the image's, else the CLI's default."""
    [default] = [variable.default for variable in ENVIRONMENT if variable.name == "CRISIS_HUB_PORT"]
    assert default, "the command line reads CRISIS_HUB_PORT with a default"
    env = environment(service).get("CRISIS_HUB_PORT") or dockerfile_env().get("CRISIS_HUB_PORT")
    return int(env or default)


def published_target(service: dict[str, Any]) -> int:
    """The container port of a service's first published port."""
    port = service["ports"][0]
    return int(port["target"] if isinstance(port, dict) else str(port).rsplit(":", 1)[1])


def healthcheck_text(service: dict[str, Any]) -> str:
    test = (service.get("healthcheck") or {}).get("test") or []
    return test if isinstance(test, str) else " ".join(test)


def health_disabled(service: dict[str, Any]) -> bool:
    check = service.get("healthcheck") or {}
    return bool(check.get("disable")) or (check.get("test") or [None])[0] == "NONE"


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path → host path (or volume name) of a service's volumes."""
    out: dict[str, str] = {}
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            out[volume["target"]] = str(volume["source"])
        else:
            source, target = volume.split(":")[:2]
            out[target] = source
    return out


def haproxy() -> dict[str, list[str]]:
    """deploy/haproxy.cfg as {section header: its lines, without comments}."""
    text = HAPROXY.read_text()
    sections: dict[str, list[str]] = {}
    current = ""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if not raw[:1].isspace():
            current = line
            sections[current] = []
        else:
            sections[current].append(line)
    return sections


def test_compose_file_is_valid(tmp_path: Path) -> None:
    """`docker-compose config -q` passes, as CI requires."""
    result = docker_compose("config", "-q", env_dir=tmp_path)
    assert result.returncode == 0, result.stderr


def test_services_are_redis_two_hubs_a_proxy_and_a_connector(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"redis", *HUBS, "proxy", "connector"}
    assert compose["services"]["hub1"]["image"] == compose["services"]["hub2"]["image"]


def test_redis_is_redis_7_with_aof_on_a_named_volume(compose: dict[str, Any]) -> None:
    redis = compose["services"]["redis"]
    assert redis["image"].split(":")[0] == "redis" and redis["image"].split(":")[1].startswith("7")
    command = redis["command"] if isinstance(redis["command"], list) else redis["command"].split()
    assert command[command.index("--appendonly") + 1] == "yes"
    assert "allkeys" not in " ".join(command) and "volatile" not in " ".join(command), "never evict the event log"
    assert mounts(redis)["/data"] in compose["volumes"], "Redis keeps /data on a named volume"
    assert "redis-cli ping" in healthcheck_text(redis)


def test_every_hub_variable_in_the_deployment_is_one_the_cli_reads(compose: dict[str, Any]) -> None:
    known = cli_variables()
    assert {"CRISIS_HUB_REDIS_URL", "CRISIS_HUB_CONFIG", "CRISIS_HUB_PORT", "CRISIS_HUB_URL"} <= known
    for name, service in compose["services"].items():
        unknown = {k for k in environment(service) if k.startswith("CRISIS_HUB_")} - known
        assert not unknown, f"service {name} sets {sorted(unknown)}, which the command line never reads"
    assert set(dockerfile_env()) <= known, "the Dockerfile sets a CRISIS_HUB_* variable the command line never reads"
    script = (ROOT / "deploy" / "connector.sh").read_text()
    assert set(re.findall(r"CRISIS_HUB_[A-Z0-9_]+", script)) <= known


def test_hubs_use_the_redis_service(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for hub in HUBS:
        url = urlsplit(environment(services[hub])["CRISIS_HUB_REDIS_URL"])
        assert url.scheme == "redis" and url.hostname == "redis" and (url.port or 6379) == 6379
        assert services[hub]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert (
        environment(services["connector"])["CRISIS_HUB_REDIS_URL"]
        == environment(services["hub1"])["CRISIS_HUB_REDIS_URL"]
    ), "the connector's tokens must land where the hubs look for them"


def test_hubs_listen_on_every_interface_and_are_not_published(compose: dict[str, Any]) -> None:
    for hub in HUBS:
        service = compose["services"][hub]
        host = environment(service).get("CRISIS_HUB_HOST") or dockerfile_env().get("CRISIS_HUB_HOST")
        assert host == "0.0.0.0", "a hub bound to 127.0.0.1 is unreachable from the proxy"
        assert not service.get("ports"), "only the proxy is published"
        assert str(hub_port(service)) in [str(p) for p in service.get("expose", [])]


def test_the_proxy_balances_over_both_hubs_on_their_port(compose: dict[str, Any]) -> None:
    services = compose["services"]
    proxy = services["proxy"]
    assert mounts(proxy)["/usr/local/etc/haproxy/haproxy.cfg"] == str(HAPROXY)
    sections = haproxy()
    frontend = next(lines for header, lines in sections.items() if header.startswith("frontend"))
    backend_name = next(line.split()[1] for line in frontend if line.startswith("default_backend"))
    backend = sections[f"backend {backend_name}"]
    servers = {tuple(line.split()[2].rsplit(":", 1)) for line in backend if line.startswith("server ")}
    assert servers == {(hub, str(hub_port(services[hub]))) for hub in HUBS}
    bind_port = next(int(line.split()[1].rsplit(":", 1)[1]) for line in frontend if line.startswith("bind "))
    assert published_target(proxy) == bind_port
    assert services["proxy"]["depends_on"].keys() >= set(HUBS)


def test_the_proxy_keeps_websocket_streams_open() -> None:
    """Once upgraded, a stream is timed by `timeout tunnel`: long enough for the hub's 15 s heartbeats."""
    sections = haproxy()
    defaults = sections["defaults"]
    assert "mode http" in defaults, "HAProxy passes WebSocket upgrades through in http mode"
    tunnel = next(line.split()[2] for line in defaults if line.startswith("timeout tunnel"))
    seconds = int(tunnel[:-1]) * {"s": 1, "m": 60, "h": 3600}[tunnel[-1]]
    assert seconds >= 600
    assert any(line.startswith("balance leastconn") for line in sections["backend hubs"])


def test_health_checks_hit_the_health_route(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for hub in HUBS:
        assert f"127.0.0.1:{hub_port(services[hub])}/api/v1/health" in healthcheck_text(services[hub])
    assert "/api/v1/health" in healthcheck_text(services["proxy"])
    assert re.search(r"^HEALTHCHECK .*\n?.*/api/v1/health", DOCKERFILE, re.M), "the image's own check"
    sections = haproxy()
    assert "option httpchk GET /api/v1/health" in sections["backend hubs"]
    # The hub image's check probes a hub: a service of that image that is not one must switch it off.
    for name, service in services.items():
        if service.get("image") == services["hub1"]["image"] and name not in HUBS:
            assert health_disabled(service), f"{name} would inherit a hub's health check"


def test_depends_on_healthy_only_where_there_is_a_health_check(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for target, rule in (service.get("depends_on") or {}).items():
            if rule.get("condition") == "service_healthy":
                assert healthcheck_text(services[target]) and not health_disabled(services[target]), (
                    f"{name} waits for {target} to be healthy, which has no health check"
                )
    assert services["connector"]["depends_on"]["proxy"]["condition"] == "service_healthy"


def test_the_hubs_configuration_is_mounted_and_valid(compose: dict[str, Any]) -> None:
    for hub in HUBS:
        service = compose["services"][hub]
        host_path = Path(mounts(service)[environment(service)["CRISIS_HUB_CONFIG"]])
        assert host_path == ROOT / "deploy" / "crisis-hub.toml"
        load_config(host_path)  # raises ConfigError naming the key if not


def test_the_connector_watches_through_the_proxy_with_an_existing_command(compose: dict[str, Any]) -> None:
    services = compose["services"]
    connector = services["connector"]
    env = environment(connector)
    url = urlsplit(env["CRISIS_HUB_URL"])
    assert url.hostname == "proxy" and url.port == published_target(services["proxy"])
    script_in_container = next(arg for arg in connector["command"] if arg.endswith(".sh"))
    assert Path(mounts(connector)[script_in_container]) == ROOT / "deploy" / "connector.sh"
    script = (ROOT / "deploy" / "connector.sh").read_text()
    used = set(re.findall(r"^\s*(?:exec )?crisis-hub (\w+)", script, re.M))
    assert used == {"token", "watch"}
    assert used <= {path[0] for path, _ in commands(build_parser())}, "the connector runs a command the CLI has"
    config = load_config(ROOT / "deploy" / "crisis-hub.toml")
    reader = config.principals[env["CONNECTOR_STAKEHOLDER"]]
    assert set(env["CONNECTOR_CHANNELS"].split()) <= set(reader.read), "it may read every channel it watches"


def test_the_image_is_slim_non_root_and_built_from_what_pip_installs() -> None:
    assert re.search(r"^FROM python:3\.11-slim\b", DOCKERFILE, re.M)
    assert re.search(r"pip install /src\b", DOCKERFILE)
    user = re.findall(r"^USER (\S+)", DOCKERFILE, re.M)[-1]
    assert user.split(":")[0] not in ("root", "0")
    assert re.search(r"^EXPOSE 8080$", DOCKERFILE, re.M) and re.search(
        r'^CMD \["crisis-hub", "serve"\]', DOCKERFILE, re.M
    )
    # .dockerignore lets in only what it names: it must name every source folder pyproject.toml installs.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    setup = project["tool"]["setuptools"]
    folders = {p.split(".")[0] for p in setup["packages"] if p not in setup.get("package-dir", {})}
    folders |= {d.split("/")[0] for d in setup.get("package-dir", {}).values()}
    allowed = {line[1:] for line in (ROOT / ".dockerignore").read_text().splitlines() if line.startswith("!")}
    needed = folders | {"pyproject.toml", project["project"]["readme"]}
    assert needed <= allowed, f"add to .dockerignore: {sorted('!' + n for n in needed - allowed)}"


def test_the_hubs_trust_forwarded_addresses_from_the_compose_network_alone(compose: dict[str, Any]) -> None:
    """The proxy appends each client's address; the hubs believe it from the proxy's network alone."""
    services = compose["services"]
    for name in (*HUBS, "proxy"):
        assert not services[name].get("networks") or list(services[name]["networks"]) == ["default"], name
    [subnet] = [ipaddress.ip_network(c["subnet"]) for c in compose["networks"]["default"]["ipam"]["config"]]
    config = load_config(ROOT / "deploy" / "crisis-hub.toml")
    assert config.hub.trusted_proxies == (subnet,)
    assert config.hub.auth_failures_per_minute <= 100, "the hubs throttle each client: no lifted limit"
    sections = haproxy()
    forwarding = [line for lines in sections.values() for line in lines if line.startswith("option forwardfor")]
    assert forwarding == ["option forwardfor"], "appended to what the client sent, never `if-none`"
