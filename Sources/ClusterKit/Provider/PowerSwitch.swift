/// The idempotent shape every backend's power verbs share, so each backend only says how to read
/// the state and how to send the command.
///
/// To reach a state it reads the machine's power first; waits while it is ``PowerState/transitioning``;
/// does nothing when it is already there; otherwise sends the command and reads again until the
/// provider reports the wanted state. A command that fails is not yet an answer: another caller
/// (a second drill step, a person in the provider's console) may have switched the machine the
/// same way in between, so the state is read once more before the error is thrown.
public struct PowerSwitch: Sendable {
    public var time: any TimeSource
    /// How long a machine may stay in transition, or take to show the new state, before giving up.
    public var timeout: Duration
    /// How often the state is read while waiting.
    public var interval: Duration

    public init(time: any TimeSource, timeout: Duration = .seconds(300), interval: Duration = .seconds(2)) {
        self.time = time
        self.timeout = timeout
        self.interval = interval
    }

    /// Brings `node` to `target` (``PowerState/on`` or ``PowerState/off``).
    public func drive(
        _ node: String, to target: PowerState, read: @Sendable () async throws -> PowerState, send: @Sendable () async throws -> Void
    ) async throws {
        let state = try await settled(node, read: read)
        if state == target { return }
        do {
            try await send()
        } catch {
            if (try? await read()) == target { return }
            throw error
        }
        try await wait(node, until: target, read: read)
    }

    /// Resets `node`: refused when it is off; waits out a transition first.
    public func reset(_ node: String, read: @Sendable () async throws -> PowerState, send: @Sendable () async throws -> Void) async throws {
        let state = try await settled(node, read: read)
        if state == .off {
            throw ClusterError(
                .refused, "\(node) is powered off, so it cannot be reset", hint: "power it on instead (`clusterctl node power <cluster> \(node) on`)")
        }
        try await send()
        try await wait(node, until: .on, read: read)
    }

    /// The state once it is no longer in transition.
    func settled(_ node: String, read: @Sendable () async throws -> PowerState) async throws -> PowerState {
        let deadline = time.now + timeout
        var state = try await read()
        while state == .transitioning {
            guard time.now < deadline else {
                throw ClusterError(.timeout, "\(node) stayed in a power transition for \(timeout)", hint: "look at the machine in the provider's console")
            }
            try await time.sleep(for: interval)
            state = try await read()
        }
        return state
    }

    /// Reads until the provider reports `target`.
    func wait(_ node: String, until target: PowerState, read: @Sendable () async throws -> PowerState) async throws {
        let deadline = time.now + timeout
        var state = try await read()
        while state != target {
            guard time.now < deadline else {
                throw ClusterError(
                    .timeout, "\(node) did not report power \(target) within \(timeout) (last seen: \(state))",
                    hint: "look at the machine in the provider's console")
            }
            try await time.sleep(for: interval)
            state = try await read()
        }
    }
}
