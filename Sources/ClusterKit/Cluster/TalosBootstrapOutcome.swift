/// What a `Bootstrap` call achieved.
public enum TalosBootstrapOutcome: String, Sendable, Hashable, Codable {
    /// etcd started as a new cluster on the node.
    case bootstrapped
    /// The node refused with AlreadyExists ("etcd data directory is not empty"): etcd there
    /// already holds data, so the cluster was bootstrapped before (maybe by a run that crashed
    /// before it heard the answer).
    case alreadyBootstrapped
}
