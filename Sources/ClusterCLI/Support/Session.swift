import ClusterKit
import Foundation
import Provisioners

/// One command's view of a cluster: its loaded spec, where its state lives, and a backend to run
/// against (the simulator under `--simulate`, the real providers otherwise).
struct Session {
    let options: ClusterOptions
    let loaded: LoadedSpec
    var spec: ClusterSpec { loaded.spec }

    /// Loads and validates the spec; prints its warnings to stderr.
    init(_ options: ClusterOptions, printWarnings: Bool = true) throws {
        self.options = options
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
    var simulatorStore: SimulatorStore { SimulatorStore(directory: stateDirectory) }

    /// Runs `body` against the cluster's backend and returns its result.
    ///
    /// - Parameters:
    ///   - faults: simulator faults to inject (`--inject`).
    ///   - speed: virtual seconds per real second under the simulator; nil runs instantly.
    func run<Result: Sendable>(
        faults: [SimulatedFault] = [], speed: Double? = nil, _ body: @escaping @Sendable (ClusterBackend) async throws -> Result
    ) throws -> Result {
        let spec = spec
        let configs = LazyTalosConfigSource(spec: spec, store: secrets)
        guard options.simulate else {
            let backend = RealBackends.make(spec: spec, configs: configs)
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
        try store.save(world.snapshot())
        if let error = saveFailure.error { throw error }
        return try outcome.get()
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
