/// The checks of steady state a drill runs before, during and after its fault: the Kubernetes
/// API answers, etcd has quorum, every machine runs at its provider and answers on the Talos API,
/// every node of the spec is Ready, and the ingress floating IP points at a running machine. All
/// read through the same backend `status` and `up` use.
///
/// Node Ready alone is not trusted: Kubernetes keeps a node that died Ready until the
/// node-monitor grace period passes, 40-55 s (FAILOVER-FACTS.md section 3), while its provider
/// and its Talos API show the loss at once.
public struct DrillProbes: Sendable {
    /// One round of probes and what the runner's guards and stop conditions need from it.
    public struct Round: Sendable {
        public var probes: [DrillReport.Probe]
        public var observed: ObservedCluster?
        /// Nodes Kubernetes reports Ready.
        public var readyNodes: Set<String>
        /// Nodes Ready whose machine also runs at its provider and whose Talos API answers running.
        public var healthyNodes: Set<String>
        /// Nodes whose machine the provider reports failed or powered off.
        public var lostNodes: Set<String>
        public var readyControlPlanes: Int
        public var voters: Int
        public var aliveVoters: Int
        /// The node the ingress floating IP points at, when the spec has one and it points at a machine.
        public var ingressHolder: String?

        public var allPassed: Bool { !probes.isEmpty && probes.allSatisfy(\.passed) }
        public var failed: [DrillReport.Probe] { probes.filter { !$0.passed } }
    }

    public let spec: ClusterSpec
    public let backend: ClusterBackend

    public init(spec: ClusterSpec, backend: ClusterBackend) {
        self.spec = spec
        self.backend = backend
    }

    public func run(_ phase: DrillReport.Phase, at seconds: Double) async throws -> Round {
        let observed: ObservedCluster
        do {
            observed = try await ObservedCluster.observe(spec: spec, backend: backend)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            let probe = DrillReport.Probe(name: "observe", phase: phase, at: seconds, passed: false, detail: "the cluster could not be read: \(error)")
            return Round(probes: [probe], observed: nil, readyNodes: [], healthyNodes: [], lostNodes: [], readyControlPlanes: 0, voters: 0, aliveVoters: 0)
        }
        try Task.checkCancellation()
        var probes: [DrillReport.Probe] = []
        let probe = { (name: String, passed: Bool, detail: String) in
            probes.append(DrillReport.Probe(name: name, phase: phase, at: seconds, passed: passed, detail: detail))
        }
        let running = observed.machines.filter { $0.phase == .running }
        let runningNodes = Set(running.map(\.identity.node))

        probe("kubernetes-api", observed.kubernetesNodes != nil, observed.kubernetesNodes != nil ? "the API server answers" : "the API server does not answer")

        let voters = observed.etcdMembers.filter { !$0.isLearner }
        let alive = voters.filter { runningNodes.contains($0.hostname) && observed.talos[$0.hostname]?.stage == .running }
        let learners = observed.etcdMembers.count - voters.count
        let quorum = EtcdMember.quorum(ofVoters: voters.count)
        probe(
            "etcd-quorum", !voters.isEmpty && alive.count >= quorum,
            "\(alive.count)/\(voters.count) voting members up, quorum \(quorum)" + (learners > 0 ? ", \(learners) learner(s) joining" : ""))

        let down = observed.machines.filter { $0.phase != .running || observed.talos[$0.identity.node]?.stage != .running }
        probe(
            "nodes-up", down.isEmpty && !observed.machines.isEmpty,
            down.isEmpty
                ? "\(observed.machines.count) machines running, Talos answering"
                : "down: " + down.map { machine in
                    let talos = observed.talos[machine.identity.node].map { "Talos \($0.stage.rawValue)" } ?? "Talos API not answering"
                    return "\(machine.identity.node) (\(machine.phase.rawValue), \(talos))"
                }.joined(separator: ", "))

        let ready = Set((observed.kubernetesNodes ?? []).filter(\.ready).map(\.name))
        let healthy = ready.subtracting(down.map(\.identity.node))
        let expected = spec.pools.reduce(0) { $0 + $1.count }
        let wanted = Set(observed.machines.map(\.identity.node))
        let notReady = wanted.subtracting(ready).sorted()
        probe(
            "nodes-ready", notReady.isEmpty && ready.intersection(wanted).count >= expected,
            notReady.isEmpty ? "\(ready.intersection(wanted).count)/\(expected) nodes Ready" : "not Ready: \(notReady.joined(separator: ", "))")

        var holder: String?
        if let ingress = spec.failover?.ingressIP {
            var detail = "provider \(ingress.provider) cannot hold floating IPs"
            var passed = false
            if let provisioner = try? backend.provisioner(ingress.provider) as? any FloatingIPProvisioner {
                do {
                    let target = try await provisioner.floatingIPTarget(named: ingress.name, cluster: spec.name)
                    let machine = observed.machines.first { $0.providerID == target }
                    holder = machine?.identity.node
                    passed = machine?.phase == .running
                    detail = machine.map { "\(ingress.name) points at \($0.identity.node) (\($0.phase.rawValue))" } ?? "\(ingress.name) points at no machine"
                } catch is CancellationError {
                    throw CancellationError()
                } catch {
                    detail = "\(ingress.name) could not be read: \(error)"
                }
            }
            probe("ingress-ip", passed, detail)
        }

        let lost = Set(observed.machines.filter { $0.phase == .failed || $0.phase == .stopped }.map(\.identity.node))
        let readyControlPlanes = observed.machines.filter { $0.identity.role == .controlPlane && healthy.contains($0.identity.node) }.count
        return Round(
            probes: probes, observed: observed, readyNodes: ready, healthyNodes: healthy, lostNodes: lost, readyControlPlanes: readyControlPlanes, voters: voters.count,
            aliveVoters: alive.count, ingressHolder: holder)
    }
}
