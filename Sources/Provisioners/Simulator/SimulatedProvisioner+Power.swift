public import ClusterKit

/// Power in the simulated world (``SimulatedWorld`` `power(_:provider:machine:)`), with the same
/// read-first shape as the real backends (``PowerSwitch``): each read and each command is one
/// provider round trip, done when it answers, as a finished action or task would be.
extension SimulatedProvisioner: PowerCommanding {
    public func powerState(of machine: ObservedMachine) async throws -> PowerState {
        try await world.powerState(provider: name, of: machine)
    }

    public func sendPower(_ action: PowerAction, to machine: ObservedMachine) async throws {
        try await world.power(action, provider: name, machine: machine)
    }

    public var powerSwitch: PowerSwitch { PowerSwitch(time: world.clock, timeout: .seconds(300), interval: pollInterval) }
}
