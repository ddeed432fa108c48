public import ClusterKit
import Synchronization

/// A ``RemoteShell`` that records every command and answers from a script, for asserting the
/// exact commands the Hetzner image pipeline runs in the rescue system.
public final class HetznerRecordingShell: RemoteShell {
    private let state = Mutex<(commands: [RemoteCommand], uploads: [String], results: [RemoteCommandResult])>(([], [], []))

    /// `results` answer the commands in order; once used up, commands succeed with no output.
    public init(results: [RemoteCommandResult] = []) {
        state.withLock { $0.results = results }
    }

    public var commands: [RemoteCommand] { state.withLock { $0.commands } }
    public var uploads: [String] { state.withLock { $0.uploads } }

    public func run(_ command: RemoteCommand, stdin: [UInt8]?) async throws -> RemoteCommandResult {
        state.withLock { state in
            state.commands.append(command)
            return state.results.isEmpty ? RemoteCommandResult(exitStatus: 0, stdout: [], stderr: []) : state.results.removeFirst()
        }
    }

    public func upload(_ bytes: [UInt8], to path: String, mode: Int32) async throws {
        state.withLock { $0.uploads.append(path) }
    }
}
