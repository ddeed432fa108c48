/// The lock that keeps two drills off one cluster, held by the cluster itself so it works across
/// machines, and the channel `drill stop` uses to reach the drill that holds it.
///
/// On a real cluster it is a Kubernetes Lease (coordination.k8s.io/v1),
/// `kube-system/clusterctl-drill`: `holderIdentity`, `leaseDurationSeconds`, `acquireTime`,
/// `renewTime`, plus annotations for the fault node and a stop request. Taking it is a `create`
/// (409 AlreadyExists: read it; if `renewTime + leaseDurationSeconds` has passed, take it over
/// with an `update` carrying the read `metadata.resourceVersion`, where 409 Conflict means
/// another drill won the race). The API stays up in every scenario the guards allow
/// (`minReadyControlPlanes` keeps etcd quorum when one control plane is powered off). The
/// simulator keeps the same record beside its world (`SimulatedDrillLease`).
public protocol DrillLease: Sendable {
    /// Takes the lease, or throws ``ClusterError`` `.refused` naming the live holder.
    func acquire(_ record: DrillLeaseRecord) async throws
    /// Renews the holder's lease; returns a stop request, if any.
    func renew() async throws -> String?
    /// Records the node the holder's drill has powered off (nil once it is repaired), so
    /// `drill stop` can repair it should the holder die.
    func recordFault(node: String?, scenario: String) async throws
    /// Frees the lease (only the holder calls it).
    func release() async throws
    /// The current record, expired or not; nil when nobody ever took it or it was released.
    func read() async throws -> DrillLeaseRecord?
    /// Asks the holder to stop; returns the record it was written into, nil when there is none.
    func requestStop(reason: String) async throws -> DrillLeaseRecord?
}
