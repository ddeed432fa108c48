import ClusterKit
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs the `git` CLI as a child process with an environment built from scratch: no user or
/// system git config, no terminal prompts, no inherited SSH agent, C locale (so messages can be
/// matched), and only the variables the caller adds. Output goes to files in a private scratch
/// directory, never to the terminal, and is redacted of every secret before it reaches an error.
struct GitCommandRunner: Sendable {
    /// The outcome of one git invocation.
    struct Result: Sendable {
        var status: Int32
        var output: String
        var errorOutput: String
    }

    let gitPath: String
    let environment: [String: String]
    /// Private (0700) directory for captured output.
    let scratch: URL
    /// Strings removed from any output quoted in an error.
    let secrets: [String]
    /// How long one git command may run before it is killed (a server that accepts the
    /// connection and then says nothing must not hang `up`).
    var timeout: Duration = .seconds(600)

    /// Looks `git` up on `PATH` (falling back to the usual system directories).
    static func locateGit(path: String?) throws(ProvisionerError) -> String {
        let directories = (path ?? "").split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin", "/bin"]
        for directory in directories where FileManager.default.isExecutableFile(atPath: directory + "/git") {
            return directory + "/git"
        }
        throw ProvisionerError(.unavailable, "git is not installed (looked in PATH and /usr/bin)", resource: "git",
            hint: "install git (Debian: apt-get install git; .ci/setup.d/gitops.sh does it in CI)")
    }

    /// The base environment: nothing from the user's configuration leaks in.
    static func baseEnvironment(home: URL, path: String?) -> [String: String] {
        [
            "PATH": path ?? "/usr/local/bin:/usr/bin:/bin",
            "HOME": home.path,
            "LC_ALL": "C",
            "LANG": "C",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": "/bin/false",
            "SSH_ASKPASS": "/bin/false",
            // Bootstrap commits read `Flux <>` (flux2 v2.9.4 `--author-name`/`--author-email` defaults).
            "GIT_AUTHOR_NAME": FluxBootstrapLayout.authorName,
            "GIT_AUTHOR_EMAIL": FluxBootstrapLayout.authorEmail,
            "GIT_COMMITTER_NAME": FluxBootstrapLayout.authorName,
            "GIT_COMMITTER_EMAIL": FluxBootstrapLayout.authorEmail,
        ]
    }

    /// Runs `git <arguments>` and returns its status and output, whatever the status.
    func run(_ arguments: [String]) async throws(ProvisionerError) -> Result {
        let id = UUID().uuidString.prefix(8)
        let outFile = scratch.appendingPathComponent("git-\(id).out").path
        let errFile = scratch.appendingPathComponent("git-\(id).err").path
        defer {
            unlink(outFile)
            unlink(errFile)
        }
        let pid = try spawn(arguments, outFile: outFile, errFile: errFile)
        // Killed on cancellation or after the timeout; waitpid below still reaps it.
        let watchdog = Task {
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            kill(pid, SIGKILL)
        }
        let status = await withTaskCancellationHandler {
            await Self.waitForExit(pid)
        } onCancel: {
            kill(pid, SIGKILL)
        }
        watchdog.cancel()
        if Task.isCancelled { throw ProvisionerError(.unavailable, "git \(arguments.first ?? "") was cancelled", resource: "git") }
        if status == 128 + SIGKILL {
            throw ProvisionerError(.timeout, "git \(arguments.first ?? "") did not finish within \(timeout)", resource: "git",
                hint: "check that the Git host answers; the command is safe to run again", isTransient: true)
        }
        let output = (try? String(contentsOfFile: outFile, encoding: .utf8)) ?? ""
        let errorOutput = (try? String(contentsOfFile: errFile, encoding: .utf8)) ?? ""
        return Result(status: status, output: redact(output), errorOutput: redact(errorOutput))
    }

    /// Runs git and throws when it fails, quoting git's own (redacted) message.
    @discardableResult
    func check(_ arguments: [String], what: String, resource: String) async throws(ProvisionerError) -> String {
        let result = try await run(arguments)
        guard result.status == 0 else {
            throw ProvisionerError(.transport, "\(what) failed: \(Self.summary(result))", resource: resource)
        }
        return result.output
    }

    /// git's last meaningful lines, for an error message: without git's hints, ssh's warning
    /// banner, or advice naming the temporary known_hosts file.
    static func summary(_ result: Result) -> String {
        let lines = (result.errorOutput + "\n" + result.output).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { line in
                !line.isEmpty && !line.hasPrefix("hint:") && !line.hasPrefix("@") && !line.hasPrefix("Add correct host key")
                    && !line.hasPrefix("IT IS POSSIBLE") && !line.hasPrefix("Someone could be") && !line.hasPrefix("It is also possible")
                    && !line.hasPrefix("Please contact") && !line.hasPrefix("Offending") && !line.hasPrefix("remove with:")
                    && !line.hasPrefix("ssh-keygen -f")
            }
        return lines.suffix(4).joined(separator: " / ")
    }

    func redact(_ text: String) -> String {
        secrets.filter { !$0.isEmpty }.reduce(text) { $0.replacingOccurrences(of: $1, with: "[redacted]") }
    }

    private func spawn(_ arguments: [String], outFile: String, errFile: String) throws(ProvisionerError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outFile, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errFile, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv: [UnsafeMutablePointer<CChar>?] = ([gitPath] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, gitPath, &actions, nil, argv, envp)
        guard rc == 0 else {
            throw ProvisionerError(.unavailable, "cannot start \(gitPath): \(String(cString: strerror(rc)))", resource: "git")
        }
        return pid
    }

    /// Reaps `pid` on a thread of its own (waitpid blocks), returning the exit code or 128+signal.
    private static func waitForExit(_ pid: pid_t) async -> Int32 {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                let signal = status & 0x7f
                continuation.resume(returning: signal == 0 ? (status >> 8) & 0xff : 128 + signal)
            }
        }
    }
}
