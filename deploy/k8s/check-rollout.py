#!/usr/bin/env python3
"""Offline checks of what scripts/worker-rollout.sh renders and of the Temporal Cloud
components, run by `scripts/kind.sh validate` (a schema cannot see any of this):

    check-rollout.py workers RENDERED BUILD SET_CURRENT_IF_NONE [IMAGE]
        RENDERED is `scripts/worker-rollout.sh render BUILD`: the two worker Deployments of
        BUILD, named <role>-BUILD, labelled capstone/build-id=BUILD on the object, the
        selector and the pod template; every container on the build's image; the worker
        container with WORKER_BUILD_ID=BUILD and SET_CURRENT_IF_NONE as given; every
        autoscaler, disruption budget and ScaledObject pointing at BUILD's Deployment or pods,
        a ScaledObject's temporal trigger at BUILD's version.

    check-rollout.py rest RENDERED
        RENDERED is an overlay without its worker objects (scripts/lib/split-workers.awk
        want=rest): no worker Deployment, autoscaler or budget is left, and both worker
        Services are, selecting by role only (so that every build's pods are scraped).

    check-rollout.py cloud RENDERED api-key|mtls [ROLE,ROLE...]
        RENDERED is an overlay with deploy/k8s/components/temporal-cloud(-mtls): no Temporal dev
        server; every container that talks to Temporal (api, shipping, setup-temporal, both
        workers) takes TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE from the Secret temporal-cloud,
        and its API key from a key of its own (api-key) or a client certificate mounted from a
        Secret (mtls).
        ROLES: the roles RENDERED must have (default all five; `workflow-worker,activity-worker,
        setup-temporal` for the per-build copies of the workers).

Needs PyYAML. Exit status 1 and one line per problem when any.
"""
import sys

import yaml

WORKERS = ("workflow-worker", "activity-worker")
TEMPORAL_ROLES = ("api", "shipping", "setup-temporal", "workflow-worker", "activity-worker")


def load(path):
    with open(path) as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc]


def env_of(container):
    return {entry["name"]: entry for entry in container.get("env") or []}


def pod_containers(doc):
    spec = doc["spec"]["template"]["spec"]
    return (spec.get("initContainers") or []) + spec["containers"]


def check_workers(docs, build, set_current, image):
    problems = []
    label = "capstone/build-id"
    deployments = {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == "Deployment"}
    expected = {f"{role}-{build}" for role in WORKERS}
    if set(deployments) != expected:
        problems.append(f"Deployments {sorted(deployments)}, expected {sorted(expected)}")
    for doc in docs:
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        if not doc["metadata"]["name"].endswith(f"-{build}"):
            problems.append(f"{name}: not named for build {build}")
        if (doc["metadata"].get("labels") or {}).get(label) != build:
            problems.append(f"{name}: no label {label}={build}")
    for name, doc in deployments.items():
        role = name[: -len(build) - 1]
        if doc["spec"]["selector"]["matchLabels"].get(label) != build:
            problems.append(f"{name}: the selector does not select build {build} only")
        if doc["spec"]["template"]["metadata"]["labels"].get(label) != build:
            problems.append(f"{name}: the pods carry no {label}={build}")
        for container in pod_containers(doc):
            if image and container["image"] != image:
                problems.append(f"{name} container {container['name']}: image {container['image']}, not {image}")
        worker = next((c for c in doc["spec"]["template"]["spec"]["containers"] if c["name"] == role), None)
        if worker is None:
            problems.append(f"{name}: no container {role}")
            continue
        env = env_of(worker)
        if env.get("WORKER_BUILD_ID", {}).get("value") != build:
            problems.append(f"{name}: WORKER_BUILD_ID is not {build}")
        if env.get("SET_CURRENT_IF_NONE", {}).get("value") != set_current:
            problems.append(f"{name}: SET_CURRENT_IF_NONE is not {set_current}")
        if [entry["name"] for entry in worker.get("env") or []].count("SET_CURRENT_IF_NONE") != 1:
            problems.append(f"{name}: SET_CURRENT_IF_NONE set more than once")
    for doc in docs:
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        if doc["kind"] == "HorizontalPodAutoscaler" and doc["spec"]["scaleTargetRef"]["name"] not in expected:
            problems.append(f"{name}: scales {doc['spec']['scaleTargetRef']['name']}")
        if doc["kind"] == "PodDisruptionBudget" and doc["spec"]["selector"]["matchLabels"].get(label) != build:
            problems.append(f"{name}: covers pods of other builds")
        if doc["kind"] == "ScaledObject":
            if doc["spec"]["scaleTargetRef"]["name"] not in expected:
                problems.append(f"{name}: scales {doc['spec']['scaleTargetRef']['name']}")
            first = doc["spec"]["triggers"][0]
            if first["type"] != "temporal" or first["metadata"].get("workerDeploymentBuildId") != build:
                problems.append(f"{name}: the first trigger is not the temporal one of build {build}")
    return problems


def check_rest(docs):
    problems = []
    for doc in docs:
        name = doc["metadata"]["name"]
        if doc["kind"] in ("Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ScaledObject") \
                and name in WORKERS:
            problems.append(f"{doc['kind']}/{name} is left in (it is applied per build)")
    services = {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == "Service"}
    for role in WORKERS:
        service = services.get(role)
        if service is None:
            problems.append(f"Service/{role} is missing: Prometheus finds the workers through it")
        elif "capstone/build-id" in service["spec"]["selector"]:
            problems.append(f"Service/{role} selects one build: it must select every build's pods")
    return problems


def check_cloud(docs, variant, roles=TEMPORAL_ROLES):
    problems = []
    for doc in docs:
        labels = doc["metadata"].get("labels") or {}
        if labels.get("app.kubernetes.io/component") == "temporal-dev-server" and doc["kind"] != "NetworkPolicy":
            problems.append(f"{doc['kind']}/{doc['metadata']['name']}: the dev server is still there")
        if doc["kind"] == "ConfigMap" and doc["metadata"]["name"] == "capstone-config":
            for key in ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE"):
                if key in (doc.get("data") or {}):
                    problems.append(f"capstone-config still sets {key}")
    seen = set()
    for doc in docs:
        if doc["kind"] != "Deployment":
            continue
        spec = doc["spec"]["template"]["spec"]
        for container in pod_containers(doc):
            args = container.get("args") or []
            if not args or args[0] not in TEMPORAL_ROLES:
                continue
            name = f"Deployment/{doc['metadata']['name']} container {container['name']}"
            seen.add(args[0])
            env = env_of(container)
            for variable, key in (("TEMPORAL_ADDRESS", "address"), ("TEMPORAL_NAMESPACE", "namespace")):
                ref = ((env.get(variable) or {}).get("valueFrom") or {}).get("secretKeyRef") or {}
                if (ref.get("name"), ref.get("key")) != ("temporal-cloud", key):
                    problems.append(f"{name}: {variable} does not come from Secret temporal-cloud, key {key}")
            if variant == "api-key":
                ref = ((env.get("TEMPORAL_API_KEY") or {}).get("valueFrom") or {}).get("secretKeyRef") or {}
                if ref.get("name") != "temporal-cloud" or not str(ref.get("key", "")).startswith("api-key-"):
                    problems.append(f"{name}: TEMPORAL_API_KEY does not come from a key of its own")
            else:
                mounts = {mount["name"]: mount for mount in container.get("volumeMounts") or []}
                volumes = {volume["name"]: volume for volume in spec.get("volumes") or []}
                mount, volume = mounts.get("temporal-tls"), volumes.get("temporal-tls")
                if not mount or not mount.get("readOnly") or not volume or "secret" not in volume:
                    problems.append(f"{name}: no client certificate mounted read-only from a Secret")
                else:
                    for variable, file in (("TEMPORAL_TLS_CLIENT_CERT_PATH", "tls.crt"),
                                           ("TEMPORAL_TLS_CLIENT_KEY_PATH", "tls.key")):
                        if (env.get(variable) or {}).get("value") != f"{mount['mountPath']}/{file}":
                            problems.append(f"{name}: {variable} does not name the mounted {file}")
                if "TEMPORAL_API_KEY" in env:
                    problems.append(f"{name}: an API key as well as a client certificate")
    for role in roles:
        if role not in seen:
            problems.append(f"no container runs `capstone {role}`")
    return problems


def main(argv):
    if len(argv) >= 5 and argv[1] == "workers":
        problems = check_workers(load(argv[2]), argv[3], argv[4], argv[5] if len(argv) > 5 else None)
    elif len(argv) == 3 and argv[1] == "rest":
        problems = check_rest(load(argv[2]))
    elif len(argv) in (4, 5) and argv[1] == "cloud" and argv[3] in ("api-key", "mtls"):
        roles = tuple(argv[4].split(",")) if len(argv) == 5 else TEMPORAL_ROLES
        problems = check_cloud(load(argv[2]), argv[3], roles)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for problem in problems:
        print(f"{argv[1]}: {problem}")
    if not problems:
        print(f"ok: {' '.join([argv[1]] + argv[3:])}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
