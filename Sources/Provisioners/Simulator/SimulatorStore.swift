public import ClusterKit
public import Foundation

/// Where the simulator keeps its world between CLI invocations: `state.json` in the cluster's
/// simulator directory (`$CLUSTERCTL_HOME/<cluster>/simulator/`), written atomically, 0600.
public struct SimulatorStore: Sendable {
    public let directory: URL

    public init(directory: URL) { self.directory = directory }

    public var stateURL: URL { directory.appendingPathComponent("state.json") }

    /// The saved world, or a new one from `seed` when there is none.
    public func load(seed: UInt64) throws(ClusterError) -> SimulatorState {
        guard SecureFile.exists(stateURL) else { return SimulatorState(seed: seed) }
        let text = try SecureFile.read(stateURL)
        let hint = "delete it to start the simulated world afresh (the simulated cluster is lost with it)"
        let state: SimulatorState
        do {
            state = try JSONDecoder().decode(SimulatorState.self, from: Data(text.utf8))
        } catch let error as DecodingError {
            throw ClusterError(.io, "the simulator state \(stateURL.path) is corrupt: \(Self.describe(error))", hint: hint)
        } catch {
            throw ClusterError(.io, "the simulator state \(stateURL.path) is not readable (\(error))", hint: hint)
        }
        let invalid = state.invalidTimes()
        guard invalid.isEmpty else {
            throw ClusterError(
                .io, "the simulator state \(stateURL.path) is corrupt: \(invalid.prefix(3).joined(separator: "; ")) (times are seconds in 0…\(Int(SimulatorState.latestTime)))",
                hint: hint)
        }
        return state
    }

    /// A decoding failure as one line: where in the file, and what.
    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return path.isEmpty ? "the document" : String(path.drop { $0 == "." })
        }
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return "\(path(context)): \(context.debugDescription)"
        case .keyNotFound(let key, let context):
            return "\(path(context)): missing key \(key.stringValue)"
        @unknown default:
            return "\(error)"
        }
    }

    public func save(_ state: SimulatorState) throws(ClusterError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data: Data
        do { data = try encoder.encode(state) } catch { throw ClusterError(.io, "cannot encode the simulator state: \(error)") }
        try SecureFile.ensureDirectory(directory)
        try SecureFile.write(String(decoding: data, as: UTF8.self), to: stateURL)
    }

    /// Forgets the simulated world.
    public func reset() throws(ClusterError) {
        guard SecureFile.exists(stateURL) else { return }
        do { try FileManager.default.removeItem(at: stateURL) } catch { throw ClusterError(.io, "cannot remove \(stateURL.path): \(error)") }
    }
}
