/// What the Eviction API (`policy/v1`, `POST .../pods/<name>/eviction`) answered.
public enum KubernetesEviction: Sendable, Hashable {
    /// 201: the pod is being deleted, after its grace period.
    case evicted
    /// 404: the pod no longer exists.
    case alreadyGone
    /// 429: a PodDisruptionBudget allows no disruption now ("may be allowed later"; the API sends
    /// no Retry-After). `budget` is the PDB's name when the Status names it; `message` is the
    /// API's own text (Kubernetes `tasks/administer-cluster/safely-drain-node`, and
    /// `pkg/registry/core/pod/storage/eviction.go`).
    case blocked(budget: String?, message: String)
}
