/// A command for a remote POSIX shell, built from arguments that are each quoted, never pasted
/// into a shell string, so a name with spaces or quotes cannot change what runs.
public struct RemoteCommand: Sendable, Hashable, CustomStringConvertible {
    public var arguments: [String]

    public init(_ arguments: [String]) { self.arguments = arguments }
    public init(_ arguments: String...) { self.arguments = arguments }

    /// The command line for `sh -c`, every argument single-quoted.
    public var shellLine: String { arguments.map(RemoteCommand.quote).joined(separator: " ") }

    public var description: String { shellLine }

    /// POSIX single quoting: `'` becomes `'\''`.
    public static func quote(_ argument: String) -> String {
        if !argument.isEmpty, argument.allSatisfy({ $0.isLetter || $0.isNumber || "-_./=:,@+%".contains($0) }), argument.allSatisfy(\.isASCII) {
            return argument
        }
        return "'" + argument.replacingAll("'", with: "'\\''") + "'"
    }
}

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var result = ""
        result.reserveCapacity(count)
        for character in self {
            if character == target { result += replacement } else { result.append(character) }
        }
        return result
    }
}

/// What a remote command produced.
public struct RemoteCommandResult: Sendable, Hashable {
    public var exitStatus: Int32
    public var stdout: [UInt8]
    public var stderr: [UInt8]

    public init(exitStatus: Int32, stdout: [UInt8], stderr: [UInt8]) {
        self.exitStatus = exitStatus
        self.stdout = stdout
        self.stderr = stderr
    }

    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

/// A shell on another machine (the SSH transport implements it over libssh2). Used by the libvirt
/// provider and by the Hetzner image pipeline's rescue-mode step.
public protocol RemoteShell: Sendable {
    func run(_ command: RemoteCommand, stdin: [UInt8]?) async throws -> RemoteCommandResult
    /// Writes bytes to a remote file with the given permission bits, replacing it.
    func upload(_ bytes: [UInt8], to path: String, mode: Int32) async throws
}
