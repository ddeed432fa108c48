public import ClusterKit

/// A provider in the simulated world. Under `--simulate` each provider of the spec becomes one
/// of these with the same name, behaving like its type (boot times, user data or maintenance mode).
public struct SimulatedProvisioner: Provisioner, FloatingIPProvisioner {
    public let name: String
    public let world: SimulatedWorld
    /// How often ``waitUntilRunning(_:)`` polls, like a real provider polling its action or task.
    public var pollInterval: Duration = .seconds(2)

    public init(name: String, type: String, world: SimulatedWorld) {
        self.name = name
        self.world = world
        world.registerProvider(named: name, type: type)
    }

    public var acceptsUserData: Bool { world.providerTimings(name).acceptsUserData }

    public func ensureImage(_ request: ImageRequest) async throws -> ProviderImage {
        try await world.ensureImage(provider: name, request)
    }

    public func ensureClusterResources(cluster: String) async throws {
        try await world.ensureClusterResources(provider: name, cluster: cluster)
    }

    public func listMachines(cluster: String) async throws -> [ObservedMachine] {
        try await world.listMachines(provider: name, cluster: cluster)
    }

    public func createMachine(_ request: MachineRequest) async throws -> ObservedMachine {
        do {
            return try await world.createMachine(provider: name, request)
        } catch let error as ProvisionerError where error.code == .conflict {
            // The name is taken: a previous run created it. Adopt it instead of failing or duplicating.
            let existing = try await listMachines(cluster: request.identity.cluster)
            guard let machine = existing.first(where: { $0.identity.node == request.identity.node }) else { throw error }
            return machine
        }
    }

    public func waitUntilRunning(_ machine: ObservedMachine) async throws -> ObservedMachine {
        var current = machine
        while current.phase != .running {
            if current.phase == .failed {
                throw ProvisionerError(.unavailable, "the machine failed while booting", provider: name, resource: machine.identity.node)
            }
            // Powered off (a drill, a person): on, as Hetzner's waitUntilRunning does.
            if current.phase == .stopped { try await powerOn(current) }
            try await world.clock.sleep(for: pollInterval)
            current = try await world.machine(provider: name, id: machine.providerID)
        }
        return current
    }

    public func deleteMachine(_ machine: ObservedMachine) async throws {
        try await world.deleteMachine(provider: name, machine)
    }

    public func deleteClusterResources(cluster: String) async throws {
        try await world.deleteClusterResources(provider: name, cluster: cluster)
    }

    public func ensureFloatingIP(named ipName: String, cluster: String) async throws -> String {
        try await world.ensureFloatingIP(provider: name, name: ipName, cluster: cluster)
    }

    public func floatingIPAddress(named ipName: String, cluster: String) async throws -> String? {
        try await world.floatingIPAddress(provider: name, name: ipName, cluster: cluster)
    }

    public func assignFloatingIP(named ipName: String, cluster: String, to machine: ObservedMachine) async throws -> String {
        try await world.assignFloatingIP(provider: name, name: ipName, cluster: cluster, to: machine)
    }

    public func floatingIPTarget(named ipName: String, cluster: String) async throws -> String? {
        try await world.floatingIPTarget(provider: name, name: ipName, cluster: cluster)
    }
}
