public import ClusterKit
import Foundation
public import Logging

/// Hetzner Cloud as a provider: servers cloned from a Talos snapshot, configured by user data,
/// identified by labels (``HetznerLabels``), with the cluster's network, firewall, spread
/// placement group and floating IP.
///
/// Request budget per node on `up` (see the report in the tests): `POST /servers` (1), a share of
/// the coalesced `GET /actions` rounds (``HetznerActionWaiter``), and one `GET /servers/{id}` for
/// the final addresses. Existence checks are not spent per node: a name clash answers
/// `uniqueness_error`, and only then is the existing server looked up.
public struct HetznerProvisioner: FloatingIPProvisioner {
    /// Hetzner refuses larger user data (spec, CreateServerRequest.user_data: "limited to 32KiB").
    public static let userDataLimit = 32 * 1024

    public let name: String
    public let settings: HetznerSettings
    public let client: HetznerClient
    public let waiter: HetznerActionWaiter
    public let imageBuilder: HetznerImageBuilder?
    /// Inbound rules of the firewall this provider creates; ``firewallRules(for:)`` gives what a
    /// spec's features need.
    public var firewallRules: [HetznerCreateFirewall.Rule] = HetznerProvisioner.firewallRules()
    let cache = HetznerResourceCache()
    let time: any TimeSource
    private let logger: Logger

    public var acceptsUserData: Bool { true }

    public init(
        name: String, settings: HetznerSettings, client: HetznerClient, time: any TimeSource = SystemTimeSource(),
        actionSchedule: [Duration] = HetznerActionWaiter.defaultSchedule, imageBuilder: HetznerImageBuilder? = nil,
        logger: Logger = Logger(label: "clusterctl.hetzner")
    ) {
        self.name = name
        self.settings = settings
        self.client = client
        self.time = time
        self.waiter = HetznerActionWaiter(client: client, time: time, schedule: actionSchedule)
        self.imageBuilder = imageBuilder
        self.logger = logger
    }

    /// Builds the provider over libcurl, reading the token from the spec's secret reference
    /// (`HCLOUD_TOKEN` by default) and honouring `HCLOUD_ENDPOINT` like Hetzner's `hcloud` CLI.
    public init(
        name: String, settings: HetznerSettings, environment: [String: String] = HetznerProvisioner.processEnvironment(),
        configuration: HTTPClientConfiguration = HTTPClientConfiguration(), time: any TimeSource = SystemTimeSource(),
        imageBuilder: HetznerImageBuilder? = nil, logger: Logger = Logger(label: "clusterctl.hetzner")
    ) throws {
        let token = try Self.token(settings.token, environment: environment)
        let endpoint = environment["HCLOUD_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 } ?? HetznerClient.defaultEndpoint
        let client = HetznerClient(token: token, endpoint: endpoint, configuration: configuration, time: time, logger: logger)
        self.init(name: name, settings: settings, client: client, time: time, imageBuilder: imageBuilder, logger: logger)
    }

    /// The process environment (a function so it can serve as a public default argument).
    public static func processEnvironment() -> [String: String] { ProcessInfo.processInfo.environment }

    static func token(_ reference: SecretReference, environment: [String: String]) throws -> String {
        switch reference {
        case .environment(let variable):
            guard let value = environment[variable], !value.isEmpty else {
                throw ClusterError(
                    .secrets, "the Hetzner API token is not set: environment variable \(variable) is empty",
                    hint: "export \(variable)=<token from Hetzner Console > Security > API tokens>")
            }
            let token = value.trimmingCharacters(in: .whitespacesAndNewlines)
            SecretScrubber.shared.register(token)
            return token
        case .file(let path):
            let file = URL(fileURLWithPath: NSString(string: path).expandingTildeInPath)
            return try SecureFile.readPrivate(file, what: "the Hetzner API token file").trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    // MARK: Images

    public func ensureImage(_ request: ImageRequest) async throws -> ProviderImage {
        let labels = HetznerLabels.image(request)
        let found = try await wrap("finding the Talos snapshot \(request.talosVersion)") {
            try await client.snapshots(labelSelector: HetznerLabels.selector(labels))
        }
        if let image = found.filter({ $0.status == nil || $0.status == "available" }).max(by: { $0.id < $1.id }) {
            return ProviderImage(id: String(image.id), description: image.description ?? "")
        }
        guard let imageBuilder else {
            throw ClusterError(
                .notFound,
                "\(name): no Hetzner snapshot for Talos \(request.talosVersion), schematic \(request.schematicID.prefix(12))…, \(request.architecture)",
                hint: "run `clusterctl image build <cluster> --provider \(name)` first")
        }
        return try await imageBuilder.build(request)
    }

    // MARK: Cluster resources

    public func ensureClusterResources(cluster: String) async throws {
        let labels = HetznerLabels.owned(cluster: cluster)
        if let network = settings.network { _ = try await networkID(network, labels: labels) }
        if let firewall = settings.firewall { _ = try await firewallID(firewall, labels: labels) }
        _ = try await placementGroupID(cluster: cluster)
    }

    func claim<T>(_ kind: String, _ name: String, labels found: [String: String], cluster: String, _ value: T) throws -> T {
        guard found[HetznerLabels.cluster] == cluster else {
            throw ClusterError(
                .refused, "\(self.name): \(kind) \(name) already exists and does not belong to cluster \(cluster)",
                hint: "rename the \(kind) in the spec, or add the label cluster=\(cluster) to the existing one if it is meant to be shared")
        }
        return value
    }

    func networkID(_ network: HetznerNetwork, labels: [String: String]) async throws -> Int {
        let key = "network:\(network.name)"
        if let id = await cache.id(key) { return id }
        let cluster = labels[HetznerLabels.cluster] ?? ""
        let subnet = HetznerCreateNetwork.Subnet(type: "cloud", ipRange: network.subnet.description, networkZone: network.zone)
        let id = try await wrap("ensuring network \(network.name)") {
            if let existing = try await client.networks(named: network.name).first {
                let id = try claim("network", network.name, labels: existing.labels, cluster: cluster, existing.id)
                if !existing.subnets.contains(where: { $0.ipRange == subnet.ipRange }) {
                    let action = try await client.addSubnet(networkID: id, subnet)
                    try await checkActions([action], resource: "network \(network.name)")
                }
                return id
            }
            return try await client.createNetwork(
                HetznerCreateNetwork(name: network.name, ipRange: network.ipRange.description, subnets: [subnet], labels: labels)
            ).id
        }
        await cache.setID(key, id)
        return id
    }

    /// Inbound rules: always the Talos API (apid, TCP 50000) and the Kubernetes API (TCP 6443),
    /// which clusterctl and kubectl reach from outside (Talos docs, "Network connectivity"), and
    /// ICMP. Then only what the spec's features need:
    /// - KubeSpan: UDP 51820, its WireGuard port (Talos docs, "KubeSpan: Network requirements").
    ///   Home nodes sit behind NAT, so a cloud node must accept the handshake for every
    ///   home–cloud pair; node-to-node traffic (trustd, etcd, kubelet) then runs inside the
    ///   tunnel, which the firewall does not see.
    /// - An ingress floating IP: HTTP and HTTPS (TCP 80, 443), the ingress traffic it carries.
    /// Hetzner firewalls filter public interfaces only, so private-network traffic is unaffected
    /// (Hetzner Cloud docs, "Firewalls").
    public static func firewallRules(kubeSpan: Bool = false, ingress: Bool = false) -> [HetznerCreateFirewall.Rule] {
        let anywhere = ["0.0.0.0/0", "::/0"]
        var rules: [HetznerCreateFirewall.Rule] = [
            .init(description: "Talos API", direction: "in", protocol: "tcp", port: "50000", sourceIPs: anywhere),
            .init(description: "Kubernetes API", direction: "in", protocol: "tcp", port: "6443", sourceIPs: anywhere),
            .init(description: "ICMP", direction: "in", protocol: "icmp", port: nil, sourceIPs: anywhere),
        ]
        if kubeSpan {
            rules.append(.init(description: "KubeSpan (WireGuard)", direction: "in", protocol: "udp", port: "51820", sourceIPs: anywhere))
        }
        if ingress {
            rules.append(.init(description: "Ingress HTTP", direction: "in", protocol: "tcp", port: "80", sourceIPs: anywhere))
            rules.append(.init(description: "Ingress HTTPS", direction: "in", protocol: "tcp", port: "443", sourceIPs: anywhere))
        }
        return rules
    }

    /// The rules a spec's features need on provider `provider`: KubeSpan when the spec turns it
    /// on, ingress ports when this provider holds the spec's ingress floating IP.
    public static func firewallRules(for spec: ClusterSpec, provider: String) -> [HetznerCreateFirewall.Rule] {
        firewallRules(kubeSpan: spec.network.kubeSpan, ingress: spec.failover?.ingressIP?.provider == provider)
    }

    func firewallID(_ firewall: String, labels: [String: String]) async throws -> Int {
        let key = "firewall:\(firewall)"
        if let id = await cache.id(key) { return id }
        let cluster = labels[HetznerLabels.cluster] ?? ""
        let id = try await wrap("ensuring firewall \(firewall)") {
            if let existing = try await client.firewalls(named: firewall).first {
                return try claim("firewall", firewall, labels: existing.labels, cluster: cluster, existing.id)
            }
            return try await client.createFirewall(HetznerCreateFirewall(name: firewall, labels: labels, rules: firewallRules)).id
        }
        await cache.setID(key, id)
        return id
    }

    /// One `spread` placement group per cluster for its control planes, so no two share a host
    /// (Hetzner docs, "Placement groups": at most 10 servers per spread group).
    func placementGroupID(cluster: String) async throws -> Int {
        let groupName = "\(cluster)-controlplane"
        let key = "placement:\(groupName)"
        if let id = await cache.id(key) { return id }
        let id = try await wrap("ensuring placement group \(groupName)") {
            if let existing = try await client.placementGroups(named: groupName).first {
                return try claim("placement group", groupName, labels: existing.labels, cluster: cluster, existing.id)
            }
            return try await client.createPlacementGroup(name: groupName, labels: HetznerLabels.owned(cluster: cluster)).id
        }
        await cache.setID(key, id)
        return id
    }

    public func deleteClusterResources(cluster: String) async throws {
        let selector = HetznerLabels.clusterSelector(cluster)
        var failures: [String] = []
        func sweep<Item: HetznerListable>(_ type: Item.Type, _ path: String, _ kind: String, id: (Item) -> Int) async {
            do {
                for item in try await client.list(type, path: path, labelSelector: selector) {
                    do { try await client.delete("\(path)/\(id(item))") } catch { failures.append("\(kind) \(id(item)): \(error)") }
                }
            } catch {
                failures.append("listing \(kind)s: \(error)")
            }
        }
        // Floating IPs and firewalls first: a network can only go once nothing uses it.
        await sweep(HetznerFloatingIP.self, "/floating_ips", "floating IP", id: \.id)
        await sweep(HetznerFirewall.self, "/firewalls", "firewall", id: \.id)
        await sweep(HetznerPlacementGroup.self, "/placement_groups", "placement group", id: \.id)
        await sweep(HetznerNetworkResource.self, "/networks", "network", id: \.id)
        await cache.removeAll()
        if !failures.isEmpty {
            throw ClusterError(
                .partialFailure, "\(name): could not delete every resource of cluster \(cluster):\n  " + failures.joined(separator: "\n  "),
                hint: "run `clusterctl down` again; resources still attached to servers are released when the servers are gone")
        }
    }

    // MARK: Machines

    public func listMachines(cluster: String) async throws -> [ObservedMachine] {
        let servers = try await wrap("listing servers of cluster \(cluster)") {
            try await client.servers(labelSelector: HetznerLabels.clusterSelector(cluster))
        }
        return servers.compactMap(observed)
    }

    func observed(_ server: HetznerServer) -> ObservedMachine? {
        guard let identity = HetznerLabels.identity(from: server.labels) else { return nil }
        let phase: MachinePhase =
            switch server.status {
            case "running": .running
            case "initializing", "starting", "migrating", "rebuilding": .provisioning
            case "off", "stopping": .stopped
            case "deleting": .deleting
            default: .failed
            }
        var addresses: [String] = []
        if let ipv4 = server.publicNet?.ipv4?.ip { addresses.append(ipv4) }
        addresses += (server.privateNet ?? []).map(\.ip)
        return ObservedMachine(
            providerID: String(server.id), provider: name, identity: identity, phase: phase, addresses: addresses,
            size: MachineSize(serverType: server.serverType?.name), location: server.location?.name, imageID: server.image.map { String($0.id) })
    }

    /// Refuses, before any request, what Hetzner would refuse or what could not work.
    func validate(_ request: MachineRequest) throws {
        let node = request.identity.node
        if let userData = request.userData, userData.bytes.count > Self.userDataLimit {
            throw ClusterError(
                .refused,
                "\(name): the machine config of \(node) is \(userData.bytes.count) bytes; Hetzner accepts at most \(Self.userDataLimit) bytes (32 KiB) of user data",
                hint: "shrink the config (move large inline manifests to extraManifests URLs or GitOps)")
        }
        guard request.size.serverType != nil else {
            throw ClusterError(.invalidSpec, "\(name): node \(node) has no Hetzner server type", hint: "set the pool's size to a server type such as cx22")
        }
        if !request.publicIPv4, settings.network == nil {
            throw ClusterError(
                .invalidSpec, "\(name): node \(node) has no public IPv4 and the provider has no private network, so it would be unreachable",
                hint: "add a network to the Hetzner provider or enable public IPv4 for the pool")
        }
    }

    public func createMachine(_ request: MachineRequest) async throws -> ObservedMachine {
        try validate(request)
        let identity = request.identity
        let labels = HetznerLabels.machine(identity)
        let owned = HetznerLabels.owned(cluster: identity.cluster)
        var networkID: Int?
        if let network = settings.network { networkID = try await self.networkID(network, labels: owned) }
        var firewallID: Int?
        if let firewall = settings.firewall { firewallID = try await self.firewallID(firewall, labels: owned) }
        var placementID: Int?
        if identity.role == .controlPlane { placementID = try await placementGroupID(cluster: identity.cluster) }
        let body = HetznerCreateServer(
            name: identity.node, serverType: request.size.serverType ?? "", image: request.image.id,
            location: request.location ?? settings.locations.first, startAfterCreate: true, placementGroup: placementID,
            networks: networkID.map { [$0] }, firewalls: firewallID.map { [$0] }, userData: request.userData?.text, labels: labels,
            publicNet: .init(enableIPv4: request.publicIPv4, enableIPv6: request.publicIPv4))
        do {
            let created = try await client.createServer(body)
            await cache.addPending(server: created.server.id, [created.action] + created.nextActions)
            if let machine = observed(created.server) { return machine }
            throw ClusterError(.provider, "\(name): server \(identity.node) was created without its labels")
        } catch let error as HTTPError where error.apiCode == "uniqueness_error" {
            // A retried POST whose first attempt went through, or a re-run: the name is ours.
            let existing = try await wrap("looking up server \(identity.node)") { try await client.servers(named: identity.node) }
            if let server = existing.first, let machine = observed(server), machine.identity == identity {
                logger.info("server already exists, reusing it", metadata: ["node": "\(identity.node)", "id": "\(server.id)"])
                return machine
            }
            throw failure("creating server \(identity.node)", error)
        } catch let error as HTTPError {
            throw failure("creating server \(identity.node)", error)
        }
    }

    public func waitUntilRunning(_ machine: ObservedMachine) async throws -> ObservedMachine {
        guard let id = Int(machine.providerID) else {
            throw ClusterError(.provider, "\(name): \(machine.providerID) is not a Hetzner server id")
        }
        let pending = await cache.takePending(server: id)
        try await checkActions(pending, resource: "server \(machine.identity.node)")
        var delay = Duration.seconds(1)
        let deadline = time.now + .seconds(900)
        while true {
            let server = try await wrap("reading server \(machine.identity.node)") { try await client.server(id: id) }
            guard let current = observed(server) else {
                throw ClusterError(.provider, "\(name): server \(server.name) lost its clusterctl labels")
            }
            switch server.status {
            case "running" where !current.addresses.isEmpty:
                return current
            case "off":
                let action = try await wrap("powering on \(machine.identity.node)") { try await client.serverAction(id: id, "poweron") }
                try await checkActions([action], resource: "server \(machine.identity.node)")
                continue
            case "deleting", "unknown":
                throw ClusterError(.provider, "\(name): server \(machine.identity.node) is \(server.status), not starting", hint: "delete it and run again")
            default:
                guard time.now < deadline else {
                    throw ClusterError(.timeout, "\(name): server \(machine.identity.node) still \(server.status) after 15 minutes")
                }
                try await time.sleep(for: delay)
                delay = min(delay * 2, .seconds(10))
            }
        }
    }

    public func deleteMachine(_ machine: ObservedMachine) async throws {
        guard let id = Int(machine.providerID) else { return }
        let action = try await wrap("deleting server \(machine.identity.node)") { try await client.deleteServer(id: id) }
        if let action { try await checkActions([action], resource: "server \(machine.identity.node)") }
    }

    // MARK: Power

    /// `poweron`, `poweroff` (hard), `shutdown` (ACPI), `reset` or `reboot`; waits for the action.
    public func power(_ machine: ObservedMachine, _ command: String) async throws {
        guard let id = Int(machine.providerID) else { return }
        let action = try await wrap("\(command) of server \(machine.identity.node)") { try await client.serverAction(id: id, command) }
        try await checkActions([action], resource: "server \(machine.identity.node)")
    }

    // MARK: Floating IP

    public func assignFloatingIP(named ipName: String, cluster: String, to machine: ObservedMachine) async throws -> String {
        guard let serverID = Int(machine.providerID) else {
            throw ClusterError(.provider, "\(name): \(machine.providerID) is not a Hetzner server id")
        }
        let floating = try await wrap("ensuring floating IP \(ipName)") { () async throws -> HetznerFloatingIP in
            if let existing = try await client.floatingIPs(named: ipName).first {
                return try claim("floating IP", ipName, labels: existing.labels, cluster: cluster, existing)
            }
            let home = machine.location ?? settings.locations.first ?? "fsn1"
            return try await client.createFloatingIP(name: ipName, homeLocation: home, labels: HetznerLabels.owned(cluster: cluster))
        }
        if floating.server != serverID {
            let action = try await wrap("assigning floating IP \(ipName) to \(machine.identity.node)") {
                try await client.assignFloatingIP(id: floating.id, server: serverID)
            }
            try await checkActions([action], resource: "floating IP \(ipName)")
        }
        return floating.ip
    }

    public func floatingIPTarget(named ipName: String, cluster: String) async throws -> String? {
        let floating = try await wrap("reading floating IP \(ipName)") { try await client.floatingIPs(named: ipName).first }
        guard let floating, floating.labels[HetznerLabels.cluster] == cluster else { return nil }
        return floating.server.map(String.init)
    }

    // MARK: Errors

    /// Waits for the actions and surfaces a failed one's `error.code` and `message`.
    func checkActions(_ actions: [HetznerAction], resource: String) async throws {
        guard !actions.isEmpty else { return }
        let finished = try await wrap("waiting for \(resource)") { try await waiter.wait(for: actions) }
        if let failed = finished.first(where: { $0.status == "error" }) {
            let code = failed.error?.code ?? "unknown"
            throw ClusterError(
                .provider, "\(name): \(failed.command) on \(resource) failed: \(code): \(failed.error?.message ?? "no message")",
                hint: code == "server_create_failed" || code == "resource_unavailable" ? "try another location or server type" : nil)
        }
    }

    func wrap<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as HTTPError {
            throw failure(what, error)
        }
    }

    /// The API's code and message, the resource named, and the next step.
    func failure(_ what: String, _ error: HTTPError) -> ClusterError {
        var message = "\(name): \(what) failed: "
        if let code = error.apiCode { message += "\(code): " }
        message += error.message
        for (field, messages) in error.fieldErrors.sorted(by: { $0.key < $1.key }) {
            message += "\n  field \(field): \(messages.joined(separator: "; "))"
        }
        let hint: String? =
            switch error.apiCode {
            case "uniqueness_error": "a resource with that name exists outside this cluster; rename it in the spec or delete it"
            case "resource_limit_exceeded": "the Hetzner project's limit is reached; ask Hetzner to raise it or use fewer/smaller servers"
            case "unauthorized": "check the API token (HCLOUD_TOKEN or the variable the spec names)"
            case "token_readonly": "the API token is read-only; create a Read & Write token"
            case "invalid_input": "fix the field(s) named above in the spec"
            case "resource_unavailable": "that server type is not available in this location now; pick another location or type"
            default: error.hint
            }
        let code: ClusterError.Code = error.code == .timeout ? .timeout : .provider
        // Still failing after the HTTP client's own retries; keep its class so the executor may
        // try the step again later (the one retry path, as for every backend).
        return ClusterError(code, message, hint: hint, cause: error, isTransient: error.isTransient, retryAfter: error.retryAfter)
    }
}
