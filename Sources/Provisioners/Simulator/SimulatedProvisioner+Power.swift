public import ClusterKit

/// Power in the simulated world (``SimulatedWorld`` `power(_:provider:machine:)`), with the same
/// read-first shape as the real backends (``PowerSwitch``): each read and each command is one
/// provider round trip, done when it answers, as a finished action or task would be.
extension SimulatedProvisioner: PowerControlling {
    public func powerState(of machine: ObservedMachine) async throws -> PowerState {
        try await world.powerState(provider: name, of: machine)
    }

    public func powerOff(_ machine: ObservedMachine) async throws {
        try await powerSwitch.drive(machine.identity.node, to: .off, read: { try await powerState(of: machine) }) {
            try await world.power(.off, provider: name, machine: machine)
        }
    }

    public func powerOn(_ machine: ObservedMachine) async throws {
        try await powerSwitch.drive(machine.identity.node, to: .on, read: { try await powerState(of: machine) }) {
            try await world.power(.on, provider: name, machine: machine)
        }
    }

    public func reset(_ machine: ObservedMachine) async throws {
        try await powerSwitch.reset(machine.identity.node, read: { try await powerState(of: machine) }) {
            try await world.power(.reset, provider: name, machine: machine)
        }
    }

    var powerSwitch: PowerSwitch { PowerSwitch(time: world.clock, timeout: .seconds(300), interval: pollInterval) }
}
