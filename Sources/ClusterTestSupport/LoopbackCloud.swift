public import ClusterKit
import Foundation
import Provisioners
import Synchronization

/// The Hetzner API model, the Talos API peer and the Kubernetes API peer coupled into one world
/// that a real `clusterctl up` can bring from nothing to all nodes Ready, over real sockets:
///
/// - A server the Hetzner model creates gets a loopback address of its own (127.a.b.N, a fresh
///   127/8 subnet per world, so worlds of concurrent test runs never meet). Once it runs, its
///   apid answers on that address at port 50000: configured from its user data as Talos does on
///   Hetzner, or in maintenance mode when it has none or ignores it (``ignoreUserData(of:)``, as
///   a libvirt or Proxmox node boots).
/// - The floating IP (the API endpoint) is 127.a.b.200, where the Kubernetes API peer serves on
///   port 6443; it answers `/readyz` only once some control plane has bootstrapped etcd.
/// - A configured node whose etcd member is a voter (control planes) or whose cluster has etcd
///   (workers) registers as a Kubernetes Node, NotReady at first and Ready ``readyDelay`` later,
///   unless the test holds it back with ``holdNotReady(_:)``.
/// - A server deleted in the Hetzner model takes its Talos node down and its Kubernetes Node
///   NotReady (a kubelet that stops posting), as a machine that disappears does; so does one
///   powered off (`poweroff`), whose node comes back from its disk when it is powered on again:
///   the same config and etcd member, its Node Ready ``readyDelay`` after it boots.
///
/// The coupling runs every 50 ms on its own task until ``stop()``.
public final class LoopbackCloud: @unchecked Sendable {
    public let hetzner: HetznerCloudModel
    public let hetznerServer: HTTPLoopbackServer
    public let talos: TalosAPIPeer
    public let kubernetes: KubernetesAPIPeer
    /// `127.a.b.`: every address of this world starts with it.
    public let subnet: String
    public let readyDelay: Duration

    private struct Coupling {
        var held: Set<String> = []
        var ignoresUserData: Set<String> = []
        var readyAt: [String: ContinuousClock.Instant] = [:]
        /// The address each Kubernetes Node was registered from: a new machine with an old
        /// name registers afresh.
        var registered: [String: String] = [:]
        /// Addresses of servers powered off while their node ran: they boot again when powered on.
        var poweredOff: Set<String> = []
        var failures: [String] = []
    }

    private let coupling = Mutex(Coupling())
    private let loop = Mutex<Task<Void, Never>?>(nil)

    /// The environment that points `clusterctl` at this world's Hetzner API.
    public var environment: [String: String] { ["HCLOUD_ENDPOINT": hetznerServer.baseURL + "/v1", "HCLOUD_TOKEN": hetzner.token] }

    /// The address of the n-th server created (from 0).
    public func serverAddress(_ ordinal: Int) -> String { subnet + String(10 + ordinal) }

    /// The endpoint's floating IP.
    public var endpointAddress: String { subnet + "200" }

    /// - Parameter secrets: the bundle the Talos nodes and the Kubernetes API trust (the
    ///   cluster's own, or another one to see a client refused).
    public init(secrets: SecretsBundle, readyDelay: Duration = .milliseconds(300), timings: TalosAPIPeer.Timings = TalosAPIPeer.Timings()) throws {
        let subnet = "127.\(Int.random(in: 16...250)).\(Int.random(in: 1...250))."
        self.subnet = subnet
        self.readyDelay = readyDelay
        let hetzner = HetznerCloudModel(time: SystemTimeSource(), actionDuration: .milliseconds(200))
        hetzner.assignAddresses(servers: { subnet + String(10 + $0) }, floatingIPs: { subnet + String(200 + $0) })
        self.hetzner = hetzner
        hetznerServer = try HTTPLoopbackServer { hetzner.handle($0) }
        talos = TalosAPIPeer(secrets: secrets, timings: timings)
        kubernetes = try KubernetesAPIPeer(secrets: secrets, host: subnet + "200", port: 6443)
        kubernetes.model.setAPIReady(false)
        // Every cluster has kube-system (where the drill keeps its Lease); the model starts with no namespaces.
        kubernetes.model.objects.seed(.object(["apiVersion": "v1", "kind": "Namespace", "metadata": .object(["name": "kube-system"])]))
        let task = Task { [weak self] in
            while !Task.isCancelled {
                guard let self else { return }
                await self.couple()
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        loop.withLock { $0 = task }
    }

    /// Keeps the node's Kubernetes Node NotReady however long it runs (a kubelet that never
    /// reports ready: a broken CNI, say).
    public func holdNotReady(_ node: String) { coupling.withLock { _ = $0.held.insert(node) } }

    /// Boots this server without reading its user data, into maintenance mode, as a libvirt or
    /// Proxmox machine boots: clusterctl must apply its config over the maintenance API.
    public func ignoreUserData(of server: String) { coupling.withLock { _ = $0.ignoresUserData.insert(server) } }

    /// Lets a held node turn Ready.
    public func release(_ node: String) { coupling.withLock { _ = $0.held.remove(node) } }

    /// What the coupling could not do (a node whose apid could not start), for a test's message.
    public var failures: [String] { coupling.withLock { $0.failures } }

    /// Stops the coupling and every server of the world.
    public func stop() async {
        await loop.cancelAndWait()
        await talos.shutdown()
        kubernetes.stop()
        hetznerServer.stop()
    }

    /// One step of the coupling.
    private func couple() async {
        let servers = hetzner.servers
        let running = servers.filter { $0.status == "running" }
        for server in running {
            guard let address = server.publicIPv4 else { continue }
            if talos.hasNode(address) {
                if coupling.withLock({ $0.poweredOff.remove(address) != nil }) {
                    talos.update(address) { $0.up = true }
                    coupling.withLock { $0.readyAt[server.name] = .now + readyDelay }
                }
                continue
            }
            let ignored = coupling.withLock { $0.ignoresUserData.contains(server.name) }
            let config = ignored ? nil : server.userData.map { MachineConfigPayload($0) }
            do {
                try await talos.addNode(address: address, hostname: server.name, config: config, listenOnAddress: true)
            } catch {
                coupling.withLock { $0.failures.append("\(server.name) at \(address): \(error)") }
            }
        }
        let alive = Set(running.compactMap(\.publicIPv4))
        let gone = talos.world.withLock { world in
            world.nodes.values.filter { $0.up && !alive.contains($0.address) }.map { ($0.address, $0.hostname) }
        }
        for (address, hostname) in gone {
            talos.update(address) { $0.up = false }
            if servers.contains(where: { $0.publicIPv4 == address }) { coupling.withLock { _ = $0.poweredOff.insert(address) } }
            let registered = coupling.withLock { state -> Bool in
                guard state.registered[hostname] == address else { return false }
                state.readyAt[hostname] = nil
                return true
            }
            if registered { kubernetes.model.setNodeReady(hostname, false) }
        }
        let (joined, bootstrapped) = talos.world.withLock { world -> ([(name: String, address: String, controlPlane: Bool)], Bool) in
            world.settle(now: .now)
            let joined = world.nodes.values.filter { node in
                guard node.up, !node.maintenance, let cluster = node.config?.clusterName else { return false }
                if node.isControlPlane {
                    guard let index = node.etcdCluster else { return false }
                    return world.clusters[index].members.contains { $0.address == node.address && !$0.isLearner }
                }
                return world.clusters.contains { $0.clusterName == cluster }
            }
            return (joined.map { ($0.hostname, $0.address, $0.isControlPlane) }, !world.clusters.isEmpty)
        }
        kubernetes.model.setAPIReady(bootstrapped)
        let now = ContinuousClock.now
        for node in joined {
            let known = coupling.withLock { $0.registered[node.name] == node.address }
            if kubernetes.model.node(node.name) == nil || !known {
                // A kubelet registers its Node (again, for a new machine with an old name) NotReady.
                if kubernetes.model.node(node.name) == nil {
                    kubernetes.model.addNode(node.name, roles: node.controlPlane ? ["control-plane"] : [], ready: false)
                } else {
                    kubernetes.model.setNodeReady(node.name, false)
                }
                coupling.withLock {
                    $0.readyAt[node.name] = now + readyDelay
                    $0.registered[node.name] = node.address
                }
            }
            let due = coupling.withLock { state in
                guard let at = state.readyAt[node.name], at <= now, !state.held.contains(node.name) else { return false }
                state.readyAt[node.name] = nil
                return true
            }
            if due { kubernetes.model.setNodeReady(node.name, true) }
        }
    }

    /// A spec for this world: one Hetzner provider (token from `HCLOUD_TOKEN`) in fsn1, cx22
    /// servers, the API endpoint on the floating IP `api` held by a control plane.
    public static func spec(cluster: String, controlPlanes: Int, workers: Int) -> String {
        var pools = [
            "  - name: cp", "    role: controlplane", "    provider: hcloud", "    count: \(controlPlanes)", "    size:", "      serverType: cx22",
        ]
        if workers > 0 {
            pools += ["  - name: worker", "    role: worker", "    provider: hcloud", "    count: \(workers)", "    size:", "      serverType: cx22"]
        }
        return """
            name: \(cluster)
            talos:
              version: v1.13.9
              image: default
              installDisk: /dev/sda
            kubernetes:
              version: v1.36.0
            endpoint:
              floatingIP: api
              port: 6443
            network:
              podCIDRs: [10.244.0.0/16]
              serviceCIDRs: [10.96.0.0/12]
            providers:
              - name: hcloud
                type: hetzner
                tokenEnv: HCLOUD_TOKEN
                locations: [fsn1]
            pools:

            """ + pools.joined(separator: "\n") + """

            failover:
              ingressIP:
                name: api
                provider: hcloud
                candidatePools: [cp]

            """
    }

    /// Adds the Talos snapshot `spec`'s image request finds on Hetzner, as `clusterctl image
    /// build` leaves it.
    public func addTalosSnapshot(for spec: ClusterSpec) throws {
        let request = try spec.imageRequest(forProvider: "hcloud")
        hetzner.addSnapshot(description: "Talos \(spec.talos.version)", labels: HetznerLabels.image(request))
    }
}
