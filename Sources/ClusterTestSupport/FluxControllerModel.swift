import ClusterKit
import Foundation

/// Flux's source-controller and kustomize-controller as far as bootstrap can tell, over the
/// objects of a ``KubernetesObjectStore``, with real git:
///
/// - They run once their Deployments (`flux-system/source-controller`, `kustomize-controller`)
///   have been applied and the GitRepository and Kustomization kinds are served.
/// - A GitRepository is fetched with the `git` CLI from `spec.url`, branch `spec.ref.branch`,
///   authenticated with its `spec.secretRef` Secret as source-controller reads it
///   (`identity` + `known_hosts` over SSH with strict host key checking, `username` +
///   `password` over HTTPS; source-controller `docs/spec/v1/gitrepositories.md`, "Secret
///   reference"). Success sets `status.artifact.revision` to `<branch>@sha1:<commit>` and
///   `Ready=True` "stored artifact for revision '<revision>'" (reason `Succeeded`); failure
///   `Ready=False` reason `GitOperationFailed` with git's message, keeping the last artifact.
/// - A Kustomization follows its source's artifact: the path must exist at that commit, else
///   `Ready=False` reason `ArtifactFailed`, "kustomization path not found: stat
///   /tmp/kustomization-<n>/<path>: no such file or directory" (kustomize-controller's message);
///   `status.lastAttemptedRevision` is set either way, `lastAppliedRevision` and `Ready=True`
///   "Applied revision: <revision>" (reason `ReconciliationSucceeded`) only on success. The
///   objects under the path are not built or applied.
/// - `spec.suspend: true` stops reconciling the object (its status stays as it was).
/// - `status.observedGeneration` follows `metadata.generation` once a spec change is reconciled.
///
/// Sources are fetched again every `resync` seconds (the spec's `interval`, 1m, is too slow for
/// tests; a commit pushed later is still picked up the way Flux picks it up, by polling).
public final class FluxControllerModel: @unchecked Sendable {
    private let store: KubernetesObjectStore
    private let resync: Double
    private let directory: URL
    private let lock = NSLock()
    private var stopped = false
    private var lastFetch: [String: Double] = [:]
    private var fetchCount = 0
    private var thread: Thread?

    static let sourceAPI = "source.toolkit.fluxcd.io/v1"
    static let kustomizeAPI = "kustomize.toolkit.fluxcd.io/v1"

    /// Starts the controllers' loop over `model`'s objects.
    public init(model: KubernetesAPIModel, resync: Double = 0.5) throws {
        store = model.objects
        self.resync = resync
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("clusterctl-flux-model-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let thread = Thread { [weak self] in
            while let self, !self.isStopped {
                self.tick()
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        self.thread = thread
        thread.start()
    }

    deinit { stop() }

    public func stop() {
        lock.withLock { stopped = true }
        try? FileManager.default.removeItem(at: directory)
    }

    /// How many times the source controller fetched from Git.
    public var fetches: Int { lock.withLock { fetchCount } }

    private var isStopped: Bool { lock.withLock { stopped } }

    // MARK: Reconciling

    private func tick() {
        let deployments = Set(store.objects(apiVersion: "apps/v1", kind: "Deployment").compactMap { $0.value(at: ["metadata", "name"])?.stringValue })
        guard deployments.isSuperset(of: ["source-controller", "kustomize-controller"]) else { return }
        for source in store.objects(apiVersion: Self.sourceAPI, kind: "GitRepository") where !isStopped { reconcileSource(source) }
        for sync in store.objects(apiVersion: Self.kustomizeAPI, kind: "Kustomization") where !isStopped { reconcileKustomization(sync) }
    }

    private func reconcileSource(_ source: JSONValue) {
        let object = KubernetesObject(json: source)
        guard source.value(at: ["spec", "suspend"])?.boolValue != true else { return }
        let key = "\(object.namespace ?? "")/\(object.name)"
        let now = Date().timeIntervalSince1970
        let observed = source.value(at: ["status", "observedGeneration"])?.intValue
        guard observed != object.generation || now - (lastFetch[key] ?? 0) >= resync else { return }
        lastFetch[key] = now
        lock.withLock { fetchCount += 1 }
        let url = source.value(at: ["spec", "url"])?.stringValue ?? ""
        // source-controller v1 defaults to the `master` branch when no ref is given.
        let branch = source.value(at: ["spec", "ref", "branch"])?.stringValue ?? "master"
        let result: Result<String, FailedCondition> = fetch(url: url, branch: branch, secretRef: source.value(at: ["spec", "secretRef", "name"])?.stringValue, namespace: object.namespace ?? "default")
        store.update(apiVersion: Self.sourceAPI, kind: "GitRepository", namespace: object.namespace, name: object.name) { json in
            var status = json["status"]?.objectValue ?? [:]
            status["observedGeneration"] = object.generation.map { .number(Double($0)) }
            switch result {
            case .success(let commit):
                let revision = "\(branch)@sha1:\(commit)"
                status["artifact"] = .object([
                    "revision": .string(revision), "path": .string("gitrepository/\(key)/\(commit).tar.gz"),
                    "url": .string("http://source-controller.flux-system.svc.cluster.local./gitrepository/\(key)/\(commit).tar.gz"),
                    "lastUpdateTime": .string(KubernetesAPIModel.timestamp(now)),
                ])
                status["conditions"] = Self.conditions(ready: true, reason: "Succeeded", message: "stored artifact for revision '\(revision)'", generation: object.generation, now: now)
            case .failure(let failure):
                status["conditions"] = Self.conditions(ready: false, reason: failure.reason, message: failure.message, generation: object.generation, now: now)
            }
            json["status"] = .object(status)
        }
    }

    private func reconcileKustomization(_ sync: JSONValue) {
        let object = KubernetesObject(json: sync)
        guard sync.value(at: ["spec", "suspend"])?.boolValue != true,
            let sourceName = sync.value(at: ["spec", "sourceRef", "name"])?.stringValue
        else { return }
        let sourceNamespace = sync.value(at: ["spec", "sourceRef", "namespace"])?.stringValue ?? object.namespace
        guard let source = store.object(apiVersion: Self.sourceAPI, kind: "GitRepository", namespace: sourceNamespace, name: sourceName),
            let revision = source.value(at: ["status", "artifact", "revision"])?.stringValue, let commit = revision.components(separatedBy: "@sha1:").last,
            let url = source.value(at: ["spec", "url"])?.stringValue
        else { return }  // kustomize-controller waits for the source's artifact
        let observed = sync.value(at: ["status", "observedGeneration"])?.intValue
        guard observed != object.generation || sync.value(at: ["status", "lastAttemptedRevision"])?.stringValue != revision else { return }
        var path = sync.value(at: ["spec", "path"])?.stringValue ?? "./"
        while path.hasPrefix("./") { path.removeFirst(2) }
        while path.hasSuffix("/") { path.removeLast() }
        let found = path.isEmpty || !(run(["-C", cache(for: url).path, "ls-tree", "-d", commit, "--", path], environment: [:]).output.isEmpty)
        let now = Date().timeIntervalSince1970
        store.update(apiVersion: Self.kustomizeAPI, kind: "Kustomization", namespace: object.namespace, name: object.name) { json in
            var status = json["status"]?.objectValue ?? [:]
            status["observedGeneration"] = object.generation.map { .number(Double($0)) }
            status["lastAttemptedRevision"] = .string(revision)
            if found {
                status["lastAppliedRevision"] = .string(revision)
                status["conditions"] = Self.conditions(
                    ready: true, reason: "ReconciliationSucceeded", message: "Applied revision: \(revision)", generation: object.generation, now: now)
            } else {
                let message = "kustomization path not found: stat /tmp/kustomization-\(Int(commit.prefix(7), radix: 16) ?? 0)/\(path): no such file or directory"
                status["conditions"] = Self.conditions(ready: false, reason: "ArtifactFailed", message: message, generation: object.generation, now: now)
            }
            json["status"] = .object(status)
        }
    }

    struct FailedCondition: Error {
        var reason: String
        var message: String
    }

    /// Fetches the branch into a cache repository; the commit, or the condition source-controller would report.
    private func fetch(url: String, branch: String, secretRef: String?, namespace: String) -> Result<String, FailedCondition> {
        var environment: [String: String] = [:]
        let credentials = directory.appendingPathComponent("credentials-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: credentials) }
        if let secretRef {
            guard let secret = store.object(apiVersion: "v1", kind: "Secret", namespace: namespace, name: secretRef) else {
                return .failure(FailedCondition(
                    reason: "AuthenticationFailed", message: "failed to get secret '\(namespace)/\(secretRef)': secrets \"\(secretRef)\" not found"))
            }
            var data: [String: String] = [:]
            for (key, value) in secret["data"]?.objectValue ?? [:] {
                data[key] = value.stringValue.flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) }
            }
            if url.hasPrefix("ssh://") {
                guard let identity = data["identity"], let knownHosts = data["known_hosts"] else {
                    return .failure(FailedCondition(
                        reason: "AuthenticationFailed", message: "failed to configure authentication options: invalid 'ssh' auth option: 'identity' is required"))
                }
                try? FileManager.default.createDirectory(at: credentials, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                let key = credentials.appendingPathComponent("identity")
                let hosts = credentials.appendingPathComponent("known_hosts")
                _ = FileManager.default.createFile(atPath: key.path, contents: Data(identity.utf8), attributes: [.posixPermissions: 0o600])
                _ = FileManager.default.createFile(atPath: hosts.path, contents: Data(knownHosts.utf8), attributes: [.posixPermissions: 0o600])
                environment["GIT_SSH_COMMAND"] =
                    "ssh -F /dev/null -i \(key.path) -o IdentitiesOnly=yes -o UserKnownHostsFile=\(hosts.path) -o StrictHostKeyChecking=yes -o BatchMode=yes"
            } else if let username = data["username"], let password = data["password"] {
                environment["GIT_CONFIG_COUNT"] = "1"
                environment["GIT_CONFIG_KEY_0"] = "http.extraHeader"
                environment["GIT_CONFIG_VALUE_0"] = "Authorization: Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
            }
        }
        let cache = cache(for: url)
        let fetched = run(["-C", cache.path, "fetch", "--quiet", "--no-tags", url, "+refs/heads/\(branch):refs/heads/\(branch)"], environment: environment)
        guard fetched.status == 0 else {
            let lines = fetched.error.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let detail = lines.isEmpty ? "exit status \(fetched.status)" : lines.joined(separator: "; ")
            return .failure(FailedCondition(
                reason: "GitOperationFailed", message: "failed to checkout and determine revision: unable to clone '\(url)': \(detail)"))
        }
        let head = run(["-C", cache.path, "rev-parse", "refs/heads/\(branch)"], environment: [:])
        return .success(head.output.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// A bare repository per URL, where fetched commits are kept for the Kustomization's path check.
    private func cache(for url: String) -> URL {
        let name = Data(url.utf8).base64EncodedString().replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        let cache = directory.appendingPathComponent("cache-\(name.suffix(40))")
        if !FileManager.default.fileExists(atPath: cache.path) { _ = run(["init", "--quiet", "--bare", cache.path], environment: [:]) }
        return cache
    }

    /// Runs git with output in files, not pipes: a child another thread forks meanwhile could
    /// inherit a pipe's write end and keep it open, and reading to its end would then hang.
    /// A git that takes longer than 30 s is killed, as a controller's timeout would.
    private func run(_ arguments: [String], environment extra: [String: String]) -> (status: Int32, output: String, error: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: BareGitRepository.gitPath)
        process.arguments = arguments
        var environment = [
            "PATH": "/usr/bin:/bin", "HOME": directory.path, "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_ASKPASS": "/bin/false", "SSH_ASKPASS": "/bin/false",
        ]
        environment.merge(extra) { $1 }
        process.environment = environment
        let stamp = UUID().uuidString.prefix(8)
        let outputFile = directory.appendingPathComponent("git-\(stamp).out")
        let errorFile = directory.appendingPathComponent("git-\(stamp).err")
        defer {
            try? FileManager.default.removeItem(at: outputFile)
            try? FileManager.default.removeItem(at: errorFile)
        }
        guard FileManager.default.createFile(atPath: outputFile.path, contents: nil), FileManager.default.createFile(atPath: errorFile.path, contents: nil),
            let output = FileHandle(forWritingAtPath: outputFile.path), let error = FileHandle(forWritingAtPath: errorFile.path)
        else { return (127, "", "cannot create output files in \(directory.path)") }
        defer {
            try? output.close()
            try? error.close()
        }
        process.standardOutput = output
        process.standardError = error
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { return (127, "", "\(error)") }
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning {
            if Date() > deadline { process.terminate() }
            Thread.sleep(forTimeInterval: 0.01)
        }
        process.waitUntilExit()
        let out = (try? String(contentsOf: outputFile, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOf: errorFile, encoding: .utf8)) ?? ""
        return (process.terminationStatus, out, err)
    }

    static func conditions(ready: Bool, reason: String, message: String, generation: Int?, now: Double) -> JSONValue {
        .array([
            .object([
                "type": "Ready", "status": .string(ready ? "True" : "False"), "reason": .string(reason), "message": .string(message),
                "observedGeneration": generation.map { .number(Double($0)) } ?? .null, "lastTransitionTime": .string(KubernetesAPIModel.timestamp(now)),
            ])
        ])
    }
}
