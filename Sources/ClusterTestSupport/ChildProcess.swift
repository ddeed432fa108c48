import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A child process started with posix_spawn and reaped with waitpid on its own pid.
///
/// Foundation's `Process` on Linux reaps children from a shared monitor thread that can block
/// on a long-running child (sshd) and stall every other `waitUntilExit`; this avoids it.
public final class ChildProcess: @unchecked Sendable {
    public let pid: Int32
    private var exitStatus: Int32?

    private init(pid: Int32) { self.pid = pid }

    /// Starts `path` with `arguments`, its stdout appended to `outputFile` (or /dev/null) and its
    /// stderr too unless `errorFile` is given; stdin from `inputFile` (or /dev/null); the
    /// environment is this process's unless `environment` is given.
    public static func spawn(
        _ path: String, _ arguments: [String], outputFile: String? = nil, errorFile: String? = nil, inputFile: String? = nil,
        environment: [String: String]? = nil
    ) throws -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, inputFile ?? "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputFile ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o600)
        if let errorFile {
            posix_spawn_file_actions_addopen(&actions, 2, errorFile, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        } else {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?]? = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer {
            argv.forEach { free($0) }
            envp?.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc: Int32
        if let envp {
            rc = posix_spawn(&pid, path, &actions, nil, argv, envp)
        } else {
            rc = posix_spawn(&pid, path, &actions, nil, argv, environ)
        }
        guard rc == 0 else { throw TestSupportError("cannot start \(path): \(String(cString: strerror(rc)))") }
        return ChildProcess(pid: pid)
    }

    /// Runs a tool to completion; returns its combined output, throwing on a non-zero exit.
    @discardableResult
    public static func run(_ path: String, _ arguments: [String]) throws -> String {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("clusterctl-tool-\(UUID().uuidString)").path
        defer { unlink(output) }
        let child = try spawn(path, arguments, outputFile: output)
        let status = child.wait()
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        guard status == 0 else {
            throw TestSupportError("\(path) \(arguments.joined(separator: " ")) exited \(status): \(text)")
        }
        return text
    }

    /// Whether the process has not exited yet (reaps it when it has).
    public var isRunning: Bool {
        if exitStatus != nil { return false }
        var status: Int32 = 0
        let rc = waitpid(pid, &status, WNOHANG)
        if rc == pid {
            exitStatus = status
            return false
        }
        return rc == 0
    }

    public func signal(_ signal: Int32) { if isRunning { kill(pid, signal) } }

    /// Waits for exit; returns the exit code (or 128+signal).
    @discardableResult
    public func wait() -> Int32 {
        if exitStatus == nil {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            exitStatus = status
        }
        let status = exitStatus ?? 0
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}
