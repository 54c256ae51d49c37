#!/usr/bin/env python3
"""Starts a compose project under Podman in the order its `depends_on` conditions say, and
runs its healthchecks: what `docker compose up --wait` does, for Podman 4.3.

podman-compose 1.6.0 creates the containers (`up --no-start`), but with Podman older than 4.6
it ignores `service_healthy`, and without systemd Podman runs no healthcheck by itself. So:
for each service, in dependency order, this waits for every condition it names
(service_started: running; service_healthy: its own healthcheck passes, run with `podman
healthcheck run`; service_completed_successfully: exited 0), then starts it; at the end every
service with a healthcheck must be healthy and every one-shot must have exited 0.

    compose_up.py --timeout 300 [--only SERVICE ...] -- podman-compose -p P -f a.yml -f b.yml

Needs PyYAML (podman-compose brings it). Exit status 1 with the reason when anything is not up.
"""
import argparse
import subprocess
import sys
import time

import yaml


def run(*args, check=True, capture=True):
    result = subprocess.run(args, text=True, capture_output=capture)
    if check and result.returncode != 0:
        sys.exit(f"compose_up: {' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result


def dependencies(service):
    depends = service.get("depends_on") or {}
    if isinstance(depends, list):
        return {name: "service_started" for name in depends}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in depends.items()}


def order(services, wanted):
    """The wanted services and what they depend on, dependencies first."""
    done, out = set(), []

    def visit(name, path=()):
        if name in done:
            return
        if name in path:
            sys.exit(f"compose_up: dependency cycle through {name}")
        if name not in services:
            sys.exit(f"compose_up: {path[-1] if path else '?'} depends on {name}, which is not in this run")
        for dependency in dependencies(services[name]):
            visit(dependency, path + (name,))
        done.add(name)
        out.append(name)

    for name in wanted:
        visit(name)
    return out


def container(project, service):
    names = run("podman", "ps", "-a", "--format", "{{.Names}}",
                "--filter", f"label=io.podman.compose.project={project}",
                "--filter", f"label=com.docker.compose.service={service}").stdout.split()
    if not names:
        sys.exit(f"compose_up: no container for service {service}")
    return names[0]


def state(name):
    out = run("podman", "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name).stdout.split()
    return out[0], int(out[1])


def healthy(name):
    return run("podman", "healthcheck", "run", name, check=False).returncode == 0


def wait_for(project, service, condition, deadline):
    name = container(project, service)
    while True:
        status, code = state(name)
        if condition == "service_started" and status == "running":
            return
        if condition == "service_healthy" and status == "running" and healthy(name):
            return
        if condition == "service_completed_successfully" and status in ("exited", "stopped"):
            if code == 0:
                return
            logs = run("podman", "logs", "--tail", "30", name, check=False)
            sys.exit(f"compose_up: {service} exited {code}:\n{logs.stdout}{logs.stderr}")
        if time.monotonic() > deadline:
            logs = run("podman", "logs", "--tail", "40", name, check=False)
            sys.exit(f"compose_up: {service} is not {condition} in time (state {status} {code}):\n"
                     f"{logs.stdout}{logs.stderr}")
        time.sleep(2)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--timeout", type=int, default=300, help="seconds for each condition")
    parser.add_argument("--only", nargs="*", default=None, help="these services and their dependencies")
    parser.add_argument("compose", nargs=argparse.REMAINDER, help="-- the compose command")
    args = parser.parse_args()
    compose = [word for word in args.compose if word != "--"] if args.compose else []
    if not compose:
        parser.error("the compose command is missing")
    config = yaml.safe_load(run(*compose, "config").stdout)
    project = next((compose[i + 1] for i, word in enumerate(compose) if word in ("-p", "--project-name")),
                   config.get("name"))
    services = {name: spec for name, spec in config["services"].items() if not spec.get("profiles")}
    # A dependency marked `required: false` whose service is not in this run (left out by a
    # profile, as Mailpit is in the rehearsal) is skipped, as Docker Compose skips it.
    for spec in services.values():
        depends = spec.get("depends_on")
        if isinstance(depends, dict):
            for name in [name for name, dep in depends.items()
                         if name not in services and (dep or {}).get("required") is False]:
                del depends[name]
    wanted = args.only if args.only else list(services)
    names = order(services, wanted)
    print(f"==> creating {len(names)} containers: {' '.join(names)}", flush=True)
    # --no-deps: podman-compose would otherwise tie each container to its dependencies
    # (`podman create --requires`), and `podman start` would then start a finished one-shot
    # (temporal-setup) again with every service that depends on it.
    run(*compose, "up", "-d", "--no-build", "--no-start", "--no-deps", *names, capture=False)
    for service in names:
        for dependency, condition in dependencies(services[service]).items():
            wait_for(project, dependency, condition, time.monotonic() + args.timeout)
        print(f"==> starting {service}", flush=True)
        run("podman", "start", container(project, service))
    print("==> waiting for every healthcheck and every one-shot", flush=True)
    for service in names:
        spec = services[service]
        if spec.get("healthcheck") and not spec["healthcheck"].get("disable"):
            condition = "service_healthy"
        elif spec.get("restart") == "no":
            condition = "service_completed_successfully"
        else:
            condition = "service_started"
        started = time.monotonic()
        wait_for(project, service, condition, started + args.timeout)
        print(f"  {service:16} {condition.replace('service_', '')}", flush=True)


if __name__ == "__main__":
    main()
