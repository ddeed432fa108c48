/// Creating nodes and taking them to Ready, with the executor's own per-node pipeline.
extension NodeOperations {
    /// Creates the nodes that have no machine yet (adopting the ones that do, such as a machine a
    /// killed call created) and takes each to Ready: config, etcd join for control planes (Talos
    /// joins a control plane with an empty data directory as a learner and promotes it,
    /// FAILOVER-FACTS.md section 1.1), kubelet Ready. Never bootstraps etcd: the cluster must be up.
    ///
    /// Per-node failures are in the report; only cancellation throws.
    public func createAndConverge(_ nodes: [NodePlan], observed: ObservedCluster, nodeTimeout: Duration = .seconds(1800)) async throws -> ExecutionReport {
        let plan = convergePlan(nodes, observed: observed)
        let executor = ClusterExecutor(
            spec: spec, backend: backend,
            options: .init(until: .bootstrap, retry: retry, pollInterval: pollInterval, nodeTimeout: nodeTimeout), events: events)
        return try await executor.apply(plan, observed: observed)
    }

    /// The plan ``createAndConverge(_:observed:nodeTimeout:)`` carries out: creates for nodes
    /// without a machine; no bootstrap, no Flux.
    public func convergePlan(_ nodes: [NodePlan], observed: ObservedCluster) -> Plan {
        let existing = Set(observed.machines.map(\.identity.node))
        return Plan(
            cluster: spec.name, desired: nodes, changes: nodes.filter { !existing.contains($0.identity.node) }.map { .create($0) },
            bootstrapNode: nil, installsGitOps: false, notes: [])
    }

    /// The nodes `node add` brings up: the ones the spec (with the pool's count already raised)
    /// wants in `pool` that do not exist yet, lowest free indices first.
    public func growth(ofPool pool: String, observed: ObservedCluster) -> [NodePlan] {
        let full = Planner.plan(spec: spec, observed: observed)
        return full.changes.compactMap { change in
            if case .create(let node) = change, node.identity.pool == pool { node } else { nil }
        }
    }

    /// Where the spec places the node named `node` (its pool, provider, size and location), for
    /// a replacement under the same name and role; nil when no pool of the spec wants that name.
    public func placement(ofNode node: String, observed: ObservedCluster) -> NodePlan? {
        Planner.plan(spec: spec, observed: observed).desired.first { $0.identity.node == node }
    }
}
