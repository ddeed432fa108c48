public import ClusterKit
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import SwiftProtobuf
import TalosMachineAPI

/// The Talos machine API over gRPC with mutual TLS (apid, port 50000), as talosctl speaks it.
///
/// - Credentials: the cluster's OS CA and an `os:admin` client certificate (``TalosCredentials``).
/// - A node in maintenance mode has no client certificates yet: only `applyConfiguration(...,
///   insecure: true)` and `version(of:insecure: true)` go there without verification and without
///   a client certificate, straight to the node (`talosctl apply-config --insecure`).
/// - With an ``Configuration/endpoint``, calls go to that control-plane node and carry the `node`
///   gRPC metadata naming the target, which apid proxies one-to-one (API-FACTS.md section 8).
///
/// Errors are ``ProvisionerError``s classified for retries. Keys never reach logs or messages.
/// Call ``shutdown()`` when done: it closes the connections.
public final class TalosMachineClient: TalosAPI {
    public struct Configuration: Sendable {
        public var credentials: TalosCredentials
        /// apid's port (Talos `constants.ApidPort`).
        public var port: Int
        /// A control-plane address every secure call goes through, with `node` metadata; nil
        /// talks to each node directly.
        public var endpoint: String?
        /// Dial overrides: a node address mapped to where its apid actually answers (an SSH
        /// tunnel, or a loopback peer in tests), like curl's `--connect-to`. The address still
        /// names the node in `node` metadata and in messages.
        public var connectTo: [String: HostAndPort]
        /// The deadline of each call.
        public var callTimeout: Duration

        public init(
            credentials: TalosCredentials, port: Int = 50000, endpoint: String? = nil, connectTo: [String: HostAndPort] = [:],
            callTimeout: Duration = .seconds(30)
        ) {
            self.credentials = credentials
            self.port = port
            self.endpoint = endpoint
            self.connectTo = connectTo
            self.callTimeout = callTimeout
        }
    }

    /// A host and port to dial.
    public struct HostAndPort: Sendable, Hashable {
        public var host: String
        public var port: Int
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
    }

    public let configuration: Configuration
    private let pool: TalosConnectionPool

    public init(configuration: Configuration) throws(ProvisionerError) {
        self.configuration = configuration
        self.pool = try TalosConnectionPool(credentials: configuration.credentials)
    }

    /// Closes every connection.
    public func shutdown() async { await pool.shutdown() }

    // MARK: TalosAPI

    public func status(of machine: ObservedMachine) async throws -> TalosNodeStatus {
        do {
            let version = try await version(of: machine, insecure: false)
            return TalosNodeStatus(stage: .running, talosVersion: version.tag)
        } catch let error as ProvisionerError where TalosRPCError.isHandshakeFailure(error) {
            // Mutual TLS failed: either the node is in maintenance mode (its per-boot CA is not
            // ours) or it belongs to someone else. Only an insecure Version can tell.
            let version: TalosVersionInfo
            do {
                version = try await self.version(of: machine, insecure: true)
            } catch let probe as ProvisionerError where probe.isTransient {
                return TalosNodeStatus(stage: .unreachable)
            } catch {
                throw error
            }
            guard !version.hasConfig else {
                // Transient: right after the first apply the maintenance apid may still answer
                // for a moment before it restarts with mutual TLS.
                throw ProvisionerError(.refused, "\(machine.identity.node) runs a configured Talos that does not accept this cluster's client certificate",
                    resource: machine.identity.node, hint: "the node belongs to another cluster, or the secrets changed; reset the node or restore the secrets",
                    isTransient: true)
            }
            return TalosNodeStatus(stage: .maintenance, talosVersion: version.tag)
        } catch let error as ProvisionerError where error.isTransient {
            return TalosNodeStatus(stage: .unreachable)
        }
    }

    public func applyConfiguration(
        _ config: MachineConfigPayload, to machine: ObservedMachine, mode: TalosApplyMode, dryRun: Bool, insecure: Bool
    ) async throws -> TalosApplyResult {
        var request = Machine_ApplyConfigurationRequest()
        request.data = Data(config.bytes)
        request.mode = Machine_ApplyConfigurationRequest.Mode(rawValue: mode.rawValue) ?? .auto
        request.dryRun = dryRun
        let reply = try await call("ApplyConfiguration", machine, maintenance: insecure) { [request] service, metadata, options in
            try await service.applyConfiguration(request, metadata: metadata, options: options)
        }
        let message = try Self.only(reply.messages, \.metadata, "ApplyConfiguration", machine)
        return TalosApplyResult(mode: TalosApplyMode(rawValue: message.mode.rawValue) ?? mode, details: message.modeDetails, warnings: message.warnings)
    }

    public func bootstrap(_ machine: ObservedMachine, recoverFromSnapshot: Bool) async throws -> TalosBootstrapOutcome {
        var request = Machine_BootstrapRequest()
        request.recoverEtcd = recoverFromSnapshot
        do {
            let reply = try await call("Bootstrap", machine) { [request] service, metadata, options in
                try await service.bootstrap(request, metadata: metadata, options: options)
            }
            _ = try Self.only(reply.messages, \.metadata, "Bootstrap", machine)
            return .bootstrapped
        } catch let error as ProvisionerError where error.code == .conflict {
            // AlreadyExists "etcd data directory is not empty": recognised by its status code,
            // not its text (Talos `BootstrapEtcd`, API-FACTS.md section 4).
            return .alreadyBootstrapped
        }
    }

    public func etcdMembers(via machine: ObservedMachine) async throws -> [EtcdMember] {
        let reply: Machine_EtcdMemberListResponse
        do {
            reply = try await call("EtcdMemberList", machine) { service, metadata, options in
                try await service.etcdMemberList(Machine_EtcdMemberListRequest(), metadata: metadata, options: options)
            }
        } catch let error as ProvisionerError where error.message.hasSuffix(": no controlplane endpoints discovered yet") {
            // Talos finds etcd through the control-plane endpoints Kubernetes publishes; before
            // any exist no etcd cluster has been bootstrapped that this node could know of
            // (API-FACTS.md section 4), which is what an empty member list means to the caller.
            return []
        }
        let message = try Self.only(reply.messages, \.metadata, "EtcdMemberList", machine)
        return message.members.map {
            EtcdMember(id: $0.id, hostname: $0.hostname, peerURLs: $0.peerUrls, clientURLs: $0.clientUrls, isLearner: $0.isLearner)
        }
    }

    public func removeEtcdMember(named name: String, via machine: ObservedMachine) async throws {
        // Talos removes members by ID only (EtcdRemoveMemberByID); the name is the member's hostname.
        let members = try await etcdMembers(via: machine)
        let matching = members.filter { $0.hostname == name }
        guard let member = matching.first else {
            throw ProvisionerError(.notFound, "etcd has no member named \(name) (members: \(members.map(\.hostname).filter { !$0.isEmpty }.joined(separator: ", ")))", resource: name)
        }
        guard matching.count == 1 else {
            throw ProvisionerError(.conflict, "etcd has \(matching.count) members named \(name) (\(matching.map(\.hexID).joined(separator: ", ")))", resource: name,
                hint: "remove the stale one by ID with `talosctl etcd remove-member`")
        }
        try await removeEtcdMember(id: member.id, via: machine)
    }

    public func removeEtcdMember(id: UInt64, via machine: ObservedMachine) async throws {
        var request = Machine_EtcdRemoveMemberByIDRequest()
        request.memberID = id
        let reply = try await call("EtcdRemoveMemberByID", machine) { [request] service, metadata, options in
            try await service.etcdRemoveMemberByID(request, metadata: metadata, options: options)
        }
        _ = try Self.only(reply.messages, \.metadata, "EtcdRemoveMemberByID", machine)
    }

    public func leaveEtcd(_ machine: ObservedMachine) async throws {
        let reply = try await call("EtcdLeaveCluster", machine) { service, metadata, options in
            try await service.etcdLeaveCluster(Machine_EtcdLeaveClusterRequest(), metadata: metadata, options: options)
        }
        _ = try Self.only(reply.messages, \.metadata, "EtcdLeaveCluster", machine)
    }

    public func etcdSnapshot(via machine: ObservedMachine, to path: String) async throws -> EtcdSnapshotInfo {
        let file = try EtcdSnapshotFile(path: path)
        do {
            try await call("EtcdSnapshot", machine) { service, metadata, options in
                try await service.etcdSnapshot(Machine_EtcdSnapshotRequest(), metadata: metadata, options: options) { response in
                    for try await data in response.messages {
                        try Self.check(data.metadata, "EtcdSnapshot", machine)
                        try file.append(data.bytes)
                    }
                }
            }
        } catch {
            file.discard()
            throw error
        }
        return try file.finish()
    }

    public func etcdRecover(_ machine: ObservedMachine, from path: String) async throws {
        guard let snapshot = FileManager.default.contents(atPath: path) else {
            throw ProvisionerError(.invalidInput, "cannot read the etcd snapshot \(path)", resource: machine.identity.node)
        }
        let bytes = Array(snapshot)
        let reply = try await call("EtcdRecover", machine) { service, metadata, options in
            try await service.etcdRecover(metadata: metadata, options: options) { writer in
                // talosctl streams 4 KiB chunks (`talosctl bootstrap --recover-from`).
                var offset = 0
                repeat {
                    var data = Common_Data()
                    data.bytes = Data(bytes[offset..<min(offset + 4096, bytes.count)])
                    try await writer.write(data)
                    offset += 4096
                } while offset < bytes.count
            }
        }
        _ = try Self.only(reply.messages, \.metadata, "EtcdRecover", machine)
    }

    public func kubeconfig(via machine: ObservedMachine) async throws -> String {
        let archive = try await call("Kubeconfig", machine) { service, metadata, options in
            try await service.kubeconfig(Google_Protobuf_Empty(), metadata: metadata, options: options) { response in
                try await Self.collect(response, "Kubeconfig", machine)
            }
        }
        let file = try TalosKubeconfigArchive.firstFile(inTarGz: archive)
        return String(decoding: file.contents, as: UTF8.self)
    }

    public func version(of machine: ObservedMachine, insecure: Bool) async throws -> TalosVersionInfo {
        let reply = try await call("Version", machine, maintenance: insecure) { service, metadata, options in
            try await service.version(Google_Protobuf_Empty(), metadata: metadata, options: options)
        }
        let message = try Self.only(reply.messages, \.metadata, "Version", machine)
        return TalosVersionInfo(
            tag: message.version.tag, sha: message.version.sha, arch: message.version.arch, platform: message.platform.name,
            platformMode: message.platform.mode, hasConfig: message.hasFeatures)
    }

    public func services(of machine: ObservedMachine) async throws -> [TalosServiceStatus] {
        let reply = try await call("ServiceList", machine) { service, metadata, options in
            try await service.serviceList(Google_Protobuf_Empty(), metadata: metadata, options: options)
        }
        let message = try Self.only(reply.messages, \.metadata, "ServiceList", machine)
        return message.services.map {
            TalosServiceStatus(id: $0.id, state: $0.state, healthy: $0.health.unknown ? nil : $0.health.healthy, lastMessage: $0.health.lastMessage)
        }
    }

    public func reboot(_ machine: ObservedMachine, mode: TalosRebootMode) async throws {
        var request = Machine_RebootRequest()
        request.mode = Machine_RebootRequest.Mode(rawValue: mode.rawValue) ?? .default
        let reply = try await call("Reboot", machine) { [request] service, metadata, options in
            try await service.reboot(request, metadata: metadata, options: options)
        }
        _ = try Self.only(reply.messages, \.metadata, "Reboot", machine)
    }

    public func reset(_ machine: ObservedMachine, options resetOptions: TalosResetOptions) async throws {
        var request = Machine_ResetRequest()
        request.graceful = resetOptions.graceful
        request.reboot = resetOptions.reboot
        request.mode = Machine_ResetRequest.WipeMode(rawValue: resetOptions.mode.rawValue) ?? .all
        request.systemPartitionsToWipe = resetOptions.systemPartitions.map {
            var spec = Machine_ResetPartitionSpec()
            spec.label = $0
            spec.wipe = true
            return spec
        }
        let reply = try await call("Reset", machine) { [request] service, metadata, options in
            try await service.reset(request, metadata: metadata, options: options)
        }
        _ = try Self.only(reply.messages, \.metadata, "Reset", machine)
    }

    // MARK: Plumbing

    private typealias Service = Machine_MachineService.Client<HTTP2ClientTransport.Posix>

    /// Runs one call against the node (directly, or through the endpoint with `node` metadata),
    /// mapping gRPC failures to classified ``ProvisionerError``s.
    private func call<Result: Sendable>(
        _ method: String, _ machine: ObservedMachine, maintenance: Bool = false,
        _ body: @Sendable (Service, Metadata, CallOptions) async throws -> Result
    ) async throws -> Result {
        guard let address = machine.addresses.first else {
            throw ProvisionerError(.invalidInput, "\(machine.identity.node) has no address for the Talos API yet", resource: machine.identity.node, isTransient: true)
        }
        var metadata: Metadata = [:]
        var dial = address
        // Maintenance mode ignores node metadata (NodeRoutingDisabled): always talk to the node itself.
        if !maintenance, let endpoint = configuration.endpoint, endpoint != address {
            dial = endpoint
            metadata.addString(address, forKey: "node")
        }
        let target = configuration.connectTo[dial] ?? HostAndPort(host: dial, port: configuration.port)
        var options = CallOptions.defaults
        options.timeout = configuration.callTimeout
        options.waitForReady = false
        let where_ = TalosRPCError.Call(method: method, node: machine.identity.node, address: "\(address):\(configuration.port)")
        let key = TalosConnectionPool.Key(host: target.host, port: target.port, maintenance: maintenance)
        do {
            let client = try await pool.client(for: key)
            return try await body(Service(wrapping: client), metadata, options)
        } catch {
            let mapped = TalosRPCError.map(error, where_)
            if TalosRPCError.isHandshakeFailure(mapped) { await pool.discard(key) }
            throw mapped
        }
    }

    /// The single reply message of a unary call aimed at one node, after checking the per-node
    /// error apid's proxy may have put in its metadata (API-FACTS.md section 8).
    private static func only<Message>(
        _ messages: [Message], _ metadata: KeyPath<Message, Common_Metadata>, _ method: String, _ machine: ObservedMachine
    ) throws -> Message {
        guard let message = messages.first else {
            throw ProvisionerError(.transport, "\(method) on \(machine.identity.node) returned no reply", resource: machine.identity.node, isTransient: true)
        }
        try check(message[keyPath: metadata], method, machine)
        return message
    }

    /// Every chunk of a `common.Data` stream, checking each for a proxy error.
    private static func collect(_ response: StreamingClientResponse<Common_Data>, _ method: String, _ machine: ObservedMachine) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        for try await data in response.messages {
            try check(data.metadata, method, machine)
            bytes += data.bytes
        }
        return bytes
    }

    private static func check(_ metadata: Common_Metadata, _ method: String, _ machine: ObservedMachine) throws(ProvisionerError) {
        if !metadata.error.isEmpty {
            throw ProvisionerError(.transport, "\(method) on \(machine.identity.node): \(metadata.error)", resource: machine.identity.node)
        }
    }
}
