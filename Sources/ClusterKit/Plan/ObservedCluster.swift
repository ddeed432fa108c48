/// What exists now, read from the providers and the cluster itself; the planner's input.
public struct ObservedCluster: Sendable {
    public var machines: [ObservedMachine]
    /// Providers whose inventory could not be read, with why; the plan leaves their pools alone.
    public var unreachableProviders: [String: String]
    /// Whether etcd has been bootstrapped (some control plane reports members).
    public var etcdBootstrapped: Bool
    public var etcdMembers: [EtcdMember]
    public var talos: [String: TalosNodeStatus]
    public var kubernetesNodes: [KubernetesNodeStatus]?
    public var gitops: GitOpsStatus?
    /// The address of the floating IP the configs carry (``ClusterSpec/configFloatingIPName``),
    /// when it exists.
    public var configFloatingIP: String?

    public init(
        machines: [ObservedMachine], unreachableProviders: [String: String] = [:], etcdBootstrapped: Bool = false,
        etcdMembers: [EtcdMember] = [], talos: [String: TalosNodeStatus] = [:], kubernetesNodes: [KubernetesNodeStatus]? = nil,
        gitops: GitOpsStatus? = nil, configFloatingIP: String? = nil
    ) {
        self.configFloatingIP = configFloatingIP
        self.machines = machines
        self.unreachableProviders = unreachableProviders
        self.etcdBootstrapped = etcdBootstrapped
        self.etcdMembers = etcdMembers
        self.talos = talos
        self.kubernetesNodes = kubernetesNodes
        self.gitops = gitops
    }

    /// Node names that more than one machine carries, in name order, each with every copy.
    public var duplicateNodes: [DuplicateNode] {
        var byName: [String: [ObservedMachine]] = [:]
        for machine in machines { byName[machine.identity.node, default: []].append(machine) }
        return byName.filter { $0.value.count > 1 }.sorted { $0.key < $1.key }.map { name, copies in
            DuplicateNode(node: name, pool: copies[0].identity.pool, machines: copies.sorted { ($0.provider, $0.providerID) < ($1.provider, $1.providerID) })
        }
    }

    /// Reads the inventory from every provider concurrently, then asks running control planes
    /// about etcd and the Kubernetes API about nodes and Flux. A provider that cannot be read is
    /// recorded, not fatal: its pools are left alone.
    public static func observe(spec: ClusterSpec, backend: ClusterBackend) async throws -> ObservedCluster {
        var machines: [ObservedMachine] = []
        var unreachable: [String: String] = [:]
        try await withThrowingTaskGroup(of: (String, Result<[ObservedMachine], any Error>).self) { group in
            for provider in spec.providers {
                group.addTask {
                    do {
                        let provisioner = try backend.provisioner(provider.name)
                        return (provider.name, .success(try await provisioner.listMachines(cluster: spec.name)))
                    } catch {
                        return (provider.name, .failure(error))
                    }
                }
            }
            for try await (name, result) in group {
                switch result {
                case .success(let list): machines += list
                case .failure(let error): unreachable[name] = oneLine(error)
                }
            }
        }
        machines.sort { ($0.identity.node, $0.providerID) < ($1.identity.node, $1.providerID) }

        var talos: [String: TalosNodeStatus] = [:]
        var members: [EtcdMember] = []
        // Ask the nodes a batch at a time: concurrent enough for hundreds of nodes, gentle on each.
        let running = machines.filter { $0.phase == .running }
        for batch in stride(from: 0, to: running.count, by: 32).map({ Array(running[$0..<min($0 + 32, running.count)]) }) {
            await withTaskGroup(of: (String, TalosNodeStatus?).self) { group in
                for machine in batch {
                    group.addTask { (machine.identity.node, try? await backend.talos.status(of: machine)) }
                }
                for await (node, status) in group {
                    if let status { talos[node] = status }
                }
            }
        }
        for machine in machines where machine.identity.role == .controlPlane && talos[machine.identity.node]?.stage == .running {
            if let found = try? await backend.talos.etcdMembers(via: machine), !found.isEmpty {
                members = found
                break
            }
        }
        var kubernetesNodes: [KubernetesNodeStatus]?
        var gitops: GitOpsStatus?
        if !members.isEmpty, (try? await backend.kubernetes.isAPIServerUp()) == true {
            kubernetesNodes = try? await backend.kubernetes.nodes()
            gitops = try? await backend.gitops.status()
        }
        var configFloatingIP: String?
        if let name = spec.configFloatingIPName, let ingress = spec.failover?.ingressIP,
            let provisioner = backend.provisioners[ingress.provider] as? any FloatingIPProvisioner
        {
            configFloatingIP = try? await provisioner.floatingIPAddress(named: name, cluster: spec.name)
        }
        return ObservedCluster(
            machines: machines, unreachableProviders: unreachable, etcdBootstrapped: !members.isEmpty, etcdMembers: members,
            talos: talos, kubernetesNodes: kubernetesNodes, gitops: gitops, configFloatingIP: configFloatingIP)
    }
}
