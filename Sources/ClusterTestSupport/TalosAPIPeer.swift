public import ClusterKit
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import NIOCore
import NIOPosix
import NIOSSL
public import Provisioners
import Synchronization
import SwiftASN1
import X509

/// A Talos API peer on loopback: one listener per simulated node on 127.0.0.1 (a port each),
/// speaking gRPC over TLS the way apid does (../shared/reference/talos/API-FACTS.md):
///
/// - A configured node requires and verifies a client certificate against the cluster's OS CA
///   (`RequireAndVerifyClientCert`), refuses any client certificate whose extended key usage is
///   not exactly ClientAuth, and takes roles from its O values; denied → PermissionDenied
///   "not authorized". Curve X25519 only, TLS 1.2 suite ECDHE-ECDSA-AES256-GCM-SHA384, ALPN h2,
///   Ed25519 certificates.
/// - A node in maintenance mode serves a certificate from its own per-boot CA, asks for no client
///   certificate, treats everyone as os:reader and ignores `node` metadata; ApplyConfiguration
///   ends maintenance and apid comes back with mutual TLS (its connections are closed).
/// - `node` metadata on a control plane proxies one-to-one to the named node.
///
/// The node and etcd rules live in ``TalosPeerWorld``. Nodes are addressed by made-up addresses
/// (`10.5.0.11`); ``connectTo`` maps them to the real loopback ports for the client.
public final class TalosAPIPeer: Sendable {
    /// How long things take on the simulated nodes (real time; keep them short in tests).
    public struct Timings: Sendable {
        /// After a bootstrap, until other control planes start joining (the Kubernetes API coming up).
        public var joinDelay: Duration
        /// A learner's time until promotion.
        public var learnerPromotion: Duration
        /// A reboot's time.
        public var reboot: Duration

        public init(joinDelay: Duration = .milliseconds(100), learnerPromotion: Duration = .milliseconds(300), reboot: Duration = .milliseconds(300)) {
            self.joinDelay = joinDelay
            self.learnerPromotion = learnerPromotion
            self.reboot = reboot
        }
    }

    /// What a TLS handshake established about one accepted connection.
    struct Caller {
        var node: String
        var roles: Set<String>
        var maintenance: Bool
        var channel: any Channel
    }

    private struct Listener {
        var host: String
        var port: Int
        var server: GRPCServer<HTTP2ServerTransport.Custom<TalosPeerListenerFactory>>
        var task: Task<Void, Never>
        var secure: NIOSSLContext
        var maintenance: NIOSSLContext
    }

    public let secrets: SecretsBundle
    let world: Mutex<TalosPeerWorld>
    private let callers = Mutex<[Int: Caller]>([:])
    private let listeners = Mutex<[String: Listener]>([:])
    private let group: any EventLoopGroup
    /// The real etcd behind the etcd calls, when a test opted in (``useRealEtcd(_:timings:)``).
    let realEtcd = Mutex<TalosPeerEtcd?>(nil)

    public init(secrets: SecretsBundle, timings: Timings = Timings()) {
        self.secrets = secrets
        self.world = Mutex(TalosPeerWorld(timings: timings))
        self.group = MultiThreadedEventLoopGroup.singleton
    }

    /// Starts a node's apid. `config` boots it configured (as from user data); nil boots it
    /// into maintenance mode. Returns the loopback port it answers on. The certificate of a node
    /// booted configured carries its config's `machine.certSANs` as apid's does (a node configured
    /// later through maintenance mode keeps the one it started with).
    ///
    /// - Parameter listenOnAddress: bind `address` itself (a 127/8 address, which Linux lets any
    ///   process bind) on `port` instead of a free port on 127.0.0.1, so a client dials the node's
    ///   own address as in the field, with no dial override.
    @discardableResult
    public func addNode(
        address: String, hostname: String, config: MachineConfigPayload? = nil, listenOnAddress: Bool = false, port: Int = 50000
    ) async throws -> Int {
        let maintenanceCA = try TalosPeerCertificates.selfSignedCA(organization: "maintenance-\(hostname)")
        var node = TalosPeerWorld.Node(address: address, hostname: hostname, maintenance: config == nil, maintenanceCA: maintenanceCA)
        if let config {
            node.config = try MachineConfigSummary(parsing: config)
            node.configText = config.text
        }
        let configured = node
        world.withLock { $0.nodes[address] = configured }

        let sans = config.map { TalosPeerCertificates.configuredSANs($0.text) } ?? []
        let secureCert = try TalosPeerCertificates.server(
            commonName: hostname, addresses: [address] + sans, dnsNames: [hostname] + sans.filter { $0.first?.isLetter == true }, signedBy: secrets.osCA)
        let maintenanceCert = try TalosPeerCertificates.server(
            commonName: "maintenance-service.talos.dev", addresses: [address], signedBy: maintenanceCA)
        let secure = try NIOSSLContext(configuration: try Self.serverTLS(secureCert, clientCA: secrets.osCA.certificatePEM))
        let maintenance = try NIOSSLContext(configuration: try Self.serverTLS(maintenanceCert, clientCA: nil))
        var factory = TalosPeerListenerFactory(eventLoopGroup: group) { [weak self] channel in
            try self?.secure(channel, node: address, secure: secure, maintenance: maintenance)
        }
        if listenOnAddress {
            factory.host = address
            factory.port = port
        }
        let transport = HTTP2ServerTransport.Custom(listenerFactory: factory)
        let server = GRPCServer(transport: transport, services: [TalosPeerService(peer: self)])
        let task = Task { _ = try? await server.serve() }
        guard let port = await transport.listeningAddress?.ipv4?.port else {
            server.beginGracefulShutdown()
            throw TestSupportError("the Talos API peer could not listen for \(address)")
        }
        listeners.withLock { $0[address] = Listener(host: factory.host, port: port, server: server, task: task, secure: secure, maintenance: maintenance) }
        return port
    }

    /// Where the client must dial each node.
    public var connectTo: [String: TalosMachineClient.HostAndPort] {
        listeners.withLock { $0.mapValues { TalosMachineClient.HostAndPort(host: $0.host, port: $0.port) } }
    }

    /// Whether a node with this address was added.
    public func hasNode(_ address: String) -> Bool { listeners.withLock { $0[address] != nil } }

    /// Stops every listener.
    public func shutdown() async {
        let all = listeners.withLock { current in
            defer { current = [:] }
            return Array(current.values)
        }
        for listener in all { listener.server.beginGracefulShutdown() }
        for listener in all { await listener.task.value }
        let etcd = realEtcd.withLock { current in
            defer { current = nil }
            return current
        }
        etcd?.cancelJoins()
        await etcd?.waitForJoins()
    }

    /// Sends the etcd calls (member list, remove, leave, snapshot, recover, bootstrap and the
    /// joins after it) to `etcd`, whose members are named by the control planes' hostnames,
    /// instead of the in-memory etcd. The caller shuts `etcd` down.
    @discardableResult
    public func useRealEtcd(_ etcd: EtcdTestCluster, timings: TalosPeerEtcd.Timings = TalosPeerEtcd.Timings()) -> TalosPeerEtcd {
        let backend = TalosPeerEtcd(etcd: etcd, timings: timings, peer: self)
        realEtcd.withLock { $0 = backend }
        return backend
    }

    // MARK: Test controls

    /// Changes a node's state directly (power, CRI readiness, time sync ...).
    public func update(_ address: String, _ change: @Sendable (inout TalosPeerNodeControl) -> Void) {
        world.withLock { world in
            guard var node = world.nodes[address] else { return }
            var control = TalosPeerNodeControl(up: node.up, criReady: node.criReady, timeSynced: node.timeSynced)
            change(&control)
            node.up = control.up
            node.criReady = control.criReady
            node.timeSynced = control.timeSynced
            world.nodes[address] = node
        }
        realEtcd.withLock { $0 }?.power(address, up: isUp(address))
        if !isUp(address) { closeConnections(of: address) }
    }

    public func isUp(_ address: String) -> Bool { world.withLock { $0.nodes[address]?.up == true } }

    /// Whether the node is in maintenance mode.
    public func isInMaintenance(_ address: String) -> Bool { world.withLock { $0.nodes[address]?.maintenance == true } }

    /// Successful Bootstrap calls so far.
    public var bootstrapCount: Int { world.withLock { $0.bootstrapCalls } }

    /// How many separate etcd clusters exist (more than one per Kubernetes cluster is a split brain).
    public var etcdClusterCount: Int { world.withLock { $0.clusters.count } }

    // MARK: TLS

    private static func serverTLS(_ certificate: PEMCertificateAndKey, clientCA: String?) throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(certificate.certificatePEM.utf8)).map { .certificate($0) },
            privateKey: .privateKey(try TalosTLS.privateKey(certificate.keyPEM)))
        // apid (siderolabs/crypto tls.New): TLS >= 1.2, X25519 only, one TLS 1.2 suite, ALPN h2.
        configuration.minimumTLSVersion = .tlsv12
        configuration.curves = [.x25519]
        configuration.cipherSuites = "ECDHE-ECDSA-AES256-GCM-SHA384"
        configuration.applicationProtocols = ["h2"]
        configuration.verifySignatureAlgorithms = TalosTLS.signatureAlgorithms
        configuration.signingSignatureAlgorithms = [.ed25519]
        if let clientCA {
            configuration.certificateVerification = .noHostnameVerification
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(clientCA.utf8)))
        } else {
            configuration.certificateVerification = .none
        }
        return configuration
    }

    /// Puts the right TLS handler on an accepted connection, as the node's apid is now.
    private func secure(_ channel: any Channel, node address: String, secure: NIOSSLContext, maintenance: NIOSSLContext) throws {
        let state = world.withLock { world -> TalosPeerWorld.Node? in
            world.settle(now: .now)
            return world.nodes[address]
        }
        guard let state, state.up, let port = channel.remoteAddress?.port else {
            // A node that is down (off, rebooting) refuses connections: end this one at once
            // rather than leave the client waiting for a handshake.
            channel.close(mode: .all, promise: nil)
            throw TestSupportError("\(address) is down")
        }
        if state.maintenance {
            // ReadonlyRoleMode: every caller is os:reader; no client certificate is asked for.
            callers.withLock { $0[port] = Caller(node: address, roles: ["os:reader"], maintenance: true, channel: channel) }
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: maintenance))
            return
        }
        let osCA = secrets.osCA.certificatePEM
        let handler = NIOSSLServerHandler(context: secure) { [weak self] chain, promise in
            guard let roles = Self.verifyClient(chain, osCA: osCA) else { return promise.succeed(.failed) }
            self?.callers.withLock { $0[port] = Caller(node: address, roles: roles, maintenance: false, channel: channel) }
            promise.succeed(.certificateVerified)
        }
        try channel.pipeline.syncOperations.addHandler(handler)
    }

    /// RequireAndVerifyClientCert against the OS CA, then siderolabs/crypto `verifyExtKeyUsage`:
    /// every non-CA certificate of the chain must have ExtKeyUsage exactly [ClientAuth]. Returns
    /// the roles (the leaf's O values, trimmed, empty ones skipped) or nil to fail the handshake.
    private static func verifyClient(_ chain: [NIOSSLCertificate], osCA: String) -> Set<String>? {
        guard let first = chain.first, let ca = try? Certificate(pemEncoded: osCA),
            let leaf = try? Certificate(derEncoded: first.toDERBytes())
        else { return nil }
        let now = Date()
        guard leaf.issuer == ca.subject, ca.publicKey.isValidSignature(leaf.signature, for: leaf),
            leaf.notValidBefore <= now, now <= leaf.notValidAfter
        else { return nil }
        for certificate in chain {
            guard let parsed = try? Certificate(derEncoded: certificate.toDERBytes()) else { return nil }
            if (try? parsed.extensions.basicConstraints) == .isCertificateAuthority(maxPathLength: nil) { continue }
            guard let usages = try? parsed.extensions.extendedKeyUsage, Array(usages) == [.clientAuth] else { return nil }
        }
        var roles = Set<String>()
        for rdn in leaf.subject {
            for attribute in rdn where attribute.type == .RDNAttributeType.organizationName {
                if let value = String(attribute.value)?.trimmingCharacters(in: .whitespaces), !value.isEmpty { roles.insert(value) }
            }
        }
        return roles
    }

    // MARK: Service support

    /// The connection an RPC came in on (`ipv4:127.0.0.1:<port>`).
    func caller(_ context: ServerContext) -> Caller? {
        guard let port = context.remotePeer.split(separator: ":").last.flatMap({ Int($0) }) else { return nil }
        return callers.withLock { $0[port] }
    }

    /// apid restarts when a node leaves maintenance or goes down: its open connections end.
    /// `graceful` lets calls in flight finish first (HTTP/2 GOAWAY, as a stopping gRPC server
    /// sends), so the reply that caused the restart still arrives.
    func closeConnections(of address: String, graceful: Bool = false) {
        let channels = callers.withLock { callers in
            let matching = callers.filter { $0.value.node == address }
            for key in matching.keys { callers[key] = nil }
            return matching.values.map(\.channel)
        }
        for channel in channels {
            if graceful {
                channel.eventLoop.execute { channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
            } else {
                channel.close(promise: nil)
            }
        }
    }
}

/// The node state tests may change directly.
public struct TalosPeerNodeControl: Sendable {
    /// The node answers at all.
    public var up: Bool
    /// The CRI is up (else Bootstrap answers "bootstrap is not available yet").
    public var criReady: Bool
    /// Time is synchronised (else Bootstrap answers "time is not in sync yet").
    public var timeSynced: Bool
}
