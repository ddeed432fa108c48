public import ClusterKit
import Foundation
import Synchronization

/// A stateful in-memory model of the Hetzner Cloud API, served over loopback HTTP by
/// ``HTTPLoopbackServer``: servers, actions that finish after a delay on the injected clock,
/// pagination (`meta.pagination`), label selectors, errors with the documented codes, rate
/// limiting with `RateLimit-*` headers and 429, and injectable faults.
///
/// Shapes follow ../shared/reference/hetzner/cloud.spec.json; the tests validate the recorded
/// traffic against it.
public final class HetznerCloudModel: Sendable {
    struct State {
        var nextID = 1000
        var servers: [Int: HetznerModelServer] = [:]
        var actions: [Int: HetznerModelAction] = [:]
        var images: [Int: HetznerModelImage] = [:]
        var networks: [Int: HetznerModelResource] = [:]
        var firewalls: [Int: HetznerModelResource] = [:]
        var placementGroups: [Int: HetznerModelResource] = [:]
        var floatingIPs: [Int: HetznerModelResource] = [:]
        var sshKeys: [Int: HetznerModelResource] = [:]
        var faults: [(fault: HetznerFault, method: String?, path: String?, remaining: Int)] = []
        var actionFailures: [String: (code: String, message: String)] = [:]
        var requests: [HetznerRecordedRequest] = []
        var rateRemaining: Double
        var rateUpdated: Duration = .zero
        var serverLimit = 100
        /// Addresses handed out by ordinal (the first server created is 0); nil keeps the
        /// documentation ranges (203.0.113.x, 198.51.100.x).
        var serverAddress: (@Sendable (Int) -> String)?
        var floatingAddress: (@Sendable (Int) -> String)?
        var serversCreated = 0
        var floatingIPsCreated = 0
    }

    public let token: String
    public let rateLimit: Int
    public let actionDuration: Duration
    /// UNIX time of the model's clock origin, for `RateLimit-Reset` and `created` stamps.
    public let epoch: Double
    private let time: any TimeSource
    private let state: Mutex<State>

    public static let serverTypes: [String: (id: Int, cores: Int, memory: Double, disk: Int, arch: String)] = [
        "cx22": (104, 2, 4, 40, "x86"), "cx32": (105, 4, 8, 80, "x86"), "cx42": (106, 8, 16, 160, "x86"),
        "cax11": (45, 2, 4, 40, "arm"), "cax21": (93, 4, 8, 80, "arm"), "cpx11": (22, 2, 2, 40, "x86"),
    ]
    public static let locations: [String: (id: Int, zone: String, city: String, country: String)] = [
        "fsn1": (1, "eu-central", "Falkenstein", "DE"), "nbg1": (2, "eu-central", "Nuremberg", "DE"),
        "hel1": (3, "eu-central", "Helsinki", "FI"), "ash": (4, "us-east", "Ashburn, VA", "US"),
    ]
    /// The system image the image builder boots before rescue mode.
    public static let debianImageID = 114_690_387

    public init(token: String = "model-token", time: any TimeSource, rateLimit: Int = 3600, actionDuration: Duration = .seconds(8)) {
        self.token = token
        self.time = time
        self.rateLimit = rateLimit
        self.actionDuration = actionDuration
        self.epoch = 1_767_225_600  // 2026-01-01T00:00:00Z
        var initial = State(rateRemaining: Double(rateLimit))
        initial.images[Self.debianImageID] = HetznerModelImage(
            id: Self.debianImageID, type: "system", status: "available", name: "debian-12", description: "Debian 12", labels: [:],
            architecture: "x86", created: .zero)
        state = Mutex(initial)
    }

    /// Seconds since 1970 on the model's clock; give it to the client's `HTTPClient.wallClock`.
    public var wallClock: @Sendable () -> Double {
        let time = time
        let epoch = epoch
        return { epoch + Self.seconds(time.now) }
    }

    // MARK: Test controls

    /// Injects `fault` into the next `count` requests matching the method and path prefix.
    public func inject(_ fault: HetznerFault, count: Int = 1, method: String? = nil, path: String? = nil) {
        state.withLock { $0.faults.append((fault, method, path, count)) }
    }

    /// Makes the next action with this command end in `error` with the code and message.
    public func failNextAction(command: String, code: String, message: String) {
        state.withLock { $0.actionFailures[command] = (code, message) }
    }

    public func setServerLimit(_ limit: Int) { state.withLock { $0.serverLimit = limit } }

    /// Hands out the public IPv4 of the n-th server created (from 0) as `servers(n)` and of the
    /// n-th floating IP as `floatingIPs(n)`, say loopback addresses where peers listen for them.
    public func assignAddresses(servers: @escaping @Sendable (Int) -> String, floatingIPs: @escaping @Sendable (Int) -> String) {
        state.withLock {
            $0.serverAddress = servers
            $0.floatingAddress = floatingIPs
        }
    }

    /// Adds a snapshot, as if built earlier; returns its id.
    @discardableResult
    public func addSnapshot(description: String, labels: [String: String], architecture: String = "x86") -> Int {
        let now = time.now
        return state.withLock { state in
            let id = Self.allocate(&state)
            state.images[id] = HetznerModelImage(
                id: id, type: "snapshot", status: "available", name: nil, description: description, labels: labels,
                architecture: architecture, created: now)
            return id
        }
    }

    /// Adds a server directly (say, one made by hand outside clusterctl).
    @discardableResult
    public func addServer(name: String, labels: [String: String], status: String = "running") -> Int {
        let now = time.now
        return state.withLock { state in
            let id = Self.allocate(&state)
            state.servers[id] = HetznerModelServer(
                id: id, name: name, status: status, labels: labels, serverType: "cx22", location: "fsn1", imageID: Self.debianImageID,
                publicIPv4: "203.0.113.\(id % 250)", publicIPv6: nil, privateNet: [], rescueEnabled: false, placementGroup: nil,
                firewalls: [], userData: nil, created: now)
            return id
        }
    }

    public var requests: [HetznerRecordedRequest] { state.withLock { $0.requests } }
    public var servers: [HetznerModelServer] { state.withLock { $0.servers.values.sorted { $0.id < $1.id } } }
    public var snapshotCount: Int { state.withLock { $0.images.values.filter { $0.type == "snapshot" }.count } }
    public var sshKeyCount: Int { state.withLock { $0.sshKeys.count } }

    /// Names of the networks, firewalls, placement groups and floating IPs that exist.
    public var resourceNames: [String] {
        state.withLock { state in
            (state.networks.values.map { "network:\($0.name)" } + state.firewalls.values.map { "firewall:\($0.name)" }
                + state.placementGroups.values.map { "placement_group:\($0.name)" }
                + state.floatingIPs.values.map { "floating_ip:\($0.name)" }).sorted()
        }
    }

    /// Server id holding the named floating IP.
    public func floatingIPServer(_ name: String) -> Int? {
        state.withLock { $0.floatingIPs.values.first { $0.name == name }?.server }
    }

    // MARK: Serving

    public func handle(_ request: HTTPLoopbackRequest) -> HTTPLoopbackReply {
        let now = time.now
        return state.withLock { state in
            var reply = respond(request, now: now, state: &state)
            if case .response(let status, var headers, let body) = reply {
                for (name, value) in rateHeaders(state: state, now: now) where headers[name] == nil { headers[name] = value }
                reply = .response(status: status, headers: headers, body: body)
                state.requests.append(
                    HetznerRecordedRequest(
                        method: request.method, path: request.path, query: request.query.map { [$0.name, $0.value] },
                        body: request.body.isEmpty ? nil : String(decoding: request.body, as: UTF8.self), status: status,
                        response: String(decoding: body, as: UTF8.self)))
            } else {
                state.requests.append(
                    HetznerRecordedRequest(
                        method: request.method, path: request.path, query: request.query.map { [$0.name, $0.value] },
                        body: request.body.isEmpty ? nil : String(decoding: request.body, as: UTF8.self), status: 0, response: ""))
            }
            return reply
        }
    }

    private func respond(_ request: HTTPLoopbackRequest, now: Duration, state: inout State) -> HTTPLoopbackReply {
        settle(&state, now: now)
        var commitThen: Int?
        if let index = state.faults.firstIndex(where: { fault in
            (fault.method == nil || fault.method == request.method) && (fault.path.map { request.path.hasPrefix($0) } ?? true)
        }) {
            let fault = state.faults[index].fault
            state.faults[index].remaining -= 1
            if state.faults[index].remaining <= 0 { state.faults.remove(at: index) }
            switch fault {
            case .status(let status, let code):
                return error(status, code, "injected fault")
            case .rateLimited:
                return error(429, "rate_limit_exceeded", "limit of \(rateLimit) requests per hour reached", headers: ["RateLimit-Remaining": "0"])
            case .dropConnection:
                return .dropConnection
            case .commitThenStatus(let status):
                commitThen = status
            }
        }
        // Token bucket: the remaining count grows by limit/3600 per second (spec: "Rate Limiting").
        let elapsed = Self.seconds(now - state.rateUpdated)
        state.rateRemaining = min(Double(rateLimit), state.rateRemaining + elapsed * Double(rateLimit) / 3600)
        state.rateUpdated = now
        guard state.rateRemaining >= 1 else {
            return error(429, "rate_limit_exceeded", "limit of \(rateLimit) requests per hour reached")
        }
        state.rateRemaining -= 1
        guard request.headers["authorization"] == "Bearer \(token)" else {
            return error(401, "unauthorized", "unable to authenticate")
        }
        let reply = route(request, now: now, state: &state)
        if let commitThen { return error(commitThen, "unavailable", "injected fault after the change was made") }
        return reply
    }

    private func rateHeaders(state: State, now: Duration) -> [String: String] {
        let remaining = max(0, Int(state.rateRemaining))
        let toFull = (Double(rateLimit) - state.rateRemaining) * 3600 / Double(rateLimit)
        return [
            "RateLimit-Limit": String(rateLimit), "RateLimit-Remaining": String(remaining),
            "RateLimit-Reset": String(Int((epoch + Self.seconds(now) + toFull).rounded(.up))),
        ]
    }

    // MARK: Routing

    private func route(_ request: HTTPLoopbackRequest, now: Duration, state: inout State) -> HTTPLoopbackReply {
        let parts = request.path.split(separator: "/").map(String.init)
        guard parts.first == "v1" else { return error(404, "not_found", "no such endpoint") }
        let path = Array(parts.dropFirst())
        let body = (try? JSONSerialization.jsonObject(with: Data(request.body))) as? [String: Any] ?? [:]
        if !request.body.isEmpty, (try? JSONSerialization.jsonObject(with: Data(request.body))) == nil {
            return error(400, "json_error", "invalid JSON input")
        }
        switch (request.method, path.count, path.first ?? "") {
        case ("GET", 1, "servers"):
            return list(request, key: "servers", items: state.servers.values.sorted { $0.id < $1.id }, labels: \.labels, name: \.name) {
                serverJSON($0, state)
            }
        case ("POST", 1, "servers"):
            return createServer(body, now: now, state: &state)
        case ("GET", 2, "servers"):
            guard let id = Int(path[1]), let server = state.servers[id] else { return error(404, "not_found", "server not found") }
            return json(200, ["server": serverJSON(server, state)])
        case ("DELETE", 2, "servers"):
            guard let id = Int(path[1]), state.servers[id] != nil else { return error(404, "not_found", "server not found") }
            state.servers[id]?.status = "deleting"
            let action = startAction(&state, "delete_server", now: now, resources: [(id, "server")], effect: .deleteServer(id))
            return json(200, ["action": actionJSON(action, now)])
        case ("POST", 4, "servers") where path[2] == "actions":
            guard let id = Int(path[1]), state.servers[id] != nil else { return error(404, "not_found", "server not found") }
            return serverAction(id, path[3], body, now: now, state: &state)
        case ("GET", 1, "actions"):
            let ids = request.queryValues("id").compactMap(Int.init)
            guard !ids.isEmpty else { return error(400, "invalid_input", "id is required", fields: ["id": ["is required"]]) }
            let actions = ids.compactMap { state.actions[$0] }
            return json(200, ["actions": actions.map { actionJSON($0, now) }, "meta": pagination(page: 1, perPage: 25, total: actions.count)])
        case ("GET", 1, "images"):
            let type = request.queryValue("type")
            let images = state.images.values.filter { type == nil || $0.type == type }.sorted { $0.id < $1.id }
            return list(request, key: "images", items: images, labels: \.labels, name: { $0.name ?? "" }) { imageJSON($0) }
        case ("GET", 1, "networks"):
            return listResources(request, "networks", state.networks) { networkJSON($0, state) }
        case ("POST", 1, "networks"):
            return createNetwork(body, now: now, state: &state)
        case ("POST", 4, "networks") where path[2] == "actions" && path[3] == "add_subnet":
            guard let id = Int(path[1]), state.networks[id] != nil else { return error(404, "not_found", "network not found") }
            guard let range = body["ip_range"] as? String, let zone = body["network_zone"] as? String else {
                return error(422, "invalid_input", "invalid input", fields: ["ip_range": ["is required"]])
            }
            state.networks[id]?.subnets.append((range, zone))
            let action = startAction(&state, "add_subnet", now: now, resources: [(id, "network")], effect: .none)
            return json(201, ["action": actionJSON(action, now)])
        case ("GET", 1, "firewalls"):
            return listResources(request, "firewalls", state.firewalls) { firewallJSON($0, state) }
        case ("POST", 1, "firewalls"):
            return createFirewall(body, now: now, state: &state)
        case ("GET", 1, "placement_groups"):
            return listResources(request, "placement_groups", state.placementGroups) { placementJSON($0, state) }
        case ("POST", 1, "placement_groups"):
            guard let name = body["name"] as? String, body["type"] as? String == "spread" else {
                return error(422, "invalid_input", "invalid input", fields: ["type": ["must be spread"]])
            }
            if state.placementGroups.values.contains(where: { $0.name == name }) { return uniqueness("name") }
            var group = HetznerModelResource(id: Self.allocate(&state), name: name, labels: body["labels"] as? [String: String] ?? [:], created: now)
            group.detail = "spread"
            state.placementGroups[group.id] = group
            return json(201, ["placement_group": placementJSON(group, state)])
        case ("GET", 1, "floating_ips"):
            return listResources(request, "floating_ips", state.floatingIPs) { floatingJSON($0) }
        case ("POST", 1, "floating_ips"):
            guard let name = body["name"] as? String, body["type"] as? String == "ipv4" else {
                return error(422, "invalid_input", "invalid input", fields: ["type": ["is required"]])
            }
            if state.floatingIPs.values.contains(where: { $0.name == name }) { return uniqueness("name") }
            var ip = HetznerModelResource(id: Self.allocate(&state), name: name, labels: body["labels"] as? [String: String] ?? [:], created: now)
            ip.detail = state.floatingAddress?(state.floatingIPsCreated) ?? "198.51.100.\(ip.id % 250)"
            state.floatingIPsCreated += 1
            ip.homeLocation = body["home_location"] as? String ?? "fsn1"
            state.floatingIPs[ip.id] = ip
            return json(201, ["floating_ip": floatingJSON(ip), "action": NSNull()])
        case ("POST", 4, "floating_ips") where path[2] == "actions" && path[3] == "assign":
            guard let id = Int(path[1]), state.floatingIPs[id] != nil else { return error(404, "not_found", "floating IP not found") }
            guard let server = body["server"] as? Int, state.servers[server] != nil else {
                return error(422, "invalid_input", "invalid input", fields: ["server": ["server not found"]])
            }
            state.floatingIPs[id]?.server = server
            let action = startAction(&state, "assign_floating_ip", now: now, resources: [(id, "floating_ip"), (server, "server")], effect: .none)
            return json(201, ["action": actionJSON(action, now)])
        case ("POST", 1, "ssh_keys"):
            guard let name = body["name"] as? String, let key = body["public_key"] as? String else {
                return error(422, "invalid_input", "invalid input", fields: ["public_key": ["is required"]])
            }
            if state.sshKeys.values.contains(where: { $0.name == name }) { return uniqueness("name") }
            var sshKey = HetznerModelResource(id: Self.allocate(&state), name: name, labels: body["labels"] as? [String: String] ?? [:], created: now)
            sshKey.detail = key
            state.sshKeys[sshKey.id] = sshKey
            return json(
                201,
                [
                    "ssh_key": [
                        "id": sshKey.id, "name": name, "fingerprint": "b7:2f:30:a0:2f:6c:58:6c:21:04:58:61:ba:06:3b:2f", "public_key": key,
                        "labels": sshKey.labels, "created": stamp(now),
                    ] as [String: Any]
                ])
        case ("DELETE", 2, let kind):
            guard let id = Int(path[1]) else { return error(404, "not_found", "not found") }
            return deleteResource(kind, id, state: &state)
        default:
            return error(404, "not_found", "no such endpoint \(request.method) \(request.path)")
        }
    }

    private func deleteResource(_ kind: String, _ id: Int, state: inout State) -> HTTPLoopbackReply {
        switch kind {
        case "networks":
            guard state.networks.removeValue(forKey: id) != nil else { return error(404, "not_found", "network not found") }
        case "firewalls":
            guard state.firewalls[id] != nil else { return error(404, "not_found", "firewall not found") }
            if state.servers.values.contains(where: { $0.firewalls.contains(id) }) {
                return error(422, "resource_in_use", "firewall is still applied to servers")
            }
            state.firewalls[id] = nil
        case "placement_groups":
            guard state.placementGroups.removeValue(forKey: id) != nil else { return error(404, "not_found", "placement group not found") }
        case "floating_ips":
            guard state.floatingIPs.removeValue(forKey: id) != nil else { return error(404, "not_found", "floating IP not found") }
        case "ssh_keys":
            guard state.sshKeys.removeValue(forKey: id) != nil else { return error(404, "not_found", "SSH key not found") }
        default:
            return error(404, "not_found", "no such endpoint")
        }
        return .response(status: 204, headers: [:], body: [])
    }

    // MARK: Servers

    private func createServer(_ body: [String: Any], now: Duration, state: inout State) -> HTTPLoopbackReply {
        var fields: [String: [String]] = [:]
        let name = body["name"] as? String ?? ""
        if name.isEmpty { fields["name"] = ["is required"] }
        let type = body["server_type"] as? String ?? ""
        if Self.serverTypes[type] == nil { fields["server_type"] = ["server type \(type) not found"] }
        let imageText = body["image"] as? String ?? ""
        let image = Int(imageText).flatMap { state.images[$0] } ?? state.images.values.first { $0.name == imageText }
        if image == nil { fields["image"] = ["image \(imageText) not found"] }
        let location = body["location"] as? String ?? "fsn1"
        if Self.locations[location] == nil { fields["location"] = ["location \(location) not found"] }
        let userData = body["user_data"] as? String
        if let userData, userData.utf8.count > 32 * 1024 { fields["user_data"] = ["is too long"] }
        let networks = body["networks"] as? [Int] ?? []
        for network in networks where state.networks[network] == nil { fields["networks", default: []].append("network \(network) not found") }
        let firewalls = (body["firewalls"] as? [[String: Any]] ?? []).compactMap { $0["firewall"] as? Int }
        for firewall in firewalls where state.firewalls[firewall] == nil { fields["firewalls", default: []].append("firewall \(firewall) not found") }
        let placement = body["placement_group"] as? Int
        if let placement, state.placementGroups[placement] == nil { fields["placement_group"] = ["placement group not found"] }
        guard fields.isEmpty else {
            let first = fields.keys.sorted()[0]
            return error(422, "invalid_input", "invalid input in field '\(first)'", fields: fields)
        }
        if state.servers.values.contains(where: { $0.name == name }) { return uniqueness("name") }
        guard state.servers.count < state.serverLimit else {
            return error(403, "resource_limit_exceeded", "server limit exceeded", fields: [:])
        }
        let publicNet = body["public_net"] as? [String: Any]
        let ipv4 = publicNet?["enable_ipv4"] as? Bool ?? true
        let ipv6 = publicNet?["enable_ipv6"] as? Bool ?? true
        let start = body["start_after_create"] as? Bool ?? true
        let id = Self.allocate(&state)
        let server = HetznerModelServer(
            id: id, name: name, status: "initializing", labels: body["labels"] as? [String: String] ?? [:], serverType: type,
            location: location, imageID: image?.id, publicIPv4: ipv4 ? (state.serverAddress?(state.serversCreated) ?? "203.0.113.\(id % 250)") : nil,
            publicIPv6: ipv6 ? "2001:db8:\(String(id, radix: 16))::/64" : nil, privateNet: [], rescueEnabled: false, placementGroup: placement,
            firewalls: firewalls, userData: userData, created: now)
        state.servers[id] = server
        if ipv4 { state.serversCreated += 1 }
        let create = startAction(&state, "create_server", now: now, resources: [(id, "server")], effect: .serverStatus(id, start ? "running" : "off"))
        var next: [HetznerModelAction] = []
        for network in networks {
            let subnet = state.networks[network]?.subnets.first?.ipRange ?? "10.0.0.0/24"
            let prefix = subnet.split(separator: ".").prefix(3).joined(separator: ".")
            let ip = "\(prefix).\(2 + state.servers.values.filter { !$0.privateNet.isEmpty || $0.id == id }.count)"
            next.append(
                startAction(&state, "attach_to_network", now: now, resources: [(id, "server"), (network, "network")],
                    effect: .attachNetwork(server: id, network: network, ip: ip)))
        }
        return json(
            201,
            [
                "server": serverJSON(server, state), "action": actionJSON(create, now), "next_actions": next.map { actionJSON($0, now) },
                "root_password": NSNull(),
            ])
    }

    private func serverAction(_ id: Int, _ command: String, _ body: [String: Any], now: Duration, state: inout State) -> HTTPLoopbackReply {
        let resources = [(id: id, type: "server")]
        if state.actions.values.contains(where: { $0.status(at: now) == "running" && $0.resources.contains { $0.id == id && $0.type == "server" } }) {
            return error(423, "locked", "server \(id) is locked by a running action")
        }
        switch command {
        case "poweron", "poweroff", "shutdown", "reset", "reboot":
            return powerAction(id, command, now: now, state: &state)
        case "enable_rescue":
            let keys = body["ssh_keys"] as? [Int] ?? []
            if let missing = keys.first(where: { state.sshKeys[$0] == nil }) {
                return error(422, "invalid_input", "invalid input", fields: ["ssh_keys": ["SSH key \(missing) not found"]])
            }
            let action = startAction(&state, "enable_rescue", now: now, resources: resources, effect: .enableRescue(id))
            return json(201, ["action": actionJSON(action, now), "root_password": "model-rescue-password"])
        case "create_image":
            guard let server = state.servers[id] else { return error(404, "not_found", "server not found") }
            let imageID = Self.allocate(&state)
            let image = HetznerModelImage(
                id: imageID, type: "snapshot", status: "creating", name: nil, description: body["description"] as? String ?? "",
                labels: body["labels"] as? [String: String] ?? [:], architecture: Self.serverTypes[server.serverType]?.arch ?? "x86",
                created: now, createdFrom: id)
            state.images[imageID] = image
            let action = startAction(&state, "create_image", now: now, resources: resources + [(imageID, "image")], effect: .imageAvailable(imageID))
            return json(201, ["image": imageJSON(image), "action": actionJSON(action, now)])
        default:
            return error(404, "not_found", "no such action \(command)")
        }
    }

    // MARK: Actions

    func startAction(
        _ state: inout State, _ command: String, now: Duration, resources: [(id: Int, type: String)], effect: HetznerModelAction.Effect
    ) -> HetznerModelAction {
        let action = HetznerModelAction(
            id: Self.allocate(&state), command: command, started: now, duration: actionDuration, resources: resources, effect: effect,
            failure: state.actionFailures.removeValue(forKey: command))
        state.actions[action.id] = action
        return action
    }

    /// Applies the effects of actions that have finished by `now`.
    private func settle(_ state: inout State, now: Duration) {
        for id in state.actions.keys.sorted() {
            guard var action = state.actions[id], !action.applied, action.status(at: now) != "running" else { continue }
            action.applied = true
            state.actions[id] = action
            if action.failure != nil {
                if case .serverStatus(let server, _) = action.effect { Self.failedPowerAction(action.command, server: server, state: &state) }
                continue
            }
            switch action.effect {
            case .none: break
            case .serverStatus(let server, let status):
                state.servers[server]?.status = status
                if status == "off" { state.servers[server]?.rescueEnabled = false }
            case .attachNetwork(let server, let network, let ip): state.servers[server]?.privateNet.append((network, ip))
            case .enableRescue(let server): state.servers[server]?.rescueEnabled = true
            case .deleteServer(let server): state.servers[server] = nil
            case .imageAvailable(let image): state.images[image]?.status = "available"
            }
        }
    }

    // MARK: Lists

    private func list<Item>(
        _ request: HTTPLoopbackRequest, key: String, items: [Item], labels: (Item) -> [String: String], name: (Item) -> String,
        render: (Item) -> [String: Any]
    ) -> HTTPLoopbackReply {
        var items = items
        if let selectorText = request.queryValue("label_selector") {
            guard let selector = HetznerLabelSelector(selectorText) else {
                return error(400, "invalid_input", "label_selector is invalid", fields: ["label_selector": ["is invalid"]])
            }
            items = items.filter { selector.matches(labels($0)) }
        }
        if let wanted = request.queryValue("name") { items = items.filter { name($0) == wanted } }
        let perPage = min(50, max(1, Int(request.queryValue("per_page") ?? "25") ?? 25))
        let page = max(1, Int(request.queryValue("page") ?? "1") ?? 1)
        let slice = items.dropFirst((page - 1) * perPage).prefix(perPage)
        return json(200, [key: slice.map(render), "meta": pagination(page: page, perPage: perPage, total: items.count)])
    }

    private func listResources(
        _ request: HTTPLoopbackRequest, _ key: String, _ resources: [Int: HetznerModelResource], render: (HetznerModelResource) -> [String: Any]
    ) -> HTTPLoopbackReply {
        list(request, key: key, items: resources.values.sorted { $0.id < $1.id }, labels: \.labels, name: \.name, render: render)
    }

    private func pagination(page: Int, perPage: Int, total: Int) -> [String: Any] {
        let last = max(1, (total + perPage - 1) / perPage)
        return [
            "pagination": [
                "page": page, "per_page": perPage, "previous_page": page > 1 ? page - 1 : NSNull(),
                "next_page": page < last ? page + 1 : NSNull(), "last_page": last, "total_entries": total,
            ] as [String: Any]
        ]
    }

    // MARK: Resources

    private func createNetwork(_ body: [String: Any], now: Duration, state: inout State) -> HTTPLoopbackReply {
        guard let name = body["name"] as? String, let range = body["ip_range"] as? String else {
            return error(422, "invalid_input", "invalid input", fields: ["ip_range": ["is required"]])
        }
        if state.networks.values.contains(where: { $0.name == name }) { return uniqueness("name") }
        var network = HetznerModelResource(id: Self.allocate(&state), name: name, labels: body["labels"] as? [String: String] ?? [:], created: now)
        network.detail = range
        for subnet in body["subnets"] as? [[String: Any]] ?? [] {
            network.subnets.append((subnet["ip_range"] as? String ?? "", subnet["network_zone"] as? String ?? ""))
        }
        state.networks[network.id] = network
        return json(201, ["network": networkJSON(network, state)])
    }

    private func createFirewall(_ body: [String: Any], now: Duration, state: inout State) -> HTTPLoopbackReply {
        guard let name = body["name"] as? String else { return error(422, "invalid_input", "invalid input", fields: ["name": ["is required"]]) }
        if state.firewalls.values.contains(where: { $0.name == name }) { return uniqueness("name") }
        var firewall = HetznerModelResource(id: Self.allocate(&state), name: name, labels: body["labels"] as? [String: String] ?? [:], created: now)
        for rule in body["rules"] as? [[String: Any]] ?? [] {
            firewall.rules.append(
                (rule["direction"] as? String ?? "in", rule["protocol"] as? String ?? "tcp", rule["port"] as? String,
                    rule["source_ips"] as? [String] ?? [], rule["description"] as? String))
        }
        state.firewalls[firewall.id] = firewall
        return json(201, ["firewall": firewallJSON(firewall, state), "actions": [Any]()])
    }

    // MARK: Rendering (shapes from cloud.spec.json)

    private func serverJSON(_ server: HetznerModelServer, _ state: State) -> [String: Any] {
        let type = Self.serverTypes[server.serverType] ?? (1, 1, 1, 10, "x86")
        let price: [String: Any] = [
            "location": server.location, "price_hourly": ["net": "0.0060", "gross": "0.0071"], "price_monthly": ["net": "3.79", "gross": "4.51"],
            "included_traffic": 21_990_232_555_520, "price_per_tb_traffic": ["net": "1.00", "gross": "1.19"],
        ]
        let serverType: [String: Any] = [
            "id": type.id, "name": server.serverType, "description": server.serverType.uppercased(), "cores": type.cores, "memory": type.memory,
            "disk": type.disk, "deprecated": false, "prices": [price], "storage_type": "local", "cpu_type": "shared",
            "architecture": type.arch,
            "locations": [["id": Self.locations[server.location]?.id ?? 1, "name": server.location, "deprecation": NSNull(), "recommended": true, "available": true] as [String: Any]],
        ]
        let ipv4: Any = server.publicIPv4.map { ["id": server.id, "ip": $0, "blocked": false, "dns_ptr": "static.example.com"] as [String: Any] } ?? NSNull()
        let ipv6: Any = server.publicIPv6.map { ["id": server.id + 1, "ip": $0, "blocked": false, "dns_ptr": [Any]()] as [String: Any] } ?? NSNull()
        return [
            "id": server.id, "name": server.name, "status": server.status, "created": stamp(server.created),
            "public_net": ["ipv4": ipv4, "ipv6": ipv6, "floating_ips": state.floatingIPs.values.filter { $0.server == server.id }.map(\.id), "firewalls": server.firewalls.map { ["id": $0, "status": "applied"] }] as [String: Any],
            "private_net": server.privateNet.map { ["network": $0.network, "ip": $0.ip, "alias_ips": [String](), "mac_address": "86:00:00:2a:7d:e0"] as [String: Any] },
            "server_type": serverType, "location": locationJSON(server.location),
            "image": server.imageID.flatMap { state.images[$0] }.map(imageJSON) ?? NSNull(), "iso": NSNull(), "rescue_enabled": server.rescueEnabled,
            "locked": false, "backup_window": NSNull(), "outgoing_traffic": 0, "ingoing_traffic": 0, "included_traffic": 21_990_232_555_520,
            "protection": ["delete": false, "rebuild": false], "labels": server.labels, "primary_disk_size": type.disk,
            "placement_group": server.placementGroup.flatMap { state.placementGroups[$0] }.map { placementJSON($0, state) } ?? NSNull(),
            "volumes": [Int](), "load_balancers": [Int](),
        ]
    }

    private func locationJSON(_ name: String) -> [String: Any] {
        let location = Self.locations[name] ?? (1, "eu-central", "Falkenstein", "DE")
        return [
            "id": location.id, "name": name, "description": "\(location.city) DC", "country": location.country, "city": location.city,
            "latitude": 50.47612, "longitude": 12.370071, "network_zone": location.zone,
        ]
    }

    private func imageJSON(_ image: HetznerModelImage) -> [String: Any] {
        [
            "id": image.id, "type": image.type, "status": image.status, "name": image.name ?? NSNull(), "description": image.description,
            "image_size": image.type == "snapshot" ? 0.42 : NSNull(), "disk_size": 40, "created": stamp(image.created),
            "created_from": image.createdFrom.map { ["id": $0, "name": "server-\($0)"] as [String: Any] } ?? NSNull(), "bound_to": NSNull(),
            "os_flavor": image.type == "system" ? "debian" : "unknown", "os_version": image.type == "system" ? "12" : NSNull(),
            "protection": ["delete": false], "deprecated": NSNull(), "deleted": NSNull(), "labels": image.labels,
            "architecture": image.architecture, "rapid_deploy": false,
        ]
    }

    func actionJSON(_ action: HetznerModelAction, _ now: Duration) -> [String: Any] {
        let status = action.status(at: now)
        let progress = status == "running" ? min(99, Int(Self.seconds(now - action.started) / Self.seconds(action.duration) * 100)) : 100
        let error: Any = status == "error" ? ["code": action.failure?.code ?? "action_failed", "message": action.failure?.message ?? "failed"] : NSNull()
        return [
            "id": action.id, "command": action.command, "status": status, "progress": progress, "started": stamp(action.started),
            "finished": status == "running" ? NSNull() : stamp(action.started + action.duration),
            "resources": action.resources.map { ["id": $0.id, "type": $0.type] as [String: Any] }, "error": error,
        ]
    }

    private func networkJSON(_ network: HetznerModelResource, _ state: State) -> [String: Any] {
        [
            "id": network.id, "name": network.name, "ip_range": network.detail,
            "subnets": network.subnets.map { subnet in
                ["type": "cloud", "ip_range": subnet.ipRange, "network_zone": subnet.zone, "gateway": subnet.ipRange.split(separator: ".").prefix(3).joined(separator: ".") + ".1"]
                    as [String: Any]
            },
            "routes": [Any](), "servers": state.servers.values.filter { $0.privateNet.contains { $0.network == network.id } }.map(\.id),
            "protection": ["delete": false], "labels": network.labels, "created": stamp(network.created), "expose_routes_to_vswitch": false,
            "load_balancers": [Int](),
        ]
    }

    private func firewallJSON(_ firewall: HetznerModelResource, _ state: State) -> [String: Any] {
        [
            "id": firewall.id, "name": firewall.name, "labels": firewall.labels, "created": stamp(firewall.created),
            "rules": firewall.rules.map { rule in
                [
                    "direction": rule.direction, "protocol": rule.proto, "port": rule.port ?? NSNull(), "source_ips": rule.sourceIPs,
                    "destination_ips": [String](), "description": rule.description ?? NSNull(),
                ] as [String: Any]
            },
            "applied_to": state.servers.values.filter { $0.firewalls.contains(firewall.id) }.map {
                ["type": "server", "server": ["id": $0.id]] as [String: Any]
            },
        ]
    }

    private func placementJSON(_ group: HetznerModelResource, _ state: State) -> [String: Any] {
        [
            "id": group.id, "name": group.name, "labels": group.labels, "type": "spread", "created": stamp(group.created),
            "servers": state.servers.values.filter { $0.placementGroup == group.id }.map(\.id).sorted(),
        ]
    }

    private func floatingJSON(_ ip: HetznerModelResource) -> [String: Any] {
        [
            "id": ip.id, "name": ip.name, "description": NSNull(), "ip": ip.detail, "type": "ipv4", "server": ip.server ?? NSNull(),
            "dns_ptr": [["ip": ip.detail, "dns_ptr": "static.example.com"]], "home_location": locationJSON(ip.homeLocation), "blocked": false,
            "protection": ["delete": false], "labels": ip.labels, "created": stamp(ip.created),
        ]
    }

    // MARK: Helpers

    private static func allocate(_ state: inout State) -> Int {
        state.nextID += 1
        return state.nextID
    }

    static func seconds(_ duration: Duration) -> Double { duration.inSeconds }

    private func stamp(_ offset: Duration) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date(timeIntervalSince1970: epoch + Self.seconds(offset)))
    }

    private func uniqueness(_ field: String) -> HTTPLoopbackReply {
        error(409, "uniqueness_error", "\(field) is already used", fields: [field: ["is already used"]])
    }

    private func error(_ status: Int, _ code: String, _ message: String, fields: [String: [String]]? = nil, headers: [String: String] = [:])
        -> HTTPLoopbackReply
    {
        var body: [String: Any] = ["code": code, "message": message]
        if let fields, !fields.isEmpty {
            body["details"] = ["fields": fields.sorted { $0.key < $1.key }.map { ["name": $0.key, "messages": $0.value] as [String: Any] }]
        } else {
            body["details"] = [String: Any]()
        }
        return json(status, ["error": body], headers: headers)
    }

    func json(_ status: Int, _ object: [String: Any], headers: [String: String] = [:]) -> HTTPLoopbackReply {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        var all = headers
        all["Content-Type"] = "application/json"
        return .response(status: status, headers: all, body: Array(data))
    }
}
