public import ClusterKit

/// Power in the simulated world (``SimulatedWorld`` `power(_:provider:machine:)`): each verb takes
/// one provider round trip and is done when it answers, as a finished action or task would be.
extension SimulatedProvisioner: PowerControlling {
    public func powerState(of machine: ObservedMachine) async throws -> PowerState {
        try await world.powerState(provider: name, of: machine)
    }

    public func powerOff(_ machine: ObservedMachine) async throws {
        try await world.power(.off, provider: name, machine: machine)
    }

    public func powerOn(_ machine: ObservedMachine) async throws {
        try await world.power(.on, provider: name, machine: machine)
    }

    public func reset(_ machine: ObservedMachine) async throws {
        try await world.power(.reset, provider: name, machine: machine)
    }
}
