import ClusterKit
import Foundation
import Provisioners
#if canImport(Glibc)
    import Glibc
#endif

/// One command's view of a cluster: its loaded spec, where its state lives, and a backend to run
/// against (the simulator under `--simulate`, the real providers otherwise).
struct Session {
    let options: ClusterOptions
    let loaded: LoadedSpec
    var spec: ClusterSpec { loaded.spec }
    /// What made this run less than a success; commands end with `verdict.finish()`.
    let verdict = RunVerdict()

    /// When the command must be done by (`--timeout`), in real time.
    let deadline: ContinuousClock.Instant
    let timeout: CommandTimeout

    /// Loads and validates the spec; prints its warnings to stderr.
    ///
    /// - Parameter changes: whether the command changes the cluster (its default `--timeout` is longer).
    init(_ options: ClusterOptions, printWarnings: Bool = true, changes: Bool = false) throws {
        self.options = options
        timeout = options.timeout ?? (changes ? .changing : .reading)
        deadline = ContinuousClock.now + timeout.duration
        Interruption.shared.install()
        loaded = try SpecLoader.load(path: options.specPath)
        if printWarnings {
            for warning in loaded.warnings { Terminal.error(warning.description) }
        }
    }

    /// `$CLUSTERCTL_HOME/<cluster>/`; simulated clusters keep their own bundle and world in
    /// `simulator/` below it, so a simulation never touches a real cluster's secrets.
    var stateDirectory: URL {
        let base = SecretsStore.defaultDirectory(cluster: spec.name)
        return options.simulate ? base.appendingPathComponent("simulator", isDirectory: true) : base
    }

    var secrets: SecretsStore { SecretsStore(directory: stateDirectory) }

    /// Takes the cluster's lock before the command's first change, and checks that the state
    /// directory can be written (a read-only one is refused here, not after the work is done).
    /// The lock is held until the process ends.
    func lockCluster() throws {
        let lease = try FileClusterLock(directory: stateDirectory)
            .acquire(as: .current(command: (["clusterctl"] + CommandLine.arguments.dropFirst()).joined(separator: " ")))
        HeldLocks.shared.keep(lease)
        guard access(stateDirectory.path, W_OK) == 0 else {
            throw ClusterError(
                .io, "the clusterctl directory \(stateDirectory.path) is not writable: \(String(cString: strerror(errno))); nothing was changed",
                hint: "make it writable (chmod u+w), or point CLUSTERCTL_HOME at a writable directory")
        }
    }
    var simulatorStore: SimulatorStore { SimulatorStore(directory: stateDirectory) }

    /// Refuses, before anything changes, a run asked to go further than the real backends can
    /// carry this spec (the simulator goes everywhere).
    func checkReachable(_ stage: Stage?) throws {
        guard !options.simulate else { return }
        try RealBackends.checkReachable(stage, spec: spec)
    }

    /// Runs `body` against the cluster's backend and returns its result.
    ///
    /// - Parameters:
    ///   - faults: simulator faults to inject (`--inject`).
    ///   - speed: virtual seconds per real second under the simulator; nil runs instantly.
    func run<Result: Sendable>(
        faults: [SimulatedFault] = [], speed: Double? = nil, _ work: @escaping @Sendable (ClusterBackend) async throws -> Result
    ) throws -> Result {
        let spec = spec
        let deadline = deadline
        let timeout = timeout
        let body: @Sendable (ClusterBackend) async throws -> Result = { backend in
            try await Self.bounded(until: deadline, timeout: timeout) { try await work(backend) }
        }
        let configs = LazyTalosConfigSource(spec: spec, store: secrets)
        guard options.simulate else {
            let backend = RealBackends.make(spec: spec, store: secrets, configs: configs)
            return try runBlocking { try await body(backend) }
        }
        let store = simulatorStore
        let state = try store.load(seed: options.seed)
        let saveFailure = SaveFailure()
        let world = SimulatedWorld(state: state) { state in
            do { try store.save(state) } catch { saveFailure.record(error) }
        }
        for fault in faults { world.inject(fault) }
        let backend = ClusterBackend.simulated(spec: spec, world: world, configs: configs)
        let outcome = Swift.Result { try SimulationRunLoop(clock: world.clock, speed: speed).run { try await body(backend) } }
        // A crashed process saves nothing more: the state on disk is what it left at the crash.
        if let fault = world.crashFault { throw SimulatedCrash(fault: fault) }
        if !faults.isEmpty { verdict.record(unfired: world.withdrawFaults(like: faults), injected: faults) }
        try store.save(world.snapshot())
        if let error = saveFailure.error { throw error }
        return try outcome.get()
    }
}

extension Session {
    /// Runs `operation` until it ends, a signal arrives (``Interrupted``) or the command's deadline
    /// passes (a `timeout` ``ClusterError``); the latter two cancel it and wait for it to unwind.
    static func bounded<Result: Sendable>(
        until deadline: ContinuousClock.Instant, timeout: CommandTimeout, _ operation: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                throw Interrupted(signal: try await Interruption.shared.wait())
            }
            group.addTask {
                try await Task.sleep(until: deadline, clock: .continuous)
                throw ClusterError(
                    .timeout, "the command did not finish within \(timeout) (--timeout); it was stopped",
                    hint: "a provider's API may be slow or unreachable: check it, or raise --timeout; running the command again converges")
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw ClusterError(.io, "the command ended without a result")
            }
            return value
        }
    }
}

/// Remembers the first failure to save simulator state, reported after the run.
final class SaveFailure: @unchecked Sendable {
    private let lock = NSLock()
    private var first: (any Error)?

    func record(_ error: any Error) {
        lock.lock()
        if first == nil { first = error }
        lock.unlock()
    }

    var error: (any Error)? {
        lock.lock()
        defer { lock.unlock() }
        return first
    }
}

/// Runs async work from a synchronous command on the shared concurrency pool and waits for it.
func runBlocking<Value: Sendable>(_ operation: @escaping @Sendable () async throws -> Value) throws -> Value {
    let done = DispatchSemaphore(value: 0)
    let outcome = SharedResult<Value>()
    Task {
        do { outcome.set(.success(try await operation())) } catch { outcome.set(.failure(error)) }
        done.signal()
    }
    done.wait()
    return try outcome.get()
}

final class SharedResult<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<Value, any Error>?

    func set(_ value: Result<Value, any Error>) {
        lock.lock()
        result = value
        lock.unlock()
    }

    func get() throws -> Value {
        lock.lock()
        defer { lock.unlock() }
        guard let result else { throw ClusterError(.io, "the operation ended without a result") }
        return try result.get()
    }
}

/// Keeps the leases a command took until the process ends (the kernel then drops them).
final class HeldLocks: @unchecked Sendable {
    static let shared = HeldLocks()
    private let lock = NSLock()
    private var leases: [any ClusterLockLease] = []

    func keep(_ lease: any ClusterLockLease) {
        lock.lock()
        leases.append(lease)
        lock.unlock()
    }
}
