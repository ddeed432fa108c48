public import ArgumentParser
import ClusterKit
import Provisioners

/// Options of commands that change a cluster.
struct RunOptions: ParsableArguments {
    @Option(name: .customLong("inject"), help: ArgumentHelp(
        "Simulator only: inject a fault, KIND:OPERATION[:TARGET][*COUNT] (repeatable).",
        discussion: "Kinds: \(SimulatedFault.Kind.allCases.map(\.rawValue).joined(separator: ", ")). Operations: \(SimulatedFault.Operation.allCases.map(\.rawValue).joined(separator: ", ")). Example: --inject ratelimit:create:hcloud*3 --inject crash:create:home-cp-2",
        valueName: "fault"))
    var faults: [String] = []

    @Option(name: .customLong("sim-speed"), help: "Simulator only: virtual seconds per real second (0 = as fast as possible; default 60 on a terminal, 0 otherwise).")
    var simulationSpeed: Double?

    func parsedFaults(simulate: Bool) throws -> [SimulatedFault] {
        if !faults.isEmpty && !simulate {
            throw ClusterError(.invalidSpec, "--inject works only with --simulate", hint: "add --simulate")
        }
        return try faults.map { try SimulatedFault(parsing: $0) }
    }

    var speed: Double? {
        let speed = simulationSpeed ?? (Terminal.stderrIsTTY ? 60 : 0)
        return speed > 0 ? speed : nil
    }
}

extension Stage: ExpressibleByArgument {}
