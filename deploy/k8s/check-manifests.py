#!/usr/bin/env python3
"""Offline checks that schema validation cannot make, on rendered manifests (stdin).

    kubectl kustomize deploy/k8s/base | python3 deploy/k8s/check-manifests.py

1. Every pod template meets the "restricted" Pod Security Standard, which the namespace
   enforces (namespace.yaml): a pod that does not is refused by the API server, and nothing
   offline would say so before a real cluster did.
2. Every container of the capstone image has its requests and limits, a read-only root file
   system, and (except in the migration Job and in init containers, which run to completion
   and may not have them) readiness and liveness probes.

Needs PyYAML (kubernetes-validate brings it). Exit status 1 and one line per problem when any.
"""
import sys

import yaml

ALLOWED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                   "persistentVolumeClaim", "projected", "secret"}


def pod_spec(doc):
    kind = doc.get("kind")
    spec = doc.get("spec") or {}
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        return spec.get("template", {}).get("spec")
    if kind == "CronJob":
        return spec.get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec")
    if kind == "Pod":
        return spec
    return None


def check(doc):
    name = f"{doc['kind']}/{doc['metadata']['name']}"
    spec = pod_spec(doc)
    if spec is None:
        return []
    problems = []
    pod_sc = spec.get("securityContext") or {}
    for host in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(host):
            problems.append(f"{name}: {host} is set")
    for volume in spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if not kinds <= ALLOWED_VOLUMES:
            problems.append(f"{name}: volume {volume['name']} is of a restricted type {sorted(kinds)}")
    init = spec.get("initContainers") or []
    containers = init + (spec.get("containers") or [])
    for container in containers:
        is_init = any(container is other for other in init)
        where = f"{name} container {container['name']}"
        sc = container.get("securityContext") or {}
        if sc.get("privileged"):
            problems.append(f"{where}: privileged")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where}: allowPrivilegeEscalation must be false")
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            problems.append(f"{where}: capabilities must drop ALL")
        if set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
            problems.append(f"{where}: adds capabilities {caps.get('add')}")
        non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
        if non_root is not True:
            problems.append(f"{where}: runAsNonRoot must be true")
        if sc.get("runAsUser", pod_sc.get("runAsUser")) == 0:
            problems.append(f"{where}: runAsUser 0")
        seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{where}: seccompProfile must be RuntimeDefault or Localhost")
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                problems.append(f"{where}: hostPort {port['hostPort']}")
        if container.get("image", "").split(":")[0].split("@")[0] == "capstone":
            resources = container.get("resources") or {}
            for part in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in (resources.get(part) or {}):
                        problems.append(f"{where}: no {part}.{resource}")
            if sc.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: readOnlyRootFilesystem must be true")
            if doc["kind"] != "Job" and not is_init:
                for probe in ("readinessProbe", "livenessProbe"):
                    if probe not in container:
                        problems.append(f"{where}: no {probe}")
    return problems


def main():
    docs = [doc for doc in yaml.safe_load_all(sys.stdin) if doc]
    problems = [problem for doc in docs for problem in check(doc)]
    for problem in problems:
        print(f"FAIL {problem}")
    pods = sum(1 for doc in docs if pod_spec(doc) is not None)
    if problems:
        return 1
    print(f"ok: {pods} pod templates meet the restricted Pod Security Standard; "
          "capstone containers have resources, probes and a read-only root")
    return 0


if __name__ == "__main__":
    sys.exit(main())
