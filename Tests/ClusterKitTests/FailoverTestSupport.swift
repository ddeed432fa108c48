import ClusterKit
import ClusterTestSupport
import Provisioners
import Testing

/// Running failover playbooks on a ``SimulatedRun``'s world, on its virtual clock.
extension SimulatedRun {
    /// A spec like the user's: the hybrid fixture with the ingress floating IP on the cloud
    /// control planes.
    static func failoverSpec(controlPlanes: Int = 3) throws -> ClusterSpec {
        var spec = try Fixtures.hybridSpec(controlPlanes: controlPlanes)
        spec.failover = FailoverSpec(
            ingressIP: IngressIPSpec(name: "ingress", provider: "hcloud", candidatePools: ["cp"]),
            replacement: ReplacementPolicy(mode: .automatic, nodeLostAfter: .seconds(600)))
        return spec
    }

    func playbook(_ kind: PlaybookKind, _ node: String?, events: PlaybookEventRecorder? = nil) -> FailoverPlaybook {
        guard let events else { return FailoverPlaybook(kind, node: node, spec: spec, backend: backend) }
        return FailoverPlaybook(kind, node: node, spec: spec, backend: backend, events: events.sink)
    }

    /// Runs the playbook to its end; `lose` loses a further node that long after the start.
    func failover(_ kind: PlaybookKind, _ node: String?, losing: (node: String, after: Duration)? = nil, events: PlaybookEventRecorder? = nil) throws -> PlaybookReport {
        let playbook = playbook(kind, node, events: events)
        let world = world
        return try SimulationRunLoop(clock: world.clock).run {
            guard let losing else { return try await playbook.run() }
            return try await world.losing(losing.node, after: losing.after) { try await playbook.run() }
        }
    }

    /// What `--dry-run` would print: the steps, or the refusal.
    func dryRun(_ kind: PlaybookKind, _ node: String?) throws -> Result<[PlaybookStep], ClusterError> {
        let playbook = playbook(kind, node)
        return try SimulationRunLoop(clock: world.clock).run {
            let observed = try await playbook.observe()
            do throws(ClusterError) { return .success(try playbook.plan(observed: observed)) } catch { return .failure(error) }
        }
    }

    /// Lets virtual time pass with nothing running (a node's kubelet grace period, a join).
    func wait(_ duration: Duration) {
        world.clock.advance(by: duration)
    }

    /// Live machines named `node`, and whether each older one was deleted, in creation order.
    func history(_ node: String) -> [Bool] {
        world.machineHistory(cluster: spec.name).filter { $0.node == node }.map(\.deleted)
    }

    /// Nodes with a live machine.
    var liveNodes: Set<String> {
        Set(world.machineHistory(cluster: spec.name).filter { !$0.deleted }.map(\.node))
    }
}

/// Collects playbook events for assertions.
final class PlaybookEventRecorder: Sendable {
    let box = SharedBox<[PlaybookEvent]>([])

    var events: [PlaybookEvent] { box.value }

    var sink: PlaybookEventSink {
        { event in
            var all = self.box.value
            all.append(event)
            self.box.value = all
        }
    }
}
