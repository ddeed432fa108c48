import ClusterKit

extension SimulatorState {
    /// The largest time the state may hold: about 31,700 years of virtual seconds. Far beyond any
    /// run, and far inside what `Duration` holds, so the clock can never overflow and trap.
    static let latestTime: Double = 1e12

    /// Every time value that is not a finite number in `0...latestTime`, by its path in the file.
    /// A state file edited by hand or damaged on disk must be refused with its path, not crash
    /// every command (an out-of-range `Duration` traps the process).
    func invalidTimes() -> [String] {
        var problems: [String] = []
        func check(_ value: Double?, _ path: @autoclosure () -> String) {
            guard let value else { return }
            if !value.isFinite || value < 0 || value > Self.latestTime { problems.append("\(path()) is \(value)") }
        }
        check(now, "now")
        for (name, provider) in providers.sorted(by: { $0.key < $1.key }) {
            for (key, image) in provider.images.sorted(by: { $0.key < $1.key }) { check(image.readyAt, "providers.\(name).images.\(key).readyAt") }
            for (index, machine) in provider.machines.enumerated() {
                let path = "providers.\(name).machines[\(index)]"
                check(machine.createdAt, "\(path).createdAt")
                check(machine.runningAt, "\(path).runningAt")
                check(machine.diedAt, "\(path).diedAt")
                check(machine.configAppliedAt, "\(path).configAppliedAt")
                check(machine.talosRunningAt, "\(path).talosRunningAt")
            }
        }
        for (name, cluster) in clusters.sorted(by: { $0.key < $1.key }) {
            check(cluster.bootstrappedAt, "clusters.\(name).bootstrappedAt")
            check(cluster.gitops?.installedAt, "clusters.\(name).gitops.installedAt")
            for (machine, at) in cluster.memberRemovedAt.sorted(by: { $0.key < $1.key }) { check(at, "clusters.\(name).memberRemovedAt.\(machine)") }
        }
        return problems
    }
}
