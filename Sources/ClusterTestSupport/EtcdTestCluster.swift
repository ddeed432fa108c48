import Foundation
public import Provisioners
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Real etcd members (Debian's `etcd-server`, 3.4 on bookworm; .ci/setup.d/etcd.sh installs it)
/// on loopback: random free ports, data directories under one temporary directory, every process
/// killed by ``shutdown()`` (or when the object goes away).
///
/// Live calls go to etcd's gRPC gateway (`POST /v3/...`, JSON) through libcurl rather than through
/// `etcdctl`: they are asynchronous (a child process waited on would hold a thread of the
/// 2-thread cooperative pool while the gRPC peer needs it), the gateway prints 64-bit IDs as
/// strings (etcdctl's JSON prints them as numbers past 2^53), and the gateway forwards
/// `Grpc-Metadata-hasleader: true` as the `hasleader` metadata etcd's clientv3 `WithRequireLeader`
/// sends, which Talos uses, so a cluster without quorum answers "etcdserver: no leader" at once
/// instead of timing out. `etcdctl` is used for what is offline or file-based: `snapshot status`
/// and `snapshot restore`.
public final class EtcdTestCluster: Sendable {
    /// One member's addresses and data directory.
    public struct Member: Sendable {
        public var name: String
        public var peerPort: Int
        public var clientPort: Int
        public var dataDirectory: String
        public var peerURL: String { "http://127.0.0.1:\(peerPort)" }
        public var clientURL: String { "http://127.0.0.1:\(clientPort)" }
    }

    /// A member as `MemberList` reports it.
    public struct ListedMember: Sendable, Hashable {
        public var id: UInt64
        /// Empty until the member has started.
        public var name: String
        public var peerURLs: [String]
        public var clientURLs: [String]
        public var isLearner: Bool
    }

    /// An error etcd answered with (its own text, e.g. "etcdserver: unhealthy cluster"), or a
    /// member that could not be reached.
    public struct EtcdError: Error, CustomStringConvertible {
        public var message: String
        /// The gRPC code etcd gave (5 NotFound, 14 Unavailable ...), when it answered.
        public var code: Int?
        public var description: String { message }
    }

    private struct State {
        var members: [String: Member] = [:]
        var processes: [String: ChildProcess] = [:]
    }

    /// The temporary directory holding every member's data and logs.
    public let directory: String
    private let state = Mutex(State())
    private let http = CurlHTTPTransport(configuration: HTTPClientConfiguration(connectTimeout: .seconds(2), totalTimeout: .seconds(15)))

    public static let etcdPath = "/usr/bin/etcd"
    public static let etcdctlPath = "/usr/bin/etcdctl"

    /// Why real etcd tests cannot run here, or nil.
    public static var unavailableReason: String? {
        for path in [etcdPath, etcdctlPath] where !FileManager.default.isExecutableFile(atPath: path) {
            return "\(path) is missing (install etcd-server and etcd-client; .ci/setup.d/etcd.sh does)"
        }
        return nil
    }

    /// Runs when etcd is here, and always in CI, where a missing one must fail loudly.
    public static var shouldRun: Bool { unavailableReason == nil || ReferenceData.isCI }

    /// An empty set of members; ``bootstrap(_:)`` or ``restore(snapshot:as:)`` start some.
    public init() throws {
        if let reason = Self.unavailableReason { throw TestSupportError(reason) }
        let template = FileManager.default.temporaryDirectory.appendingPathComponent("clusterctl-etcd-XXXXXX").path
        var buffer = Array(template.utf8CString)
        guard let made = mkdtemp(&buffer) else { throw TestSupportError("mkdtemp failed for \(template)") }
        directory = String(cString: made)
    }

    /// Starts `names` as one new cluster and waits until it has a leader.
    public static func start(_ names: [String]) async throws -> EtcdTestCluster {
        let cluster = try EtcdTestCluster()
        do {
            try await cluster.bootstrap(names)
            return cluster
        } catch {
            cluster.shutdown()
            throw error
        }
    }

    deinit { shutdown() }

    // MARK: Members

    public func member(_ name: String) -> Member? { state.withLock { $0.members[name] } }

    public func isRunning(_ name: String) -> Bool { state.withLock { $0.processes[name]?.isRunning == true } }

    /// Names of members whose process runs.
    public var runningNames: [String] { state.withLock { $0.processes.filter { $0.value.isRunning }.keys.sorted() } }

    /// Allocates ports and a data directory for a member that is not started yet.
    @discardableResult
    public func prepare(_ name: String) throws -> Member {
        if let existing = member(name) { return existing }
        let member = Member(
            name: name, peerPort: try SSHTestServer.freePort(), clientPort: try SSHTestServer.freePort(),
            dataDirectory: directory + "/\(name).etcd")
        state.withLock { $0.members[name] = member }
        return member
    }

    /// Starts a new cluster of `names` (`--initial-cluster-state new`) and waits for a leader.
    public func bootstrap(_ names: [String]) async throws {
        let members = try names.map { try prepare($0) }
        let initial = members.map { "\($0.name)=\($0.peerURL)" }.joined(separator: ",")
        for member in members { try launch(member.name, initialCluster: initial, state: "new") }
        for member in members { try await waitReady(member.name) }
    }

    /// Starts (or restarts, with its data directory as it is) one member's process.
    /// `initialCluster` and `state` matter only for an empty data directory.
    public func launch(_ name: String, initialCluster: String, state clusterState: String) throws {
        let member = try prepare(name)
        if isRunning(name) { return }
        let process = try ChildProcess.spawn(
            Self.etcdPath,
            [
                "--name", name, "--data-dir", member.dataDirectory,
                "--listen-peer-urls", member.peerURL, "--initial-advertise-peer-urls", member.peerURL,
                "--listen-client-urls", member.clientURL, "--advertise-client-urls", member.clientURL,
                "--initial-cluster", initialCluster, "--initial-cluster-state", clusterState,
                "--initial-cluster-token", "clusterctl-test",
                // Talos' defaults are etcd's: heartbeat 100 ms, election 1000 ms, strict reconfig check on.
                "--strict-reconfig-check=true",
            ],
            outputFile: directory + "/\(name).log", // A clean environment: etcd reads every ETCD_* variable as a flag.
            environment: ["PATH": "/usr/bin:/bin"])
        state.withLock { $0.processes[name] = process }
    }

    /// Restarts a stopped member on its existing data directory.
    public func restart(_ name: String) async throws {
        try launch(name, initialCluster: "", state: "existing")
        try await waitServing(name)
    }

    /// Kills a member's process (SIGKILL: a node losing power), keeping its data directory.
    public func stop(_ name: String) {
        let process = state.withLock { $0.processes.removeValue(forKey: name) }
        process?.signal(SIGKILL)
        process?.wait()
    }

    /// Stops a member and deletes its data directory (a wiped disk).
    public func wipe(_ name: String) {
        stop(name)
        if let member = member(name) { try? FileManager.default.removeItem(atPath: member.dataDirectory) }
    }

    /// Whether the member's data directory holds anything.
    public func hasData(_ name: String) -> Bool {
        guard let member = member(name), let entries = try? FileManager.default.contentsOfDirectory(atPath: member.dataDirectory) else { return false }
        return !entries.isEmpty
    }

    /// Kills every member and deletes the temporary directory.
    public func shutdown() {
        let processes = state.withLock { current in
            defer { current.processes = [:] }
            return Array(current.processes.values)
        }
        for process in processes {
            process.signal(SIGKILL)
            process.wait()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The member's log (etcd's own lines), for failure messages.
    public func log(_ name: String) -> String {
        (try? String(contentsOfFile: directory + "/\(name).log", encoding: .utf8)) ?? ""
    }

    /// Waits until the member answers with a leader (a quorum read succeeds).
    public func waitReady(_ name: String, timeout: Duration = .seconds(20)) async throws {
        try await waitFor(name, timeout: timeout) { try await self.call(name, "/v3/kv/range", ["key": Self.base64("health")]) }
    }

    /// Waits until the member's client port answers at all (with or without a leader).
    public func waitServing(_ name: String, timeout: Duration = .seconds(20)) async throws {
        try await waitFor(name, timeout: timeout) { _ = try await self.call(name, "/v3/maintenance/status", [:], requireLeader: false) }
    }

    private func waitFor(_ name: String, timeout: Duration, _ probe: () async throws -> Void) async throws {
        let deadline = ContinuousClock.now + timeout
        var last = "no answer yet"
        while ContinuousClock.now < deadline {
            guard isRunning(name) else { throw TestSupportError("etcd member \(name) exited:\n\(log(name).suffix(2000))") }
            do {
                try await probe()
                return
            } catch {
                last = "\(error)"
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestSupportError("etcd member \(name) not ready after \(timeout): \(last)\n\(log(name).suffix(2000))")
    }

    /// Waits until every running member follows one leader that is itself running. After a
    /// leader dies, requests sent before the others notice (about one election timeout) wait
    /// for etcd's request timeout, as they would against a real cluster.
    public func waitForLeader(timeout: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            var ids: Set<String> = []
            var leaders: Set<String> = []
            for name in runningNames {
                guard let status = try? await call(name, "/v3/maintenance/status", [:], requireLeader: false),
                    let header = status["header"] as? [String: Any], let id = header["member_id"] as? String
                else { continue }
                ids.insert(id)
                leaders.insert(status["leader"] as? String ?? "0")
            }
            if leaders.count == 1, let leader = leaders.first, ids.contains(leader) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestSupportError("the running etcd members (\(runningNames.joined(separator: ", "))) did not agree on a running leader within \(timeout)")
    }

    /// Waits until `observer` has marked its peer connection to `name` inactive, as etcd's
    /// `etcd_network_active_peers` gauge shows it. Until then `observer` still counts `name` as an
    /// active voter: etcd's remove check (`mayRemoveMember`) then lets through a removal that a
    /// moment later it refuses as "unhealthy cluster".
    public func waitUntilDisconnected(_ name: String, seenBy observer: String, timeout: Duration = .seconds(20)) async throws {
        guard let watcher = member(observer) else { throw EtcdError(message: "no etcd member named \(observer)") }
        let listed = try await members(via: observer)
        guard let local = listed.first(where: { $0.name == observer })?.id, let remote = member(name).flatMap({ gone in listed.first { $0.peerURLs.contains(gone.peerURL) } })?.id
        else { throw EtcdError(message: "\(observer) does not list both itself and \(name)") }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let response = try? await http.send(HTTPRequest(method: .get, url: watcher.clientURL + "/metrics")), response.isSuccess,
                Self.activePeers(in: response.bodyText, local: local, remote: remote) == 0
            {
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestSupportError("etcd member \(observer) still counts \(name) as connected after \(timeout)")
    }

    /// The value of `etcd_network_active_peers{Local=…,Remote=…}` in a Prometheus text page. etcd
    /// labels IDs in unpadded hex (`types.ID.String()`), so they are compared as numbers.
    static func activePeers(in metrics: String, local: UInt64, remote: UInt64) -> Int? {
        let name = "etcd_network_active_peers{"
        for line in metrics.split(separator: "\n") where line.hasPrefix(name) {
            guard let close = line.firstIndex(of: "}") else { continue }
            var labels: [String: UInt64] = [:]
            for pair in line.dropFirst(name.count)[..<close].split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { continue }
                labels[String(parts[0])] = UInt64(parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")), radix: 16)
            }
            guard labels["Local"] == local, labels["Remote"] == remote else { continue }
            return Double(line[line.index(after: close)...].trimmingCharacters(in: .whitespaces)).map { Int($0) }
        }
        return nil
    }

    // MARK: Calls (etcd's gRPC gateway, `api/etcdserverpb/rpc.proto` in JSON)

    /// One gateway call to the member `via`; returns the decoded JSON object or throws etcd's error.
    @discardableResult
    public func call(_ via: String, _ path: String, _ body: [String: Any], requireLeader: Bool = true) async throws -> [String: Any] {
        guard let member = member(via) else { throw EtcdError(message: "no etcd member named \(via)") }
        var headers = [(name: "Content-Type", value: "application/json")]
        if requireLeader { headers.append((name: "Grpc-Metadata-hasleader", value: "true")) }
        let request = HTTPRequest(method: .post, url: member.clientURL + path, headers: headers, body: Array(try JSONSerialization.data(withJSONObject: body)))
        let response: HTTPResponse
        do {
            response = try await http.send(request)
        } catch {
            throw EtcdError(message: "cannot reach etcd member \(via): \(error)")
        }
        let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] ?? [:]
        if let message = object["message"] as? String ?? object["error"] as? String, !response.isSuccess || object["code"] != nil {
            throw EtcdError(message: message, code: object["code"] as? Int)
        }
        guard response.isSuccess else { throw EtcdError(message: "etcd member \(via) answered HTTP \(response.status): \(response.bodyText)") }
        return object
    }

    /// `MemberList` as the member `via` sees it.
    public func members(via: String) async throws -> [ListedMember] {
        let object = try await call(via, "/v3/cluster/member/list", [:])
        return (object["members"] as? [[String: Any]] ?? []).map(Self.listed)
    }

    /// `MemberAdd` with `isLearner`; returns the new member's ID. The member is not started.
    public func addMember(_ name: String, learner: Bool, via: String) async throws -> UInt64 {
        let member = try prepare(name)
        let object = try await call(via, "/v3/cluster/member/add", ["peerURLs": [member.peerURL], "isLearner": learner])
        guard let added = object["member"] as? [String: Any] else { throw EtcdError(message: "MemberAdd answered without a member") }
        return Self.listed(added).id
    }

    /// `MemberPromote`.
    public func promote(_ id: UInt64, via: String) async throws {
        try await call(via, "/v3/cluster/member/promote", ["ID": String(id)])
    }

    /// `MemberRemove`.
    public func remove(_ id: UInt64, via: String) async throws {
        try await call(via, "/v3/cluster/member/remove", ["ID": String(id)])
    }

    /// `Put`.
    public func put(_ key: String, _ value: String, via: String) async throws {
        try await call(via, "/v3/kv/put", ["key": Self.base64(key), "value": Self.base64(value)])
    }

    /// `Range` of one key; nil when absent.
    public func get(_ key: String, via: String) async throws -> String? {
        let object = try await call(via, "/v3/kv/range", ["key": Self.base64(key)])
        guard let kvs = object["kvs"] as? [[String: Any]], let value = kvs.first?["value"] as? String, let data = Data(base64Encoded: value) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// `Maintenance.Snapshot`: the whole stream (bbolt database plus etcd's trailing SHA-256).
    /// The gateway sends one JSON object per chunk, `{"result":{"blob":"<base64>"}}`.
    public func snapshot(via: String) async throws -> [UInt8] {
        guard let member = member(via) else { throw EtcdError(message: "no etcd member named \(via)") }
        let request = HTTPRequest(
            method: .post, url: member.clientURL + "/v3/maintenance/snapshot",
            headers: [(name: "Content-Type", value: "application/json"), (name: "Grpc-Metadata-hasleader", value: "true")], body: Array("{}".utf8))
        let response: HTTPResponse
        do {
            response = try await http.send(request)
        } catch {
            throw EtcdError(message: "cannot reach etcd member \(via): \(error)")
        }
        var bytes: [UInt8] = []
        for line in response.body.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                throw EtcdError(message: "etcd's snapshot stream held a line that is not JSON")
            }
            if let error = object["error"] as? [String: Any] {
                throw EtcdError(message: error["message"] as? String ?? "snapshot failed", code: error["grpc_code"] as? Int)
            }
            if let blob = (object["result"] as? [String: Any])?["blob"] as? String {
                guard let data = Data(base64Encoded: blob) else { throw EtcdError(message: "etcd's snapshot chunk is not base64") }
                bytes += data
            }
        }
        return bytes
    }

    // MARK: Files (etcdctl)

    /// `etcdctl snapshot status -w json`: etcd's own check of a snapshot file (it reads the
    /// bbolt database; a file that is not one is refused).
    public static func snapshotStatus(_ path: String) throws -> (hash: UInt32, revision: Int, totalKey: Int, totalSize: Int) {
        let text = try ChildProcess.run(etcdctlPath, ["snapshot", "status", path, "--write-out=json"])
        guard let line = text.split(whereSeparator: \.isNewline).last(where: { $0.hasPrefix("{\"hash\"") }),
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            let hash = object["hash"] as? Int, let revision = object["revision"] as? Int
        else { throw TestSupportError("etcdctl snapshot status printed no status: \(text)") }
        return (UInt32(truncatingIfNeeded: hash), revision, object["totalKey"] as? Int ?? 0, object["totalSize"] as? Int ?? 0)
    }

    /// Restores a snapshot into a new member's data directory (`etcdctl snapshot restore`, which
    /// checks etcd's trailing SHA-256 unless `skipHashCheck`) and starts it as a new one-member
    /// cluster, as Talos' `recoverFromSnapshot` does (`snapshot.Restore{InitialCluster: self}`).
    public func restore(snapshot path: String, as name: String, skipHashCheck: Bool = false) async throws {
        let member = try prepare(name)
        try? FileManager.default.removeItem(atPath: member.dataDirectory)
        var arguments = [
            "snapshot", "restore", path, "--name", name, "--data-dir", member.dataDirectory,
            "--initial-cluster", "\(name)=\(member.peerURL)", "--initial-advertise-peer-urls", member.peerURL,
            "--initial-cluster-token", "clusterctl-restored",
        ]
        if skipHashCheck { arguments.append("--skip-hash-check") }
        try await Self.runOffPool(Self.etcdctlPath, arguments)
        try launch(name, initialCluster: "\(name)=\(member.peerURL)", state: "new")
        try await waitReady(name)
    }

    /// Runs a tool to completion on a thread of its own, so the wait holds no thread of the
    /// cooperative pool.
    @discardableResult
    public static func runOffPool(_ path: String, _ arguments: [String]) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                do {
                    continuation.resume(returning: try ChildProcess.run(path, arguments))
                } catch {
                    continuation.resume(throwing: error)
                }
            }.start()
        }
    }

    // MARK: Helpers

    private static func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

    private static func listed(_ object: [String: Any]) -> ListedMember {
        ListedMember(
            id: (object["ID"] as? String).flatMap { UInt64($0) } ?? 0, name: object["name"] as? String ?? "",
            peerURLs: object["peerURLs"] as? [String] ?? [], clientURLs: object["clientURLs"] as? [String] ?? [],
            isLearner: object["isLearner"] as? Bool ?? false)
    }
}
