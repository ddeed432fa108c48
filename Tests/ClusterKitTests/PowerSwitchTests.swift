import ClusterKit
import Synchronization
import Testing

/// The idempotent shape every backend's power verbs share, driven by scripted reads and sends.
@Suite("Power switch")
struct PowerSwitchTests {
    /// A machine whose reads follow a script (the last entry repeats) and that counts sends.
    final class Script: Sendable {
        let reads: Mutex<[PowerState]>
        let sends = Mutex(0)
        let failSend: (any Error & Sendable)?
        /// What the reads become once a send has gone out.
        let afterSend: [PowerState]?

        init(_ reads: [PowerState], afterSend: [PowerState]? = nil, failSend: (any Error & Sendable)? = nil) {
            self.reads = Mutex(reads)
            self.afterSend = afterSend
            self.failSend = failSend
        }

        func read() throws -> PowerState {
            reads.withLock { reads in reads.count > 1 ? reads.removeFirst() : reads[0] }
        }

        func send() throws {
            sends.withLock { $0 += 1 }
            if let afterSend { reads.withLock { $0 = afterSend } }
            if let failSend { throw failSend }
        }
    }

    func run(_ body: @escaping @Sendable (PowerSwitch) async throws -> Void) throws {
        let clock = VirtualClock()
        try SimulationRunLoop(clock: clock).run {
            try await body(PowerSwitch(time: clock, timeout: .seconds(30), interval: .seconds(1)))
        }
    }

    @Test("already there: nothing is sent")
    func alreadyThere() throws {
        let script = Script([.off])
        try run { power in try await power.drive("n1", to: .off, read: { try script.read() }, send: { try script.send() }) }
        #expect(script.sends.withLock { $0 } == 0)
    }

    @Test("a transition is waited out first: starting then on needs no power-on")
    func transitionWaitedOut() throws {
        let script = Script([.transitioning, .transitioning, .on])
        try run { power in try await power.drive("n1", to: .on, read: { try script.read() }, send: { try script.send() }) }
        #expect(script.sends.withLock { $0 } == 0)
    }

    @Test("sent once, then read until the provider reports it")
    func sentAndConfirmed() throws {
        let script = Script([.on], afterSend: [.on, .transitioning, .off])
        try run { power in try await power.drive("n1", to: .off, read: { try script.read() }, send: { try script.send() }) }
        #expect(script.sends.withLock { $0 } == 1)
    }

    @Test("a send that failed but whose change shows anyway counts as done; one that did not rethrows")
    func failedSend() throws {
        let lost = Script([.off], afterSend: [.on], failSend: ClusterError(.provider, "answer lost"))
        try run { power in try await power.drive("n1", to: .on, read: { try lost.read() }, send: { try lost.send() }) }
        let refused = Script([.off], failSend: ClusterError(.provider, "quota"))
        #expect(throws: ClusterError.self) {
            try run { power in try await power.drive("n1", to: .on, read: { try refused.read() }, send: { try refused.send() }) }
        }
    }

    @Test("a machine that never shows the state times out naming it; a reset of an off machine is refused unsent")
    func timeoutAndReset() throws {
        let stuck = Script([.on])
        let timeout = #expect(throws: ClusterError.self) {
            try run { power in try await power.drive("home-cp-1", to: .off, read: { try stuck.read() }, send: { try stuck.send() }) }
        }
        #expect(timeout?.code == .timeout)
        #expect(timeout?.message.contains("home-cp-1") == true)
        #expect(timeout?.message.contains("last seen: on") == true, "\(String(describing: timeout))")

        let off = Script([.off])
        let refused = #expect(throws: ClusterError.self) {
            try run { power in try await power.reset("home-cp-1", read: { try off.read() }, send: { try off.send() }) }
        }
        #expect(refused?.code == .refused)
        #expect(off.sends.withLock { $0 } == 0)
    }
}
