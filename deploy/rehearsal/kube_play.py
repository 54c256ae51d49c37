#!/usr/bin/env python3
"""Runs the kind overlay's container specs with `podman kube play` (Podman 4.3), as far as
Podman can: the same images (stand-ins for the third-party ones), commands, args,
environment (ConfigMaps, Secrets), users, read-only root file systems, init containers and
volumes, and the same probes, checked from outside the pods the way the kubelet checks them.

    kube_play.py convert RENDERED.yaml OUTDIR --image FROM=TO ... [--only NAME ...]
    kube_play.py run OUTDIR --network NET [--timeout S]
    kube_play.py down OUTDIR

What Podman 4.3's kube play does not do, and what this does instead:
  * Services: none. Each workload becomes a Pod named after the Service that selects it
    (`api`, `postgres`, `workflow-worker`, ...), because a pod's name resolves in the Podman
    network: the DNS names of the manifests (postgres:5432, temporal:7233, api:8080) work.
  * Deployments and StatefulSets: one pod each (no replicas, no rollout). Jobs: a pod with
    restartPolicy OnFailure, waited for until it exits 0.
  * Secrets: kube play reads a secretKeyRef from a Podman secret holding a JSON object of
    base64 values; this creates those (`kind: Secret` in the YAML is stored in a form 4.3
    cannot read back).
  * Probes: kube play ignores readiness and startup probes and would run liveness probes with
    curl inside the container (our image has none). This removes them and performs them
    itself: httpGet against the pod's IP from the host, exec inside the container, gRPC
    health through the Temporal CLI in the Temporal container (the same health service).
  * Volumes: emptyDir and PersistentVolumeClaims become Podman named volumes, world-writable
    as kubelet's emptyDir and kind's local-path volumes are (fsGroup is not applied).
  * $(VAR) in command and args: expanded here from the container's env, as the kubelet does.
  * Restart policy: Always, except OnFailure for pods with init containers (Podman 4.3 would
    restart a finished init container, then fail to remove it) and for the Job.
  * lifecycle hooks, topology spread, service account settings: dropped (nothing to run them).
Grafana, Mailpit, metrics-server, NetworkPolicies, autoscalers and disruption budgets are not
run (Grafana and Mailpit have no stand-in: the notifications pod's relay finds no `mailpit`,
so its e-mails are retried and end `failed`; the order does not depend on them).
"""
import argparse
import base64
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

import yaml

WORKLOADS = ("Deployment", "StatefulSet", "Job")
PROBE_KINDS = ("startupProbe", "readinessProbe", "livenessProbe")


def sh(*args, check=True):
    result = subprocess.run(args, text=True, capture_output=True)
    if check and result.returncode != 0:
        sys.exit(f"kube_play: {' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result


# --------------------------------------------------------------------------- convert --------

def service_names(docs):
    """Service name for each set of selector labels; ClusterIP/headless before NodePort twins."""
    services = [d for d in docs if d["kind"] == "Service"]
    services.sort(key=lambda s: (s["spec"].get("type", "ClusterIP") == "NodePort", s["metadata"]["name"]))
    return [(s["spec"].get("selector") or {}, s["metadata"]["name"]) for s in services]


def pod_name(workload, services):
    labels = workload["spec"]["template"]["metadata"].get("labels") or {}
    for selector, name in services:
        if selector and all(labels.get(k) == v for k, v in selector.items()):
            return name
    return workload["metadata"]["name"]


def expand(text, env):
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)), text)


def container_env(container, configmaps, secrets):
    env = {}
    for source in container.get("envFrom") or []:
        if "configMapRef" in source:
            env.update(configmaps.get(source["configMapRef"]["name"], {}))
    for variable in container.get("env") or []:
        if "value" in variable:
            env[variable["name"]] = expand(str(variable["value"]), env)
        elif "secretKeyRef" in (variable.get("valueFrom") or {}):
            ref = variable["valueFrom"]["secretKeyRef"]
            raw = secrets.get(ref["name"], {}).get(ref["key"])
            if raw is not None:
                env[variable["name"]] = base64.b64decode(raw).decode()
        elif "configMapKeyRef" in (variable.get("valueFrom") or {}):
            ref = variable["valueFrom"]["configMapKeyRef"]
            env[variable["name"]] = configmaps.get(ref["name"], {}).get(ref["key"], "")
    return env


def convert(args):
    docs = [d for d in yaml.safe_load_all(open(args.rendered)) if d]
    images = dict(pair.split("=", 1) for pair in args.image)
    configmaps = {d["metadata"]["name"]: d.get("data") or {} for d in docs if d["kind"] == "ConfigMap"}
    secrets = {d["metadata"]["name"]: d.get("data") or {} for d in docs if d["kind"] == "Secret"}
    services = service_names(docs)
    os.makedirs(os.path.join(args.outdir, "secrets"), exist_ok=True)

    pods, volumes, probes, checks = [], {}, [], []
    for workload in (d for d in docs if d["kind"] in WORKLOADS):
        if workload["metadata"].get("namespace", "capstone") != "capstone":
            continue  # metrics-server (kube-system)
        name = pod_name(workload, services)
        template = workload["spec"]["template"]
        spec = json.loads(json.dumps(template["spec"]))
        all_images = [c["image"] for c in spec.get("initContainers", []) + spec["containers"]]
        if any(image not in images for image in all_images):
            missing = sorted(set(all_images) - set(images))
            print(f"  skipped {workload['kind']}/{workload['metadata']['name']}: no stand-in for {missing}")
            continue
        if args.only and name not in args.only:
            continue
        pod_security = spec.get("securityContext") or {}
        for key in ("topologySpreadConstraints", "automountServiceAccountToken", "enableServiceLinks",
                    "terminationGracePeriodSeconds", "serviceAccountName", "priorityClassName"):
            spec.pop(key, None)
        # Podman 4.3 gives init containers the pod's restart policy: with Always, a finished
        # init container is started again, and kube play then fails to remove it ("cannot
        # remove container ... as it is running"). OnFailure still restarts a crashed role.
        has_init = bool(spec.get("initContainers"))
        spec["restartPolicy"] = "OnFailure" if workload["kind"] == "Job" or has_init else "Always"
        # Volumes: named Podman volumes for emptyDir and claims; configMap volumes stay.
        for volume in spec.get("volumes") or []:
            if "emptyDir" in volume or "persistentVolumeClaim" in volume:
                claim = volume.get("persistentVolumeClaim", {}).get("claimName") or f"{name}-{volume['name']}"
                volume.pop("emptyDir", None)
                volume["persistentVolumeClaim"] = {"claimName": claim}
                volumes[claim] = True
        for template_claim in workload["spec"].get("volumeClaimTemplates") or []:
            claim = f"{name}-{template_claim['metadata']['name']}"
            spec.setdefault("volumes", []).append(
                {"name": template_claim["metadata"]["name"], "persistentVolumeClaim": {"claimName": claim}})
            volumes[claim] = True
        for kind in ("initContainers", "containers"):
            for container in spec.get(kind) or []:
                original_image = container["image"]
                container["image"] = images[original_image]
                env = container_env(container, configmaps, secrets)
                for field in ("command", "args"):
                    if field in container:
                        container[field] = [expand(str(word), env) for word in container[field]]
                container.pop("lifecycle", None)
                for probe_kind in PROBE_KINDS:
                    probe = container.pop(probe_kind, None)
                    if probe:
                        probes.append({"pod": name, "container": container["name"], "kind": probe_kind,
                                       "probe": probe, "ports": container.get("ports") or []})
                security = dict(pod_security)
                security.update(container.get("securityContext") or {})
                checks.append({"pod": name, "container": container["name"], "init": kind == "initContainers",
                               "image": original_image,
                               "user": security.get("runAsUser"),
                               "read_only_root": bool(security.get("readOnlyRootFilesystem"))})
        pods.append({"stage": stage_of(workload, name),
                     "pod": {"apiVersion": "v1", "kind": "Pod",
                             "metadata": {"name": name, "labels": template["metadata"].get("labels") or {},
                                          # Keep finished init containers (as the kubelet does)
                                          # so that their spec can be checked after the run.
                                          "annotations": {"io.podman.annotations.init.container.type": "always"}},
                             "spec": spec},
                     "job": workload["kind"] == "Job"})

    for secret, data in secrets.items():
        with open(os.path.join(args.outdir, "secrets", f"{secret}.json"), "w") as handle:
            json.dump(data, handle)
    used_configmaps = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": n}, "data": d}
                       for n, d in configmaps.items()]
    for stage in sorted({p["stage"] for p in pods}):
        with open(os.path.join(args.outdir, f"stage-{stage}.yaml"), "w") as handle:
            yaml.safe_dump_all(used_configmaps + [p["pod"] for p in pods if p["stage"] == stage], handle)
    with open(os.path.join(args.outdir, "plan.json"), "w") as handle:
        json.dump({"volumes": sorted(volumes), "probes": probes, "checks": checks,
                   "pods": [{"name": p["pod"]["metadata"]["name"], "stage": p["stage"], "job": p["job"]}
                            for p in pods]}, handle, indent=1)
    for p in pods:
        print(f"  stage {p['stage']}: pod {p['pod']['metadata']['name']}")


def stage_of(workload, name):
    images = [c["image"] for c in workload["spec"]["template"]["spec"]["containers"]]
    if not any(image.split(":")[0].split("@")[0] == "capstone" for image in images):
        return 1  # PostgreSQL, Temporal, Prometheus
    return 2 if workload["kind"] == "Job" else 3


# --------------------------------------------------------------------------- run ------------

def infra_ip(pod):
    infra = sh("podman", "pod", "inspect", "--format", "{{.InfraContainerID}}", pod).stdout.strip()
    return sh("podman", "inspect", "--format",
              "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", infra).stdout.split()[0]


def port_number(port, ports):
    if isinstance(port, int):
        return port
    for declared in ports:
        if declared.get("name") == port:
            return declared["containerPort"]
    sys.exit(f"kube_play: probe port {port!r} is not declared")


def probe_once(item):
    probe, pod, container = item["probe"], item["pod"], f"{item['pod']}-{item['container']}"
    if "httpGet" in probe:
        get = probe["httpGet"]
        url = f"{get.get('scheme', 'HTTP').lower()}://{infra_ip(pod)}:{port_number(get['port'], item['ports'])}{get.get('path', '/')}"
        try:
            with urllib.request.urlopen(url, timeout=probe.get("timeoutSeconds", 1) + 1) as answer:
                return 200 <= answer.status < 400, f"GET {url}: {answer.status}"
        except Exception as error:  # noqa: BLE001 - any failure is a failed probe
            return False, f"GET {url}: {error}"
    if "exec" in probe:
        result = sh("podman", "exec", container, *probe["exec"]["command"], check=False)
        return result.returncode == 0, f"exec {' '.join(probe['exec']['command'])}: exit {result.returncode}"
    if "grpc" in probe:
        # No gRPC health client on the host: the Temporal CLI in the container asks the same
        # health service (temporal.api.workflowservice.v1.WorkflowService) on the same port.
        port = port_number(probe["grpc"]["port"], item["ports"])
        result = sh("podman", "exec", container, "temporal", "operator", "cluster", "health",
                    "--address", f"127.0.0.1:{port}", check=False)
        return result.returncode == 0, f"gRPC health :{port} ({probe['grpc'].get('service', '')}): exit {result.returncode}"
    if "tcpSocket" in probe:
        return True, "tcpSocket (not checked)"
    return False, f"unknown probe {probe}"


def wait_probes(plan, pods, timeout):
    for item in (i for i in plan["probes"] if i["pod"] in pods):
        deadline = time.monotonic() + timeout
        while True:
            ok, what = probe_once(item)
            if ok:
                print(f"  ok    {item['pod']}/{item['container']} {item['kind']}: {what}", flush=True)
                break
            if time.monotonic() > deadline:
                logs = sh("podman", "logs", "--tail", "40", f"{item['pod']}-{item['container']}", check=False)
                sys.exit(f"kube_play: {item['pod']}/{item['container']} {item['kind']} never passed: {what}\n"
                         f"{logs.stdout}{logs.stderr}")
            time.sleep(2)


def check_specs(plan, pods):
    problems = []
    for check in (c for c in plan["checks"] if c["pod"] in pods):
        name = f"{check['pod']}-{check['container']}"
        found = sh("podman", "inspect", "--format", "{{.Config.User}} {{.HostConfig.ReadonlyRootfs}}", name,
                   check=False)
        if found.returncode != 0:
            problems.append(f"{name}: no such container after kube play")
            continue
        user, read_only = found.stdout.split()
        if check["user"] is not None and user.split(":")[0] != str(check["user"]):
            problems.append(f"{name}: runs as {user}, the manifest says {check['user']}")
        if check["read_only_root"] and read_only != "true":
            problems.append(f"{name}: root file system is writable, the manifest says read-only")
        else:
            print(f"  ok    {name}: user {user}, read-only root {read_only}", flush=True)
    if problems:
        sys.exit("kube_play: " + "\n".join(problems))


def wait_job(pod, timeout):
    main = sh("podman", "pod", "inspect", "--format", "{{range .Containers}}{{.Name}} {{end}}", pod).stdout.split()
    names = [n for n in main if not n.endswith("-infra")]
    deadline = time.monotonic() + timeout
    while True:
        states = [sh("podman", "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}",
                     n).stdout.split() for n in names]
        if all(s[0] == "exited" and s[1] == "0" for s in states):
            print(f"  ok    {pod}: exited 0", flush=True)
            return
        if time.monotonic() > deadline:
            logs = "".join(sh("podman", "logs", "--tail", "30", n, check=False).stdout for n in names)
            sys.exit(f"kube_play: {pod} did not exit 0 in time ({states}):\n{logs}")
        time.sleep(2)


def run(args):
    plan = json.load(open(os.path.join(args.outdir, "plan.json")))
    if sh("podman", "network", "exists", args.network, check=False).returncode != 0:
        sh("podman", "network", "create", args.network)
    for claim in plan["volumes"]:
        if sh("podman", "volume", "exists", claim, check=False).returncode != 0:
            sh("podman", "volume", "create", claim)
        mountpoint = sh("podman", "volume", "inspect", "--format", "{{.Mountpoint}}", claim).stdout.strip()
        os.chmod(mountpoint, 0o777)
    for secret_file in sorted(os.listdir(os.path.join(args.outdir, "secrets"))):
        secret = secret_file[: -len(".json")]
        sh("podman", "secret", "rm", secret, check=False)
        sh("podman", "secret", "create", secret, os.path.join(args.outdir, "secrets", secret_file))
    for stage in sorted({p["stage"] for p in plan["pods"]}):
        pods = [p["name"] for p in plan["pods"] if p["stage"] == stage]
        print(f"==> kube play, stage {stage}: {' '.join(pods)}", flush=True)
        play = sh("podman", "kube", "play", "--network", args.network,
                  os.path.join(args.outdir, f"stage-{stage}.yaml"), check=False)
        if play.returncode != 0:
            sys.exit(f"kube_play: podman kube play failed:\n{play.stdout}{play.stderr}")
        check_specs(plan, pods)
        for pod in (p["name"] for p in plan["pods"] if p["stage"] == stage and p["job"]):
            wait_job(pod, args.timeout)
        wait_probes(plan, [p["name"] for p in plan["pods"] if p["stage"] == stage and not p["job"]], args.timeout)
    for pod in plan["pods"]:
        if not pod["job"]:
            print(f"POD {pod['name']} {infra_ip(pod['name'])}")


def down(args):
    # Pod by pod: `podman kube down FILE` stops at the first pod of the file that is missing.
    plan_file = os.path.join(args.outdir, "plan.json")
    if not os.path.exists(plan_file):
        return
    names = [pod["name"] for pod in json.load(open(plan_file))["pods"]]
    existing = [n for n in names if sh("podman", "pod", "exists", n, check=False).returncode == 0]
    if existing:
        sh("podman", "pod", "rm", "-f", "-t", "5", *existing, check=False)


def main():
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    c = commands.add_parser("convert")
    c.add_argument("rendered")
    c.add_argument("outdir")
    c.add_argument("--image", action="append", default=[], help="FROM=TO")
    c.add_argument("--only", nargs="*", default=None, help="only these pods")
    r = commands.add_parser("run")
    r.add_argument("outdir")
    r.add_argument("--network", required=True)
    r.add_argument("--timeout", type=int, default=240)
    d = commands.add_parser("down")
    d.add_argument("outdir")
    args = parser.parse_args()
    {"convert": convert, "run": run, "down": down}[args.command](args)


if __name__ == "__main__":
    main()
