/// Destroys what a cluster owns on its providers: every machine carrying the cluster's identity,
/// then the shared resources carrying its labels. Nothing else is touched.
public struct Teardown: Sendable {
    public let spec: ClusterSpec
    public let backend: ClusterBackend
    public let retry: RetryPolicy
    public let events: ExecutionEventSink

    public init(spec: ClusterSpec, backend: ClusterBackend, retry: RetryPolicy = RetryPolicy(), events: @escaping ExecutionEventSink = { _ in }) {
        self.spec = spec
        self.backend = backend
        self.retry = retry
        self.events = events
    }

    /// Deletes every machine (all of them attempted even when some fail), then shared resources
    /// of providers whose machines are all gone. Providers in `skipping` (they could not be read)
    /// are left alone. Returns the failures by subject.
    public func run(machines: [ObservedMachine], skipping: Set<String> = []) async -> [String: String] {
        var failures = await deleteMachines(machines)
        let time = backend.time
        let emit = emitter()
        for provider in spec.providers where !skipping.contains(provider.name) {
            let failedHere = machines.contains { $0.provider == provider.name && failures[$0.identity.node] != nil }
            guard !failedHere else { continue }
            do {
                let provisioner = try backend.provisioner(provider.name)
                try await retry.run(key: "\(provider.name)/resources", time: time) {
                    try await provisioner.deleteClusterResources(cluster: spec.name)
                }
                emit(provider.name, .succeeded, "shared resources deleted")
            } catch {
                failures[provider.name] = oneLine(error)
                emit(provider.name, .failed, oneLine(error))
            }
        }
        return failures
    }

    /// Deletes exactly these machines at their providers (all attempted even when some fail), with
    /// retries; nothing else. Returns the failures by node name.
    public func deleteMachines(_ machines: [ObservedMachine]) async -> [String: String] {
        let time = backend.time
        let emit = emitter()
        var failures: [String: String] = [:]
        await withTaskGroup(of: (String, String?).self) { group in
            for machine in machines {
                group.addTask {
                    let name = machine.identity.node
                    do {
                        let provisioner = try backend.provisioner(machine.provider)
                        emit(name, .started, "deleting \(machine.providerID) on \(machine.provider)")
                        try await retry.run(key: "\(name)/delete", time: time, onRetry: { attempt, error, pause in
                            emit(name, .retrying, "delete: \(error) — retry \(attempt + 1) in \(pause.formattedSeconds)")
                        }) { try await provisioner.deleteMachine(machine) }
                        emit(name, .succeeded, "deleted")
                        return (name, nil)
                    } catch {
                        emit(name, .failed, oneLine(error))
                        return (name, oneLine(error))
                    }
                }
            }
            for await (name, failure) in group {
                if let failure { failures[name] = failure }
            }
        }
        return failures
    }

    /// Sends machine-stage events timed from now.
    private func emitter() -> @Sendable (String, ExecutionEvent.Kind, String) -> Void {
        let start = backend.time.now
        let time = backend.time
        let events = events
        return { subject, kind, message in
            events(ExecutionEvent(elapsed: time.now - start, stage: .machines, subject: subject, kind: kind, message: message))
        }
    }
}
