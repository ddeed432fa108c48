/// One Pod as draining and health checks read it.
public struct KubernetesPod: Sendable, Hashable, Codable {
    public var namespace: String
    public var name: String
    /// `spec.nodeName`; nil while unscheduled.
    public var node: String?
    /// `status.phase`: Pending, Running, Succeeded, Failed, Unknown.
    public var phase: String
    /// The kind of the controlling owner reference (`ReplicaSet`, `DaemonSet`, `StatefulSet`), nil
    /// for an unmanaged pod.
    public var controllerKind: String?
    /// A mirror pod: the API's copy of a kubelet static pod (annotation `kubernetes.io/config.mirror`);
    /// evicting it does nothing, the kubelet owns it.
    public var isMirror: Bool
    /// `metadata.deletionTimestamp` is set: the pod is terminating.
    public var isTerminating: Bool

    public init(
        namespace: String, name: String, node: String?, phase: String, controllerKind: String? = nil, isMirror: Bool = false,
        isTerminating: Bool = false
    ) {
        self.namespace = namespace
        self.name = name
        self.node = node
        self.phase = phase
        self.controllerKind = controllerKind
        self.isMirror = isMirror
        self.isTerminating = isTerminating
    }

    /// `namespace/name`.
    public var reference: String { "\(namespace)/\(name)" }

    /// Owned by a DaemonSet: its controller recreates it on the node at once, and it tolerates
    /// the cordon, so `kubectl drain --ignore-daemonsets` leaves it alone (kubectl_drain docs).
    public var isDaemonSetPod: Bool { controllerKind == "DaemonSet" }

    /// The annotation the kubelet puts on mirror pods (Kubernetes `kubelet/types`, `ConfigMirrorAnnotationKey`).
    public static let mirrorAnnotation = "kubernetes.io/config.mirror"
}
