/// What a playbook decides from: the cluster as ``ObservedCluster`` reads it, plus the health of
/// etcd on each control plane and where the ingress floating IP points.
public struct FailoverObservation: Sendable {
    public var cluster: ObservedCluster
    /// The etcd service's health on each control plane that answered `ServiceList`, by node:
    /// Talos' own check is a quorum read (FAILOVER-FACTS.md section 1.1, item 6).
    public var etcdHealthy: [String: Bool]
    /// The provider id of the machine the ingress floating IP points at.
    public var ingressTarget: String?
    /// The ingress floating IP's address, when it exists.
    public var ingressAddress: String?

    public init(cluster: ObservedCluster, etcdHealthy: [String: Bool] = [:], ingressTarget: String? = nil, ingressAddress: String? = nil) {
        self.cluster = cluster
        self.etcdHealthy = etcdHealthy
        self.ingressTarget = ingressTarget
        self.ingressAddress = ingressAddress
    }

    /// Reads everything once. Nodes that do not answer are recorded as such, not fatal.
    public static func observe(spec: ClusterSpec, backend: ClusterBackend) async throws -> FailoverObservation {
        let cluster = try await ObservedCluster.observe(spec: spec, backend: backend)
        var etcdHealthy: [String: Bool] = [:]
        for machine in cluster.machines where machine.identity.role == .controlPlane && cluster.talos[machine.identity.node]?.stage == .running {
            if let services = try? await backend.talos.services(of: machine), let etcd = services.first(where: { $0.id == "etcd" }) {
                etcdHealthy[machine.identity.node] = etcd.isUp && etcd.healthy == true
            }
        }
        var target: String?
        var address: String?
        if let ingress = spec.failover?.ingressIP, let provisioner = backend.provisioners[ingress.provider] as? any FloatingIPProvisioner {
            target = try? await provisioner.floatingIPTarget(named: ingress.name, cluster: spec.name)
            address = try? await provisioner.floatingIPAddress(named: ingress.name, cluster: spec.name)
        }
        return FailoverObservation(cluster: cluster, etcdHealthy: etcdHealthy, ingressTarget: target, ingressAddress: address)
    }

    /// The live machines carrying the name (more than one is a duplicate no playbook touches).
    public func machines(named node: String) -> [ObservedMachine] {
        cluster.machines.filter { $0.identity.node == node }
    }

    public func kubernetesNode(_ node: String) -> KubernetesNodeStatus? {
        cluster.kubernetesNodes?.first { $0.name == node }
    }

    /// Whether the node's Talos API did not answer: no status at all, or `unreachable` (what
    /// the real client reports for a connection refused or timed out, where the simulator has
    /// no status).
    public func isTalosSilent(_ node: String) -> Bool {
        (cluster.talos[node]?.stage ?? .unreachable) == .unreachable
    }

    /// Provider running, Talos running, Kubernetes Ready, and for a control plane a healthy etcd.
    public func isHealthy(_ machine: ObservedMachine) -> Bool {
        let node = machine.identity.node
        guard machine.phase == .running, cluster.talos[node]?.stage == .running, kubernetesNode(node)?.ready == true else { return false }
        return machine.identity.role != .controlPlane || etcdHealthy[node] == true
    }

    /// Why the machine is not healthy, in words; empty when it is.
    public func problems(of machine: ObservedMachine) -> [String] {
        let node = machine.identity.node
        var problems: [String] = []
        if machine.phase != .running { problems.append("provider reports it \(machine.phase.rawValue)") }
        switch cluster.talos[node]?.stage {
        case .running?: break
        case let stage?: problems.append("Talos is \(stage.rawValue)")
        case nil: problems.append("the Talos API does not answer")
        }
        switch kubernetesNode(node)?.ready {
        case true?: break
        case false?: problems.append("Kubernetes reports it NotReady")
        case nil: problems.append(cluster.kubernetesNodes == nil ? "the Kubernetes API does not answer" : "Kubernetes does not list it")
        }
        if machine.identity.role == .controlPlane, etcdHealthy[node] != true { problems.append("its etcd is not healthy") }
        return problems
    }
}
