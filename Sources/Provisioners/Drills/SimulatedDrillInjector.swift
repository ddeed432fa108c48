public import ClusterKit

/// STAND-IN, to be replaced by the simulator's power control from the provider seam (the `power`
/// work) once it is merged: powers a node off with what main's simulator has,
/// ``SimulatedWorld/failMachine(node:)``, which fails the machine for good (as `machine-failure`
/// does). A powered-off machine cannot be powered on again here, so every repair replaces it.
public struct SimulatedDrillInjector: DrillFaultInjector {
    public let backend: ClusterBackend

    public init(backend: ClusterBackend) { self.backend = backend }

    public func powerOff(_ machine: ObservedMachine, scenario: DrillSpec.Scenario) async throws -> String {
        guard let provisioner = try backend.provisioner(machine.provider) as? SimulatedProvisioner else {
            throw ClusterError(.provider, "provider \(machine.provider) is not simulated, so the simulator cannot power \(machine.identity.node) off")
        }
        provisioner.world.failMachine(node: machine.identity.node)
        return "powered off \(machine.identity.node) (\(machine.provider), simulated)"
    }
}
