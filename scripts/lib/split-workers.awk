# Splits the output of `kubectl kustomize` (documents separated by `---` lines, the layout
# kustomize always writes) into the objects that make one version of the workers and the rest.
#
#   awk -v want=workers -f scripts/lib/split-workers.awk rendered.yaml   # the worker objects
#   awk -v want=rest    -f scripts/lib/split-workers.awk rendered.yaml   # everything else
#
# The worker objects are the Deployments, HorizontalPodAutoscalers, PodDisruptionBudgets and
# KEDA ScaledObjects named workflow-worker or activity-worker: scripts/worker-rollout.sh
# copies them once per build (workflow-worker-<build>, ...). The worker Services are not among
# them: one Service per role selects the pods of every build, for Prometheus.
function decide() {
  is_worker = (kind ~ /^(Deployment|HorizontalPodAutoscaler|PodDisruptionBudget|ScaledObject)$/ \
               && name ~ /^(workflow-worker|activity-worker)$/)
}
function flush() {
  if (doc != "" && (is_worker == (want == "workers"))) printf "---\n%s", doc
  doc = ""; kind = ""; name = ""; in_metadata = 0; is_worker = 0
}
BEGIN {
  if (want != "workers" && want != "rest") { print "split-workers.awk: want=workers or want=rest" > "/dev/stderr"; exit 2 }
}
/^---$/ { decide(); flush(); next }
{
  doc = doc $0 "\n"
  if ($0 ~ /^kind: /) kind = substr($0, 7)
  # metadata.name: the first `  name:` inside the top-level `metadata:` block.
  if ($0 == "metadata:") in_metadata = 1
  else if ($0 ~ /^[^ ]/) in_metadata = 0
  if (in_metadata && name == "" && $0 ~ /^  name: /) name = substr($0, 9)
}
END { decide(); flush() }
