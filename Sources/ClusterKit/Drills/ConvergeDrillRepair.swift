/// STAND-IN, to be replaced by the failover playbooks (ClusterKit/Failover) once they are merged:
/// a ``DrillRepair`` built from what main already has. It detects the fault by polling the
/// providers and Kubernetes, honours `failover.replacement` (waits out `nodeLostAfter`; stops in
/// `manual` mode), and repairs by carrying out `up`'s plan, which replaces the failed machine
/// under the same name and points the ingress IP back at its preferred holder. The playbooks
/// will instead remove the etcd member first and move the ingress IP to another candidate.
public struct ConvergeDrillRepair: DrillRepair {
    public let spec: ClusterSpec
    public let backend: ClusterBackend
    public let pollInterval: Duration
    public let events: ExecutionEventSink

    public init(spec: ClusterSpec, backend: ClusterBackend, pollInterval: Duration = .seconds(10), events: @escaping ExecutionEventSink = { _ in }) {
        self.spec = spec
        self.backend = backend
        self.pollInterval = pollInterval
        self.events = events
    }

    public func repair(_ fault: DrillFault, urgent: Bool) async throws -> DrillRepairResult {
        let time = backend.time
        let at = { (time.now - fault.drillStart).inSeconds }
        var steps: [DrillReport.Step] = []
        let step = { (name: String, started: Double, passed: Bool, detail: String) in
            steps.append(DrillReport.Step(name: name, started: started, duration: at() - started, passed: passed, detail: detail))
        }

        // Detect: the provider reports the machine failed, or Kubernetes the node NotReady.
        let detectStarted = at()
        var detectedAt: Duration?
        var how = ""
        while detectedAt == nil {
            let observed = try await ObservedCluster.observe(spec: spec, backend: backend)
            if let machine = observed.machines.first(where: { $0.providerID == fault.providerID }), machine.phase == .failed {
                how = "the provider reports \(fault.node) failed"
            } else if !observed.machines.contains(where: { $0.providerID == fault.providerID }) {
                how = "the machine of \(fault.node) is gone"
            } else if let node = observed.kubernetesNodes?.first(where: { $0.name == fault.node }), !node.ready {
                how = "Kubernetes reports \(fault.node) NotReady"
            } else {
                try await time.sleep(for: pollInterval)
                continue
            }
            detectedAt = time.now
        }
        step("detect", detectStarted, true, how)

        if !urgent, let replacement = spec.failover?.replacement {
            if replacement.mode == .manual {
                step("replace", at(), false, "failover.replacement.mode is manual: \(fault.node) would be replaced now")
                throw ClusterError(
                    .refused, "failover.replacement.mode is manual, so \(fault.node) was not replaced",
                    hint: "`clusterctl drill stop \(spec.name)` replaces it now; `clusterctl up \(spec.name)` does too")
            }
            let lostAt = fault.injectedAt + replacement.nodeLostAfter
            if time.now < lostAt {
                let waitStarted = at()
                try await time.sleep(for: lostAt - time.now)
                step("wait", waitStarted, true, "failover.replacement.nodeLostAfter \(replacement.nodeLostAfter.formattedSeconds): \(fault.node) counts as lost")
            }
        }

        let replaceStarted = at()
        let observed = try await ObservedCluster.observe(spec: spec, backend: backend)
        let plan = Planner.plan(spec: spec, observed: observed)
        let executor = ClusterExecutor(spec: spec, backend: backend, events: events)
        let report = try await executor.apply(plan, observed: observed)
        guard report.succeeded else {
            let problems = report.failures.map { "\($0.key): \($0.value)" } + report.nodes.filter { $0.state == .failed }.map { "\($0.node): \($0.message ?? "failed")" }
            step("replace", replaceStarted, false, problems.joined(separator: "; "))
            throw ClusterError(.partialFailure, "the repair did not finish: \(problems.joined(separator: "; "))", hint: "run `clusterctl up \(spec.name)`")
        }
        step("replace", replaceStarted, true, "`up` plan carried out: \(plan.changes.count) change(s)")
        return DrillRepairResult(detectedAt: detectedAt, steps: steps)
    }
}
