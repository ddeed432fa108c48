/// Removing one node on request (`node remove`).
extension NodeOperations {
    /// Refuses removing the last running control plane (that destroys the cluster; `down` is the
    /// command for it). Returns warnings worth printing: an even number of control planes left
    /// tolerates no more failures than one fewer (etcd FAQ, FAILOVER-FACTS.md section 2).
    public static func checkRemovable(_ machine: ObservedMachine, observed: ObservedCluster) throws(ClusterError) -> [String] {
        guard machine.identity.role == .controlPlane else { return [] }
        let node = machine.identity.node
        let others = observed.machines.filter { $0.identity.role == .controlPlane && $0.identity.node != node && $0.phase == .running }
        guard !others.isEmpty else {
            throw ClusterError(.refused, "\(node) is the last running control-plane node; removing it would destroy the cluster", hint: "use `clusterctl down` to destroy the whole cluster")
        }
        if others.count % 2 == 0 {
            return ["\(others.count) control planes remain, an even number tolerates no more failures than \(others.count - 1)"]
        }
        return []
    }

    /// Removes the machine with its etcd member (through a control plane that stays), its
    /// Kubernetes node and the machine itself; when the member cannot be removed the machine is
    /// kept. Failures are in the report; only cancellation throws.
    public func remove(_ machine: ObservedMachine, reason: String, observed: ObservedCluster) async throws -> ExecutionReport {
        let plan = Plan(cluster: spec.name, desired: [], changes: [.delete(machine, reason: reason)], bootstrapNode: nil, installsGitOps: false, notes: [])
        let executor = ClusterExecutor(spec: spec, backend: backend, options: .init(until: .bootstrap, retry: retry, pollInterval: pollInterval), events: events)
        return try await executor.apply(plan, observed: observed)
    }
}
