public import ClusterKit

/// A provider whose backend cannot be built here (missing credentials, unsupported type). Listing
/// fails, so the planner leaves its pools alone and other providers' pools go ahead.
public struct UnavailableProvisioner: Provisioner {
    public let name: String
    public let reason: ClusterError
    public var acceptsUserData: Bool { true }

    public init(name: String, reason: ClusterError) {
        self.name = name
        self.reason = reason
    }

    public func ensureImage(_ request: ImageRequest) async throws -> ProviderImage { throw reason }
    public func ensureClusterResources(cluster: String) async throws { throw reason }
    public func listMachines(cluster: String) async throws -> [ObservedMachine] { throw reason }
    public func createMachine(_ request: MachineRequest) async throws -> ObservedMachine { throw reason }
    public func waitUntilRunning(_ machine: ObservedMachine) async throws -> ObservedMachine { throw reason }
    public func deleteMachine(_ machine: ObservedMachine) async throws { throw reason }
    public func deleteClusterResources(cluster: String) async throws { throw reason }
}
