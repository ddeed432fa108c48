/// The Kubernetes API server's NodeRestriction admission as it bears on node configs: what a
/// kubelet may write to its own Node. Talos writes node labels with the node's own credentials,
/// and NodeRestriction is always on in Talos clusters (Talos docs, "Node Labels and Node Taints").
public enum NodeRestriction {
    /// Talos writes node labels with the node's own (kubelet) credentials, so the API server's
    /// NodeRestriction admission decides which it may set (Kubernetes docs, "Admission
    /// controllers: NodeRestriction"; `k8s.io/kubelet/pkg/apis` `IsKubeletLabel`; Talos docs,
    /// "Node Labels and Node Taints"): nothing under `node-restriction.kubernetes.io/`, and under
    /// `kubernetes.io/` or `k8s.io/` (and their subdomains) only the well-known labels and the
    /// `kubelet.kubernetes.io/` and `node.kubernetes.io/` namespaces. A refused label fails the
    /// whole update, the node's other labels with it.
    public static func kubeletMaySet(label key: String) -> Bool {
        let parts = key.split(separator: "/", maxSplits: 1)
        guard parts.count == 2 else { return true }
        let namespace = parts[0].lowercased()
        func within(_ domain: String) -> Bool { namespace == domain || namespace.hasSuffix("." + domain) }
        if within("node-restriction.kubernetes.io") { return false }
        guard within("kubernetes.io") || within("k8s.io") else { return true }
        if within("kubelet.kubernetes.io") || within("node.kubernetes.io") { return true }
        return kubeletLabels.contains(key)
    }

    /// The labels a kubelet sets itself (`k8s.io/kubelet/pkg/apis/well_known_labels.go`).
    public static let kubeletLabels: Set<String> = [
        "kubernetes.io/hostname", "kubernetes.io/arch", "kubernetes.io/os",
        "beta.kubernetes.io/arch", "beta.kubernetes.io/os", "beta.kubernetes.io/instance-type",
        "node.kubernetes.io/instance-type",
        "failure-domain.beta.kubernetes.io/region", "failure-domain.beta.kubernetes.io/zone",
        "topology.kubernetes.io/region", "topology.kubernetes.io/zone",
    ]

    /// What to do instead of setting `key` from the node.
    public static func labelHint(_ key: String) -> String {
        "NodeRestriction lets a node set only its own well-known labels (topology.kubernetes.io/*, kubernetes.io/hostname, ...) "
            + "and node.kubernetes.io/* or kubelet.kubernetes.io/*; use your own prefix (e.g. node.example.net/\(key.split(separator: "/").last ?? "role")), "
            + "or set role labels with a cluster-admin (kubectl label node, or a controller in GitOps)"
    }
}
