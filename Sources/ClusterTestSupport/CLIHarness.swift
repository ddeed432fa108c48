public import Foundation

/// Runs the built `clusterctl` binary the way a user would: in a scratch copy of the project's
/// `clusters/` and `images/`, with its own `CLUSTERCTL_HOME`.
public struct CLIHarness: Sendable {
    public struct Output: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    public let workDirectory: URL
    public let binary: URL

    /// The package root, found by walking up from this file to `Package.swift`.
    public static func packageRoot(from file: String = #filePath) -> URL {
        var directory = URL(fileURLWithPath: file).deletingLastPathComponent()
        while directory.path != "/" {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) { return directory }
            directory.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    }

    /// A scratch project copy. Fails loudly when the binary has not been built (`swift build` first,
    /// or set `CLUSTERCTL_BIN`).
    public init() throws {
        let root = Self.packageRoot()
        let environment = ProcessInfo.processInfo.environment
        let candidates = [environment["CLUSTERCTL_BIN"], root.appendingPathComponent(".build/debug/clusterctl").path].compactMap { $0 }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw HarnessError("clusterctl binary not found at \(candidates); run `swift build` before the tests")
        }
        binary = URL(fileURLWithPath: found)
        workDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("clusterctl-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: workDirectory, withIntermediateDirectories: true)
        for folder in ["clusters", "images"] {
            try FileManager.default.copyItem(at: root.appendingPathComponent(folder), to: workDirectory.appendingPathComponent(folder))
        }
    }

    public var home: URL { workDirectory.appendingPathComponent("state") }

    /// Runs `clusterctl ARGS` in the scratch directory with no terminal attached.
    @discardableResult
    public func run(_ arguments: String...) throws -> Output {
        try run(arguments)
    }

    /// - Parameter user: run as this uid (and gid) through setpriv(1), for what root is never
    ///   refused (a directory it may not write); nil runs as the test's own user.
    public func run(_ arguments: [String], environment extra: [String: String] = [:], user: UInt32? = nil) throws -> Output {
        // Both pipes are read on their own threads before waiting, so a chatty run cannot stall.
        try start(arguments, environment: extra, user: user).wait()
    }

    /// Starts `clusterctl ARGS` in the background, for runs that overlap or get a signal.
    public func start(_ arguments: [String], environment extra: [String: String] = [:], user: UInt32? = nil) throws -> RunningCLI {
        let process = Process()
        if let user {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=\(user)", "--regid=\(user)", "--clear-groups", binary.path] + arguments
        } else {
            process.executableURL = binary
            process.arguments = arguments
        }
        process.currentDirectoryURL = workDirectory
        var environment = ProcessInfo.processInfo.environment
        environment["CLUSTERCTL_HOME"] = home.path
        environment["TERM"] = "dumb"
        environment.merge(extra) { _, new in new }
        process.environment = environment
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return RunningCLI(process: process, stdout: ReadAll(stdout.fileHandleForReading), stderr: ReadAll(stderr.fileHandleForReading))
    }

    public func read(_ relativePath: String) throws -> String {
        try String(contentsOf: workDirectory.appendingPathComponent(relativePath), encoding: .utf8)
    }

    public func write(_ relativePath: String, _ text: String) throws {
        try text.write(to: workDirectory.appendingPathComponent(relativePath), atomically: true, encoding: .utf8)
    }

    public func cleanUp() {
        try? FileManager.default.removeItem(at: workDirectory)
    }
}

/// A `clusterctl` started in the background by ``CLIHarness/start(_:environment:)``.
public final class RunningCLI: @unchecked Sendable {
    let process: Process
    let stdout: ReadAll
    let stderr: ReadAll

    init(process: Process, stdout: ReadAll, stderr: ReadAll) {
        self.process = process
        self.stdout = stdout
        self.stderr = stderr
    }

    public var pid: Int32 { process.processIdentifier }

    /// Sends `signal` (SIGINT for a Ctrl-C, SIGTERM for a stop) to the process.
    public func send(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the process to end and returns what it printed.
    public func wait() -> CLIHarness.Output {
        let errorData = stderr.wait()
        let outData = stdout.wait()
        process.waitUntilExit()
        return CLIHarness.Output(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errorData, as: UTF8.self))
    }
}

/// Reads a pipe to its end on another thread.
final class ReadAll: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var data = Data()

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }

    func wait() -> Data {
        done.wait()
        return data
    }
}

public struct HarnessError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
