import Foundation

/// A real bare Git repository served over a real sshd on loopback (``SSHTestServer``), the way
/// a Git host serves it: keys authorized with a forced command that runs `git-shell`, so a
/// deploy key can fetch and push but not open a shell.
///
/// Another writer can be made to push first (``armRace(path:content:)``): the next push's
/// session lands that commit in the repository before `git-receive-pack` advertises its refs,
/// so the client sees a real non-fast-forward rejection.
public final class GitTestServer: @unchecked Sendable {
    public static let gitShellPath = "/usr/bin/git-shell"

    /// Why the server cannot start here, or nil when it can.
    public static var unavailableReason: String? {
        if let reason = SSHTestServer.unavailableReason { return reason }
        for path in [BareGitRepository.gitPath, gitShellPath] where !FileManager.default.isExecutableFile(atPath: path) {
            return "\(path) is missing (install git; .ci/setup.d/gitops.sh does)"
        }
        return nil
    }

    /// Runs when git and sshd are here, and always in CI, where a missing one must fail loudly.
    public static var shouldRun: Bool {
        unavailableReason == nil || ProcessInfo.processInfo.environment["CI"] == "true"
    }

    public let ssh: SSHTestServer
    /// The repository the server serves.
    public let repository: BareGitRepository

    /// Starts sshd and creates an empty bare repository whose HEAD names `initialBranch`.
    public init(initialBranch: String = "main") throws {
        if let reason = Self.unavailableReason { throw TestSupportError(reason) }
        ssh = try SSHTestServer()
        repository = try BareGitRepository(
            at: ssh.directory.appendingPathComponent("fleet.git"), initialBranch: initialBranch, scripts: ssh.directory)
        let serve = ssh.directory.appendingPathComponent("git-serve.sh")
        try Self.serveScript.write(to: serve, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: serve.path)
    }

    deinit { stop() }

    public func stop() { ssh.stop() }

    /// `ssh://<user>@127.0.0.1:<port>/<path>/fleet.git`.
    public var url: String { "ssh://\(ssh.user)@127.0.0.1:\(ssh.port)\(repository.path.path)" }

    /// Authorizes a public key (an authorized_keys line) for Git only.
    public func authorizeDeployKey(_ publicKeyLine: String) throws {
        let serve = ssh.directory.appendingPathComponent("git-serve.sh").path
        try ssh.authorize(line: "command=\"\(serve)\",no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-pty \(publicKeyLine)")
    }

    /// known_hosts holding the server's real host key.
    public func knownHosts() throws -> String { try ssh.knownHostsLine() }

    /// known_hosts naming this host and port with a different key, as after a man in the middle.
    public func wrongKnownHosts() throws -> String {
        let other = ssh.directory.appendingPathComponent("other_host_\(UUID().uuidString.prefix(6))")
        try SSHTestServer.generateKey(type: "ed25519", at: other)
        let key = try String(contentsOf: other.appendingPathExtension("pub"), encoding: .utf8).split(separator: " ")
        return "[127.0.0.1]:\(ssh.port) \(key[0]) \(key[1])\n"
    }

    /// Makes the next push lose a race: before its `git-receive-pack` starts, another writer's
    /// commit of `content` at `path` lands on `branch`.
    public func armRace(path: String, content: String, branch: String = "main") throws {
        let contentFile = ssh.directory.appendingPathComponent("race-content")
        try content.write(to: contentFile, atomically: true, encoding: .utf8)
        let arguments = repository.commitArguments(path: path, contentFile: contentFile.path, branch: branch, message: "Other writer pushed first")
        let command = ([repository.commitScript.path] + arguments).map { "'\($0)'" }.joined(separator: " ")
        try (command + "\n").write(to: ssh.directory.appendingPathComponent("race"), atomically: true, encoding: .utf8)
    }

    /// Whether an armed race has fired.
    public var raceFired: Bool { FileManager.default.fileExists(atPath: ssh.directory.appendingPathComponent("race.fired").path) }

    /// The forced command: serve through git-shell; fire an armed race before a receive-pack.
    static let serveScript = """
        #!/bin/sh
        dir="$(dirname "$0")"
        case "$SSH_ORIGINAL_COMMAND" in
        git-receive-pack*)
            if [ -f "$dir/race" ]; then
                mv "$dir/race" "$dir/race.fired"
                sh "$dir/race.fired" >>"$dir/race.log" 2>&1
            fi
            ;;
        esac
        exec /usr/bin/git-shell -c "$SSH_ORIGINAL_COMMAND"

        """
}
