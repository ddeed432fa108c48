import ClusterKit
import Foundation
import GRPCCore
import NIOCore
import Synchronization
import Provisioners
import SwiftProtobuf
import TalosMachineAPI

/// `machine.MachineService` as apid and machined answer it: routing by `node` metadata,
/// authorization by role (Talos `internal/app/machined/pkg/system/services/machined.go` rules,
/// ../shared/reference/talos/API-FACTS.md sections 7 and 8), then ``TalosPeerWorld``.
struct TalosPeerService: Machine_MachineService.ServiceProtocol {
    let peer: TalosAPIPeer

    /// Roles that may call a method besides os:admin, which may call everything.
    private static let rules: [String: Set<String>] = [
        "Version": ["os:reader", "os:operator"],
        "ServiceList": ["os:reader", "os:operator"],
        "EtcdMemberList": ["os:reader", "os:operator", "os:etcd:backup"],
        "EtcdSnapshot": ["os:operator", "os:etcd:backup"],
        "Reboot": ["os:operator"],
    ]

    private struct Route {
        var target: String
        /// The request came in over a maintenance-mode connection.
        var maintenance: Bool
    }

    /// Finds the node a call is for and checks the caller may make it.
    private func route(_ method: String, _ metadata: Metadata, _ context: ServerContext) throws -> Route {
        guard let caller = peer.caller(context) else {
            throw RPCError(code: .unauthenticated, message: "no TLS state for this connection")
        }
        var target = caller.node
        let requested = Array(metadata[stringValues: "node"])
        // NodeRoutingDisabled in maintenance mode: node metadata is ignored.
        if !caller.maintenance, !requested.isEmpty {
            guard requested.count == 1, let node = requested.first else {
                throw RPCError(code: .invalidArgument, message: "node metadata must be single-valued")
            }
            guard !node.contains(":") else { throw RPCError(code: .internalError, message: "invalid target \"\(node)\"") }
            if node != caller.node {
                // Workers have no apid client certificate, so they cannot forward.
                let forwards = peer.world.withLock { $0.nodes[caller.node]?.isControlPlane == true }
                guard forwards else { throw RPCError(code: .permissionDenied, message: "no request forwarding") }
                target = node
            }
        }
        let targetInMaintenance = peer.world.withLock { world -> Bool in
            world.settle(now: .now)
            return world.nodes[target]?.maintenance == true
        }
        // A node in maintenance mode gives everyone os:reader, proxied callers included.
        let roles: Set<String> = caller.maintenance || targetInMaintenance ? ["os:reader"] : caller.roles
        let allowed: Bool
        if method == "ApplyConfiguration" {
            allowed = roles.contains("os:admin") || (targetInMaintenance && roles.contains("os:reader"))
        } else {
            allowed = roles.contains("os:admin") || !(Self.rules[method] ?? []).isDisjoint(with: roles)
        }
        guard allowed else { throw RPCError(code: .permissionDenied, message: "not authorized") }
        return Route(target: target, maintenance: caller.maintenance)
    }

    private func world<T: Sendable>(_ body: (inout TalosPeerWorld) throws(RPCError) -> T) throws(RPCError) -> T {
        try peer.world.withLock { world throws(RPCError) -> T in
            world.settle(now: .now)
            return try body(&world)
        }
    }

    // MARK: Calls

    func applyConfiguration(
        request: ServerRequest<Machine_ApplyConfigurationRequest>, context: ServerContext
    ) async throws -> ServerResponse<Machine_ApplyConfigurationResponse> {
        let route = try route("ApplyConfiguration", request.metadata, context)
        let message = request.message
        let text = String(decoding: message.data, as: UTF8.self)
        let mode = TalosApplyMode(rawValue: message.mode.rawValue) ?? .auto
        let (result, leftMaintenance) = try world { world throws(RPCError) in
            let before = world.nodes[route.target]?.maintenance == true
            let result = try world.apply(text, mode: mode, dryRun: message.dryRun, to: route.target, now: .now)
            return (result, before && world.nodes[route.target]?.maintenance == false)
        }
        if leftMaintenance || result.mode == .reboot {
            // apid restarts (with mutual TLS, or after the reboot): connections end once the reply is out.
            peer.closeConnections(of: route.target, graceful: true)
        }
        var reply = Machine_ApplyConfiguration()
        reply.mode = Machine_ApplyConfigurationRequest.Mode(rawValue: result.mode.rawValue) ?? .noReboot
        reply.modeDetails = result.details
        reply.warnings = result.warnings
        return ServerResponse(message: .with { $0.messages = [reply] })
    }

    func bootstrap(request: ServerRequest<Machine_BootstrapRequest>, context: ServerContext) async throws -> ServerResponse<Machine_BootstrapResponse> {
        let route = try route("Bootstrap", request.metadata, context)
        if let etcd = peer.realEtcd.withLock({ $0 }) {
            // Talos' checks before etcd's: CRI, role, time sync.
            try world { world throws(RPCError) in try world.checkBootstrap(on: route.target) }
            try etcd.bootstrap(on: route.target, recover: request.message.recoverEtcd)
            return ServerResponse(message: .with { $0.messages = [Machine_Bootstrap()] })
        }
        try world { world throws(RPCError) in try world.bootstrap(on: route.target, recover: request.message.recoverEtcd, now: .now) }
        return ServerResponse(message: .with { $0.messages = [Machine_Bootstrap()] })
    }

    func etcdMemberList(
        request: ServerRequest<Machine_EtcdMemberListRequest>, context: ServerContext
    ) async throws -> ServerResponse<Machine_EtcdMemberListResponse> {
        let route = try route("EtcdMemberList", request.metadata, context)
        let members: [EtcdMember]
        if let etcd = peer.realEtcd.withLock({ $0 }) {
            members = try await etcd.members(via: route.target)
        } else {
            members = try world { world throws(RPCError) in try world.members(via: route.target) }
        }
        var reply = Machine_EtcdMembers()
        reply.legacyMembers = members.map(\.hostname)
        reply.members = members.map { member in
            .with {
                $0.id = member.id
                $0.hostname = member.hostname
                $0.peerUrls = member.peerURLs
                $0.clientUrls = member.clientURLs
                $0.isLearner = member.isLearner
            }
        }
        return ServerResponse(message: .with { $0.messages = [reply] })
    }

    func etcdRemoveMemberByID(
        request: ServerRequest<Machine_EtcdRemoveMemberByIDRequest>, context: ServerContext
    ) async throws -> ServerResponse<Machine_EtcdRemoveMemberByIDResponse> {
        let route = try route("EtcdRemoveMemberByID", request.metadata, context)
        if let etcd = peer.realEtcd.withLock({ $0 }) {
            try await etcd.removeMember(request.message.memberID, via: route.target)
        } else {
            try world { world throws(RPCError) in try world.removeMember(request.message.memberID, via: route.target) }
        }
        return ServerResponse(message: .with { $0.messages = [Machine_EtcdRemoveMemberByID()] })
    }

    func etcdLeaveCluster(
        request: ServerRequest<Machine_EtcdLeaveClusterRequest>, context: ServerContext
    ) async throws -> ServerResponse<Machine_EtcdLeaveClusterResponse> {
        let route = try route("EtcdLeaveCluster", request.metadata, context)
        if let etcd = peer.realEtcd.withLock({ $0 }) {
            try await etcd.leave(route.target)
        } else {
            try world { world throws(RPCError) in try world.leave(route.target) }
        }
        return ServerResponse(message: .with { $0.messages = [Machine_EtcdLeaveCluster()] })
    }

    func etcdRecover(request: StreamingServerRequest<Common_Data>, context: ServerContext) async throws -> ServerResponse<Machine_EtcdRecoverResponse> {
        let route = try route("EtcdRecover", request.metadata, context)
        var snapshot: [UInt8] = []
        for try await chunk in request.messages { snapshot += chunk.bytes }
        let received = snapshot
        if let etcd = peer.realEtcd.withLock({ $0 }) {
            try etcd.recover(received, on: route.target)
        } else {
            try world { world throws(RPCError) in try world.recover(received, on: route.target) }
        }
        return ServerResponse(message: .with { $0.messages = [Machine_EtcdRecover()] })
    }

    func etcdSnapshot(request: ServerRequest<Machine_EtcdSnapshotRequest>, context: ServerContext) async throws -> StreamingServerResponse<Common_Data> {
        let route = try route("EtcdSnapshot", request.metadata, context)
        let snapshot: [UInt8]
        if let etcd = peer.realEtcd.withLock({ $0 }) {
            snapshot = try await etcd.snapshot(from: route.target)
        } else {
            snapshot = try world { world throws(RPCError) in try world.snapshot(from: route.target) }
        }
        return StreamingServerResponse { writer in
            // 1024-byte chunks, as Talos' pkg/chunker/stream sends them.
            var offset = 0
            while offset < snapshot.count {
                var data = Common_Data()
                data.bytes = Data(snapshot[offset..<min(offset + 1024, snapshot.count)])
                try await writer.write(data)
                offset += 1024
            }
            return [:]
        }
    }

    func kubeconfig(request: ServerRequest<Google_Protobuf_Empty>, context: ServerContext) async throws -> StreamingServerResponse<Common_Data> {
        let route = try route("Kubeconfig", request.metadata, context)
        let (cluster, endpoint) = try world { world throws(RPCError) in try world.kubeconfigConfig(route.target) }
        // Generated per call with a fresh admin client certificate (pkg/kubeconfig/generate.go).
        let text = try ClientConfigs.kubeconfig(cluster: cluster, server: endpoint, secrets: peer.secrets, now: Date())
        let archive = try TalosKubeconfigArchive.unterminatedTarGz(name: "kubeconfig", contents: Array(text.utf8), modified: Int(Date().timeIntervalSince1970))
        return StreamingServerResponse { writer in
            var data = Common_Data()
            data.bytes = Data(archive)
            try await writer.write(data)
            return [:]
        }
    }

    func reboot(request: ServerRequest<Machine_RebootRequest>, context: ServerContext) async throws -> ServerResponse<Machine_RebootResponse> {
        let route = try route("Reboot", request.metadata, context)
        try world { world throws(RPCError) in try world.reboot(route.target, now: .now) }
        peer.closeConnections(of: route.target, graceful: true)
        return ServerResponse(message: .with { $0.messages = [.with { $0.actorID = UUID().uuidString.lowercased() }] })
    }

    func reset(request: ServerRequest<Machine_ResetRequest>, context: ServerContext) async throws -> ServerResponse<Machine_ResetResponse> {
        let route = try route("Reset", request.metadata, context)
        let message = request.message
        try world { world throws(RPCError) in
            try world.reset(
                route.target, graceful: message.graceful, reboot: message.reboot,
                partitions: message.systemPartitionsToWipe.filter(\.wipe).map(\.label), now: .now)
        }
        peer.closeConnections(of: route.target, graceful: true)
        return ServerResponse(message: .with { $0.messages = [.with { $0.actorID = UUID().uuidString.lowercased() }] })
    }

    func serviceList(request: ServerRequest<Google_Protobuf_Empty>, context: ServerContext) async throws -> ServerResponse<Machine_ServiceListResponse> {
        let route = try route("ServiceList", request.metadata, context)
        var services = try world { world throws(RPCError) in try world.services(route.target) }
        if let etcd = peer.realEtcd.withLock({ $0 }), let index = services.firstIndex(where: { $0.id == "etcd" }),
            let hostname = peer.world.withLock({ $0.nodes[route.target]?.hostname })
        {
            services[index] = etcd.service(route.target, hostname: hostname)
        }
        var reply = Machine_ServiceList()
        reply.services = services.map { service in
            .with {
                $0.id = service.id
                $0.state = service.state
                $0.health = .with { health in
                    health.unknown = service.healthy == nil
                    health.healthy = service.healthy ?? false
                    health.lastMessage = service.lastMessage
                }
            }
        }
        return ServerResponse(message: .with { $0.messages = [reply] })
    }

    func version(request: ServerRequest<Google_Protobuf_Empty>, context: ServerContext) async throws -> ServerResponse<Machine_VersionResponse> {
        let route = try route("Version", request.metadata, context)
        let (tag, configured) = try world { world throws(RPCError) in
            let node = try world.node(route.target)
            return (world.talosVersion, node.config != nil && !node.maintenance)
        }
        var reply = Machine_Version()
        reply.version = .with {
            $0.tag = tag
            $0.sha = "3ebd10a7c"
            $0.os = "linux"
            $0.arch = "amd64"
        }
        reply.platform = .with {
            $0.name = "metal"
            $0.mode = "metal"
        }
        // Talos fills `features` only once a config exists.
        if configured { reply.features = .with { $0.rbac = true } }
        return ServerResponse(message: .with { $0.messages = [reply] })
    }
}
