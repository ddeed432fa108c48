public import ClusterKit
public import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// ``GitOpsRepository`` with the real `git` CLI, doing what `flux bootstrap git` does to the
/// repository (fluxcd/flux2 v2.9.4 `pkg/bootstrap/bootstrap_plain_git.go`): clone the branch,
/// commit the components and the sync manifests as two commits by `Flux <>`, push.
///
/// SSH runs through `GIT_SSH_COMMAND` with only the deploy key (`IdentitiesOnly`), the given
/// known_hosts and `StrictHostKeyChecking=yes`, so an unknown or changed host key is refused.
/// HTTPS passes the token to git through a credential helper that reads it from the child's
/// environment: it is never on a command line, in the remote URL or in `.git/config`.
/// Everything happens in a private temporary directory that is removed afterwards.
public struct GitBootstrapRepository: GitOpsRepository {
    /// How many pushes are tried when other commits keep landing first.
    public var maxPushAttempts: Int
    /// Where the temporary clone goes (the system's temporary directory by default).
    public var temporaryDirectory: URL
    /// How long one git command may run before it is killed.
    public var commandTimeout: Duration = .seconds(600)
    private let pathVariable: String?

    public init(
        maxPushAttempts: Int = 5, temporaryDirectory: URL = FileManager.default.temporaryDirectory,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.maxPushAttempts = max(1, maxPushAttempts)
        self.temporaryDirectory = temporaryDirectory
        pathVariable = environment["PATH"]
    }

    public func bootstrap(_ request: GitOpsBootstrapRequest) async throws -> GitOpsPushResult {
        let layout = request.layout
        let resource = "git repository \(layout.cloneURL)"
        let work = try makeWorkDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let git = try runner(for: request.credentials, work: work)
        let repo = work.appendingPathComponent("repo")

        try await checkout(layout, into: repo, git: git, resource: resource)
        var attempt = 0
        while true {
            attempt += 1
            let commits = try await apply(request, in: repo, git: git, resource: resource)
            let head = try await git.check(["-C", repo.path, "rev-parse", "HEAD"], what: "reading the new head", resource: resource)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            if commits.isEmpty {
                // Nothing changed: no commit, no push (flux prints "... manifests are up to date").
                return GitOpsPushResult(branch: layout.branch, commit: head, commits: [], pushAttempts: attempt - 1)
            }
            let push = try await git.run(["-C", repo.path, "push", "--porcelain", "origin", "HEAD:refs/heads/\(layout.branch)"])
            if push.status == 0 {
                return GitOpsPushResult(branch: layout.branch, commit: head, commits: commits, pushAttempts: attempt)
            }
            guard Self.isRace(push) else {
                throw Self.failure(push, doing: "pushing to branch \(layout.branch)", resource: resource)
            }
            guard attempt < maxPushAttempts else {
                throw ProvisionerError(.conflict,
                    "pushing to branch \(layout.branch) lost the race to other writers \(attempt) times in a row", resource: resource,
                    hint: "run the command again once nothing else is pushing to \(layout.branch)", isTransient: true)
            }
            // Someone else pushed first: start again from their head, keep their work, re-apply ours.
            try await git.check(["-C", repo.path, "fetch", "--quiet", "--no-tags", "origin", layout.branch],
                what: "fetching branch \(layout.branch) after a rejected push", resource: resource)
            try await git.check(["-C", repo.path, "reset", "--quiet", "--hard", "FETCH_HEAD"],
                what: "moving to the fetched head", resource: resource)
        }
    }

    // MARK: - Steps

    /// Clones the branch; initialises it when the repository is empty; refuses a missing branch
    /// in a repository that has others (flux: "branch not found"), naming what exists.
    private func checkout(_ layout: FluxBootstrapLayout, into repo: URL, git: GitCommandRunner, resource: String) async throws {
        let listing = try await git.run(["ls-remote", "--heads", layout.cloneURL])
        guard listing.status == 0 else { throw Self.failure(listing, doing: "reading the repository", resource: resource) }
        let heads = listing.output.split(separator: "\n").compactMap { line -> String? in
            guard let ref = line.split(separator: "\t").last, ref.hasPrefix("refs/heads/") else { return nil }
            return String(ref.dropFirst("refs/heads/".count))
        }
        if heads.isEmpty {
            try await git.check(["init", "--quiet", "--initial-branch", layout.branch, repo.path], what: "initialising the clone", resource: resource)
            try await git.check(["-C", repo.path, "remote", "add", "origin", layout.cloneURL], what: "adding the remote", resource: resource)
            return
        }
        guard heads.contains(layout.branch) else {
            throw ProvisionerError(.notFound,
                "branch \"\(layout.branch)\" does not exist in \(layout.cloneURL) (it has: \(heads.sorted().prefix(10).joined(separator: ", ")))",
                resource: resource,
                hint: "create the branch first, or set gitops.branch to one of the existing branches")
        }
        let clone = try await git.run([
            "clone", "--quiet", "--no-tags", "--single-branch", "--branch", layout.branch, layout.cloneURL, repo.path,
        ])
        guard clone.status == 0 else { throw Self.failure(clone, doing: "cloning branch \(layout.branch)", resource: resource) }
    }

    /// Writes the layout and makes bootstrap's two commits where something changed; returns their messages.
    private func apply(_ request: GitOpsBootstrapRequest, in repo: URL, git: GitCommandRunner, resource: String) async throws -> [String] {
        let layout = request.layout
        var commits: [String] = []
        try write(request.components.manifest, to: layout.componentsFile, in: repo)
        let componentsMessage = FluxBootstrapLayout.componentsCommitMessage(version: request.components.version)
        if try await commitIfChanged([layout.componentsFile], message: componentsMessage, repo: repo, git: git, resource: resource) {
            commits.append(componentsMessage)
        }

        try write(layout.syncManifest, to: layout.syncFile, in: repo)
        var staged = [layout.syncFile]
        let kustomization = repo.appendingPathComponent(layout.kustomizationFile)
        // Kept when it exists: users patch it (flux2 `bootstrap_plain_git.go` only generates a missing one).
        if !FileManager.default.fileExists(atPath: kustomization.path) {
            let resources = try Self.kustomizationResources(in: repo.appendingPathComponent(layout.directory))
            try write(FluxBootstrapLayout.kustomizationManifest(resources: resources), to: layout.kustomizationFile, in: repo)
            staged.append(layout.kustomizationFile)
        }
        if try await commitIfChanged(staged, message: FluxBootstrapLayout.syncCommitMessage, repo: repo, git: git, resource: resource) {
            commits.append(FluxBootstrapLayout.syncCommitMessage)
        }
        return commits
    }

    private func commitIfChanged(_ files: [String], message: String, repo: URL, git: GitCommandRunner, resource: String) async throws -> Bool {
        try await git.check(["-C", repo.path, "add", "--"] + files, what: "staging \(files.joined(separator: ", "))", resource: resource)
        let diff = try await git.run(["-C", repo.path, "diff", "--cached", "--quiet"])
        switch diff.status {
        case 0: return false
        case 1:
            try await git.check(["-C", repo.path, "commit", "--quiet", "--no-verify", "-m", message], what: "committing \"\(message)\"", resource: resource)
            return true
        default: throw Self.failure(diff, doing: "comparing the staged files", resource: resource)
        }
    }

    /// What a generated kustomization.yaml lists: files of `flux-system/` holding Kubernetes
    /// objects and subdirectories with their own kustomization, in lexical order
    /// (flux2 v2.9.4 `pkg/manifestgen/kustomization`).
    static func kustomizationResources(in directory: URL) throws -> [String] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        var resources: [String] = []
        for name in names where !name.hasPrefix(".") {
            let url = directory.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
            if isDirectory.boolValue {
                let nested = ["kustomization.yaml", "kustomization.yml", "Kustomization"]
                if nested.contains(where: { FileManager.default.fileExists(atPath: url.appendingPathComponent($0).path) }) { resources.append(name) }
            } else if name.hasSuffix(".yaml") || name.hasSuffix(".yml") || name.hasSuffix(".json"),
                let text = try? String(contentsOf: url, encoding: .utf8), Self.holdsKubernetesObject(text)
            {
                resources.append(name)
            }
        }
        return resources
    }

    private static func holdsKubernetesObject(_ text: String) -> Bool {
        let lines = text.split(separator: "\n")
        return lines.contains { $0.hasPrefix("apiVersion:") } && lines.contains { $0.hasPrefix("kind:") }
    }

    // MARK: - Environment

    private func makeWorkDirectory() throws(ProvisionerError) -> URL {
        let work = temporaryDirectory.appendingPathComponent("clusterctl-gitops-\(UUID().uuidString.prefix(12))")
        do {
            try FileManager.default.createDirectory(at: work.appendingPathComponent("home"), withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
            chmod(work.path, 0o700)
        } catch {
            throw ProvisionerError(.unavailable, "cannot create a temporary directory in \(temporaryDirectory.path): \(error)", resource: "git")
        }
        return work
    }

    private func runner(for credentials: GitOpsCredentials, work: URL) throws -> GitCommandRunner {
        var environment = GitCommandRunner.baseEnvironment(home: work.appendingPathComponent("home"), path: pathVariable)
        var secrets: [String] = []
        switch credentials {
        case .ssh(let key, let knownHosts):
            let identity = work.appendingPathComponent("identity")
            let knownHostsFile = work.appendingPathComponent("known_hosts")
            try SecureFile.write(key.privateKeyPEM, to: identity)
            try SecureFile.write(knownHosts.hasSuffix("\n") ? knownHosts : knownHosts + "\n", to: knownHostsFile)
            environment["GIT_SSH_COMMAND"] = Self.sshCommand(identity: identity.path, knownHosts: knownHostsFile.path)
            environment["GIT_SSH_VARIANT"] = "ssh"
            secrets.append(key.privateKeyPEM)
        case .https(let username, let token):
            // The helper is configured through GIT_CONFIG_* (git 2.31+), so it is neither on the
            // command line nor written to .git/config; it prints the token from the environment.
            environment["CLUSTERCTL_GIT_USERNAME"] = username
            environment["CLUSTERCTL_GIT_TOKEN"] = token
            environment["GIT_CONFIG_COUNT"] = "2"
            environment["GIT_CONFIG_KEY_0"] = "credential.helper"
            environment["GIT_CONFIG_VALUE_0"] = ""
            environment["GIT_CONFIG_KEY_1"] = "credential.helper"
            environment["GIT_CONFIG_VALUE_1"] =
                "!f() { test \"$1\" = get || exit 0; printf 'username=%s\\npassword=%s\\n' \"$CLUSTERCTL_GIT_USERNAME\" \"$CLUSTERCTL_GIT_TOKEN\"; }; f"
            secrets.append(token)
            // Abort a transfer that stalls below 1 KB/s for a minute instead of hanging (git-config(1), http.lowSpeedLimit).
            environment["GIT_HTTP_LOW_SPEED_LIMIT"] = "1000"
            environment["GIT_HTTP_LOW_SPEED_TIME"] = "60"
        }
        let git = try GitCommandRunner.locateGit(path: pathVariable)
        return GitCommandRunner(gitPath: git, environment: environment, scratch: work, secrets: secrets, timeout: commandTimeout)
    }

    /// ssh with nothing but the deploy key and the given known_hosts: `-F /dev/null` drops user
    /// and system ssh config, `BatchMode` forbids prompts, `StrictHostKeyChecking=yes` refuses an
    /// unknown or changed host key (ssh_config(5)).
    static func sshCommand(identity: String, knownHosts: String) -> String {
        [
            "ssh", "-F", "/dev/null", "-i", quote(identity), "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
            "-o", "UserKnownHostsFile=\(quote(knownHosts))", "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=15",
            "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4",
        ].joined(separator: " ")
    }

    /// Single-quotes a word for the shell git runs GIT_SSH_COMMAND with.
    static func quote(_ word: String) -> String { "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    private func write(_ text: String, to relative: String, in repo: URL) throws {
        let url = repo.appendingPathComponent(relative)
        try SecureFile.write(text, to: url, mode: 0o644)
    }

    // MARK: - Errors

    /// A rejected push because the remote moved on: `! <ref> [rejected] (fetch first)` or
    /// `(non-fast-forward)` in `git push --porcelain` output (git-push(1), OUTPUT).
    static func isRace(_ push: GitCommandRunner.Result) -> Bool {
        push.output.split(separator: "\n").contains { line in
            line.hasPrefix("!") && line.contains("[rejected]") && (line.contains("fetch first") || line.contains("non-fast-forward"))
        }
    }

    /// Turns a failed git run into an error a person can act on.
    static func failure(_ result: GitCommandRunner.Result, doing what: String, resource: String) -> ProvisionerError {
        let text = result.errorOutput + result.output
        let summary = GitCommandRunner.summary(result)
        if text.contains("Host key verification failed") || text.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
            || text.contains("No ED25519 host key is known") || text.contains("host key for")
        {
            return ProvisionerError(.refused, "\(what): the server's SSH host key is not the one in gitops.knownHostsFile (\(summary))",
                resource: resource,
                hint: "check the host key fingerprint your Git host publishes; if it really changed, update gitops.knownHostsFile")
        }
        if text.contains("Permission denied") || text.contains("Authentication failed") || text.contains("could not read Username")
            || text.contains("The requested URL returned error: 403")
        {
            return ProvisionerError(.refused, "\(what): the repository refused the credentials (\(summary))", resource: resource,
                hint: "register the deploy key with write access, or check the token's permissions")
        }
        return ProvisionerError(.transport, "\(what) failed: \(summary)", resource: resource,
            isTransient: text.contains("Connection timed out") || text.contains("Could not resolve host") || text.contains("Connection refused"))
    }
}
