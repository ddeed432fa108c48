/// Carrying out one step. Every step looks at what exists first, so a re-run after a kill
/// finds the work of the killed run done and says so (``PlaybookReport/StepRecord/Outcome/alreadyDone``).
extension FailoverPlaybook {
    func execute(_ step: PlaybookStep, run: inout PlaybookRun) async throws -> (PlaybookReport.StepRecord.Outcome, String) {
        let node = step.node ?? ""
        let operations = operations(for: step, start: run.start)
        switch step.action {
        case .confirmLost:
            let evidence = try await confirmLost(node)
            run.report.confirmedLostAfter = run.elapsed
            return (.done, evidence)
        case .cordonAndDrain:
            return try await cordonAndDrain(node, start: run.start, step: step)
        case .removeEtcdMember:
            // A second node may have been lost since the plan: the guards look again.
            let now = try await observe()
            try checkControlPlaneGuards(node: node, observed: now)
            let peers = now.cluster.machines.filter { $0.identity.role == .controlPlane && $0.identity.node != node && now.isHealthyControlPlaneForEtcd($0) }
            let addresses = now.machines(named: node).first?.addresses ?? []
            switch try await operations.removeEtcdMember(of: node, addresses: addresses, peers: peers, stopOnRefusal: true) {
            case .removed(let via): return (.done, "etcd member of \(node) removed through \(via)")
            case .notListed: return (.alreadyDone, "etcd lists no member \(node)")
            case .noPeers: throw ClusterError(.refused, "no healthy control plane to remove \(node)'s etcd member through")
            }
        case .deleteKubernetesNode:
            guard try await operations.retrying(.machines, node, "Kubernetes API check", { try await backend.kubernetes.isAPIServerUp() }) else {
                throw ClusterError(.kubernetes, "the Kubernetes API does not answer, so the node object \(node) cannot be deleted", isTransient: true)
            }
            let listed = try await operations.retrying(.machines, node, "node list") { try await backend.kubernetes.nodes() }.contains { $0.name == node }
            guard listed else { return (.alreadyDone, "Kubernetes lists no node \(node)") }
            try await operations.retrying(.machines, node, "delete node") { try await backend.kubernetes.deleteNode(node) }
            return (.done, "Kubernetes node \(node) deleted; its pods are freed to start elsewhere")
        case .deleteMachine:
            return try await deleteLostMachine(node, operations: operations)
        case .createReplacement:
            return try await createReplacement(node, operations: operations, run: run)
        case .waitHealthy:
            let expected = expectedHealth(node: node, initial: run.initial)
            let healthy = try await watchingControlPlanes(except: node) {
                try await operations.waitUntilHealthy(expected, timeout: options.recoveryTimeout) { try await stillExpected($0, replacing: node) }
            }
            run.report.recoveredAfter = run.elapsed
            let lost = expected.nodes.subtracting(healthy.nodes).sorted()
            return (
                .done,
                "\(healthy.nodes.count) nodes Ready, etcd voters: \(healthy.controlPlanes.sorted().joined(separator: ", "))"
                    + (lost.isEmpty ? "" : "; not waited for, lost meanwhile: \(lost.joined(separator: ", "))")
            )
        case .moveIngressIP:
            return try await moveIngress(to: node, operations: operations, run: &run)
        case .verifyIngress:
            return try await verifyIngress(at: node, run: &run)
        }
    }

    /// Probes the provider, the Talos API and Kubernetes `confirmProbes` times; any sign of life
    /// refuses. Returns the evidence in a sentence.
    func confirmLost(_ node: String) async throws -> String {
        var talosFailures = 0
        var providerState = "gone"
        var kubernetesState = "not listed"
        let began = time.now
        for probe in 0..<options.confirmProbes {
            if probe > 0 { try await time.sleep(for: options.probeInterval) }
            let observed = try await ObservedCluster.observe(spec: spec, backend: backend)
            if let provider = observed.unreachableProviders.first {
                // An unreadable inventory is not a machine gone.
                throw ClusterError(.provider, "provider \(provider.key) cannot be read (\(provider.value)), so \(node) cannot be confirmed lost", isTransient: true)
            }
            guard let machine = observed.machines.first(where: { $0.identity.node == node }) else {
                providerState = "gone"
                talosFailures += 1
                continue
            }
            providerState = machine.phase.rawValue
            if let status = try? await backend.talos.status(of: machine), status.stage != .unreachable {
                throw ClusterError(.refused, "\(node) answered the Talos API (\(status.stage.rawValue)): it is not lost", hint: "nothing was changed")
            }
            talosFailures += 1
            if let status = try? await backend.kubernetes.nodes().first(where: { $0.name == node }) {
                kubernetesState = status.ready ? "Ready" : "NotReady"
                if status.ready, machine.phase == .running {
                    throw ClusterError(
                        .refused, "\(node) is not confirmed lost: the provider reports it running and Kubernetes reports it Ready",
                        hint: "nothing was changed; run the playbook again if it stays silent")
                }
            } else {
                kubernetesState = "not listed or API down"
            }
        }
        return "lost: provider \(providerState); Talos API silent on \(talosFailures)/\(options.confirmProbes) probes over \((time.now - began).formattedSeconds); Kubernetes \(kubernetesState)"
    }

    func cordonAndDrain(_ node: String, start: Duration, step: PlaybookStep) async throws -> (PlaybookReport.StepRecord.Outcome, String) {
        guard let status = try? await backend.kubernetes.nodes().first(where: { $0.name == node }), status.ready else {
            return (.alreadyDone, "\(node) is not Ready in Kubernetes: nothing can be drained")
        }
        do {
            let report = try await NodeDrainer(kubernetes: backend.kubernetes, time: time, options: options.drain).drain(node: node)
            return (.done, "cordoned; \(report.evicted.count) pods evicted")
        } catch let error as ClusterError where error.code == .timeout {
            // A dying kubelet cannot stop its pods; deleting the Node next frees them.
            emit(start, step, .progress, "drain gave up: \(oneLine(error)); deleting the node frees the rest")
            return (.done, "cordoned; drain stopped after \(options.drain.timeout.formattedSeconds)")
        }
    }

    /// Deletes the lost machine, after checking once more that it does not answer and, for a
    /// control plane, that etcd no longer lists it.
    func deleteLostMachine(_ node: String, operations: NodeOperations) async throws -> (PlaybookReport.StepRecord.Outcome, String) {
        let now = try await observe()
        let machines = now.machines(named: node)
        guard !machines.isEmpty else { return (.alreadyDone, "no machine carries the name \(node)") }
        for machine in machines {
            if let status = try? await backend.talos.status(of: machine), status.stage != .unreachable {
                throw ClusterError(.refused, "\(node) (\(machine.providerID)) answers the Talos API (\(status.stage.rawValue)); it was not deleted")
            }
            if machine.identity.role == .controlPlane, now.cluster.etcdMembers.contains(where: { $0.hostname == node }) {
                throw ClusterError(.refused, "etcd still lists \(node) as a member; its machine was kept", hint: "run the playbook again: it removes the member first")
            }
        }
        for machine in machines { try await operations.deleteMachine(machine) }
        return (.done, "deleted " + machines.map { "\($0.providerID) on \($0.provider)" }.joined(separator: ", "))
    }

    func createReplacement(_ node: String, operations: NodeOperations, run: PlaybookRun) async throws -> (PlaybookReport.StepRecord.Outcome, String) {
        let now = try await observe()
        guard let placement = operations.placement(ofNode: node, observed: now.cluster) else {
            throw ClusterError(.notFound, "no pool of cluster \(spec.name) wants a node \(node) any more")
        }
        if let lost = now.machines(named: node).first(where: { isLost($0, observed: now) && $0.phase != .running }) {
            throw ClusterError(.refused, "the lost machine \(lost.providerID) still carries the name \(node)", hint: "run the playbook again: it deletes it first")
        }
        let existed = !now.machines(named: node).isEmpty
        let report = try await watchingControlPlanes(except: node) {
            try await operations.createAndConverge([placement], observed: now.cluster, nodeTimeout: options.recoveryTimeout)
        }
        if let failed = report.nodes.first(where: { $0.state == .failed }) {
            throw ClusterError(
                .provider, "the replacement \(node) did not come up: \(failed.message ?? "failed")",
                hint: "the lost machine and its etcd member are already gone; fix the cause and run the playbook again to finish")
        }
        return (existed ? .alreadyDone : .done, existed ? "the replacement already existed; it is Ready" : "\(node) created and Ready")
    }

    /// Runs `body` while watching the control planes that were healthy when it started; when one
    /// stops answering the Talos API on two probes in a row (a second node lost mid-way), the body
    /// is cancelled and the step ends with a `refused` error saying what was lost.
    func watchingControlPlanes<Result: Sendable>(except node: String, _ body: @escaping @Sendable () async throws -> Result) async throws -> Result {
        let observed = try await observe()
        let peers = observed.cluster.machines.filter { $0.identity.role == .controlPlane && $0.identity.node != node && observed.isHealthyControlPlaneForEtcd($0) }
        let interval = options.pollInterval
        return try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                var silent: [String: Int] = [:]
                while true {
                    try await time.sleep(for: interval)
                    for peer in peers {
                        let answers = (try? await backend.talos.status(of: peer))?.stage == .running
                        silent[peer.identity.node] = answers ? 0 : (silent[peer.identity.node] ?? 0) + 1
                        if silent[peer.identity.node, default: 0] >= 2 {
                            throw ClusterError(
                                .refused, "\(peer.identity.node) stopped answering during the recovery of \(node): a second node is lost",
                                hint: "check \(peer.identity.node); with etcd's quorum gone, recover from an etcd snapshot (`clusterctl etcd restore \(spec.name)`)")
                        }
                    }
                }
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else { throw CancellationError() }
            return value
        }
    }

    /// `expected` without a worker other than `node` whose machine its provider reports failed or
    /// stopped now: a second worker lost during the replacement cannot turn Ready, and waiting for
    /// it would hold this playbook until its timeout while the lost worker's own replacement waits
    /// behind it (the watcher runs one replacement at a time). A machine the provider does not
    /// list is not left out (an unreadable inventory lists nothing), nor is a control plane:
    /// ``watchingControlPlanes`` stops the playbook when one is lost.
    func stillExpected(_ expected: NodeOperations.ExpectedHealth, replacing node: String) async throws -> NodeOperations.ExpectedHealth {
        let machines = try await ObservedCluster.observe(spec: spec, backend: backend).machines
        var current = expected
        current.nodes = expected.nodes.filter { name in
            let copies = machines.filter { $0.identity.node == name }
            let dead = !copies.isEmpty && copies.allSatisfy { $0.phase == .failed || $0.phase == .stopped }
            return name == node || expected.controlPlanes.contains(name) || copies.contains { $0.identity.role == .controlPlane } || !dead
        }
        return current
    }

    /// The nodes that were Ready when the playbook started plus the replaced one; the control
    /// planes that were voting then plus the replaced one, if it is one. Explicit lists: discovery
    /// keeps showing a dead node for up to 30 minutes (FAILOVER-FACTS.md section 1.6).
    func expectedHealth(node: String, initial: FailoverObservation?) -> NodeOperations.ExpectedHealth {
        let ready = Set(initial?.cluster.kubernetesNodes?.filter(\.ready).map(\.name) ?? [])
        var voters = Set(initial?.cluster.etcdMembers.filter { !$0.isLearner && !$0.hostname.isEmpty }.map(\.hostname) ?? [])
        if kind == .controlPlaneLost { voters.insert(node) }
        return NodeOperations.ExpectedHealth(nodes: ready.union([node]), controlPlanes: voters, gitops: false)
    }
}
