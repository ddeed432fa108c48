import ArgumentParser
import ClusterKit
import Foundation
import Provisioners

/// What made a command's run less than a success even though it went ahead: a provider that could
/// not be read, a duplicated node name, a fault that never fired. Each is printed on stderr as it
/// is found; ``finish()`` turns any of them into exit code 1, after the command printed its data,
/// so a script never mistakes a partial look at the cluster for the whole truth.
final class RunVerdict: @unchecked Sendable {
    private let lock = NSLock()
    private var problems: [String] = []

    /// Records a problem and prints it as an error line.
    func fail(_ message: String) {
        lock.lock()
        problems.append(message)
        lock.unlock()
        Terminal.error("error: \(message)")
    }

    var failures: [String] {
        lock.lock()
        defer { lock.unlock() }
        return problems
    }

    /// Every provider that could not be read, with why; their pools were left alone.
    func record(_ observed: ObservedCluster, action: String) {
        for (provider, why) in observed.unreachableProviders.sorted(by: { $0.key < $1.key }) {
            fail("provider \(provider) could not be read (\(why)); \(action)")
        }
    }

    /// Node names more than one machine carries.
    func record(_ plan: Plan) {
        for duplicate in plan.duplicates { fail(duplicate.description(cluster: plan.cluster)) }
    }

    /// Faults `--inject` asked for that are still waiting when the run ends.
    func record(unfired leftovers: [SimulatedFault], injected: [SimulatedFault]) {
        for fault in leftovers {
            if injected.contains(fault) {
                fail("--inject \(fault) never fired: no \(fault.operation.rawValue) operation\(fault.target.map { " on \($0)" } ?? "") ran\(fault.skip > 0 ? " after the \(fault.skip) it lets pass" : "")")
            } else {
                Terminal.error("warning: --inject \(fault.kind.rawValue):\(fault.operation.rawValue)\(fault.target.map { ":\($0)" } ?? "") fired fewer times than asked; \(fault.count) left unfired")
            }
        }
    }

    /// Exits 1 when anything was recorded.
    func finish() throws {
        if !failures.isEmpty { throw ExitCode(ExitStatus.failed) }
    }
}
