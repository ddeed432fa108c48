/// The ingress floating IP playbook.
extension FailoverPlaybook {
    struct IngressPlan {
        var steps: [PlaybookStep]
        var holder: ObservedMachine?
    }

    /// Keeps the IP where it is when its holder is a healthy candidate (and no other node was
    /// asked for); otherwise picks the first healthy node of the candidate pools, in the spec's
    /// order of preference, and moves the IP there.
    func ingressPlan(observed: FailoverObservation) throws(ClusterError) -> IngressPlan {
        guard let ingress = spec.failover?.ingressIP else {
            throw ClusterError(.invalidSpec, "cluster \(spec.name) has no failover.ingressIP", hint: "define failover.ingressIP with its provider and candidatePools")
        }
        guard let address = observed.ingressAddress else {
            throw ClusterError(.refused, "the floating IP \(ingress.name) does not exist on \(ingress.provider) yet", hint: "run `clusterctl up \(spec.name)` first")
        }
        let candidates = ingress.candidatePools.flatMap { pool in
            observed.cluster.machines.filter { $0.identity.pool == pool }.sorted { $0.identity.node < $1.identity.node }
        }
        let holder = observed.cluster.machines.first { $0.providerID == observed.ingressTarget }
        if let wanted = node {
            guard let machine = candidates.first(where: { $0.identity.node == wanted }) else {
                throw ClusterError(.refused, "\(wanted) is not in a candidate pool of \(ingress.name)", hint: "candidate pools: " + ingress.candidatePools.joined(separator: ", "))
            }
            guard observed.isHealthy(machine) else {
                throw ClusterError(.refused, "\(wanted) is not healthy (\(observed.problems(of: machine).joined(separator: ", "))); the IP was not moved")
            }
            if holder?.providerID == machine.providerID {
                return IngressPlan(steps: [PlaybookStep(.verifyIngress, node: wanted, "check that \(address) answers at \(wanted)")], holder: machine)
            }
            return IngressPlan(steps: moveSteps(to: machine, from: holder, address: address), holder: machine)
        }
        if let holder, candidates.contains(holder), observed.isHealthy(holder) {
            // Still check it answers there: a killed run may have assigned it and died before looking.
            return IngressPlan(steps: [PlaybookStep(.verifyIngress, node: holder.identity.node, "check that \(address) answers at \(holder.identity.node)")], holder: holder)
        }
        guard let next = candidates.first(where: { $0.providerID != holder?.providerID && observed.isHealthy($0) }) else {
            throw ClusterError(
                .refused, "no healthy node in the candidate pools (\(ingress.candidatePools.joined(separator: ", "))) can take \(ingress.name)",
                hint: "bring a candidate node back, or add a pool to failover.ingressIP.candidatePools")
        }
        return IngressPlan(steps: moveSteps(to: next, from: holder, address: address), holder: next)
    }

    private func moveSteps(to machine: ObservedMachine, from holder: ObservedMachine?, address: String) -> [PlaybookStep] {
        let from = holder.map { " from \($0.identity.node)" } ?? ""
        return [
            PlaybookStep(.moveIngressIP, node: machine.identity.node, "assign the floating IP \(address)\(from) to \(machine.identity.node) (\(machine.providerID))"),
            PlaybookStep(.verifyIngress, node: machine.identity.node, "wait until \(address) answers at \(machine.identity.node)"),
        ]
    }

    func moveIngress(to node: String, operations: NodeOperations, run: inout PlaybookRun) async throws -> (PlaybookReport.StepRecord.Outcome, String) {
        let now = try await observe()
        guard let machine = now.machines(named: node).first else { throw ClusterError(.notFound, "\(node) has no machine any more") }
        guard now.isHealthy(machine) else {
            throw ClusterError(.refused, "\(node) is no longer healthy (\(now.problems(of: machine).joined(separator: ", "))); the IP was not moved", hint: "run the playbook again to pick another candidate")
        }
        run.report.ingressHolder = node
        if now.ingressTarget == machine.providerID {
            run.ingressAssignedAt = time.now
            return (.alreadyDone, "the floating IP already points at \(node)")
        }
        let address = try await operations.moveIngressIP(to: machine)
        run.ingressAssignedAt = time.now
        return (.done, "\(address) assigned to \(node)")
    }

    /// Asks the Talos API at the floating IP's address until the holder answers there: the IP is
    /// configured on candidates as a static address (FAILOVER-FACTS.md section 4), so an answer
    /// means the provider routes it to the node. Measures assign-to-reachable.
    func verifyIngress(at node: String, run: inout PlaybookRun) async throws -> (PlaybookReport.StepRecord.Outcome, String) {
        let now = try await observe()
        guard let machine = now.machines(named: node).first, let address = now.ingressAddress else {
            throw ClusterError(.notFound, "\(node) or the floating IP is gone")
        }
        guard now.ingressTarget == machine.providerID else {
            throw ClusterError(.refused, "the floating IP no longer points at \(node)", hint: "run the playbook again")
        }
        run.report.ingressHolder = node
        let assigned = run.ingressAssignedAt
        var viaIP = machine
        viaIP.addresses = [address]
        let deadline = time.now + options.ingressTimeout
        var probes = 0
        while time.now < deadline {
            probes += 1
            if let status = try? await backend.talos.status(of: viaIP), status.stage == .running {
                guard let assigned else {
                    // Not moved by this run: answering at once means nothing was left to do.
                    return (probes == 1 ? .alreadyDone : .done, "\(address) answers at \(node)")
                }
                let after = time.now - assigned
                run.report.ingressReachableAfter = after
                return (.done, "\(address) answers at \(node), \(after.formattedSeconds) after the assignment")
            }
            try await time.sleep(for: .seconds(1))
        }
        throw ClusterError(.timeout, "\(address) did not answer at \(node) within \(options.ingressTimeout.formattedSeconds)", hint: "check that the IP is configured on the candidates' links")
    }
}
