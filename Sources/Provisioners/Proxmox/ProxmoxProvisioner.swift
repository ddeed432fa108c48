public import ClusterKit
import Foundation

/// Talos machines as Proxmox VE VMs cloned from a template, over the Proxmox HTTP API (libcurl).
///
/// Authenticates with an API token (`Authorization: PVEAPIToken=USER@REALM!TOKENID=SECRET`),
/// waits on every task UPID until it stops and checks its exit status, and records each node's
/// identity in VM tags so the inventory is read back from Proxmox. Machines boot into Talos
/// maintenance mode and are configured over the Talos API (``acceptsUserData`` is false): the
/// API cannot upload cloud-init snippets (Talos docs, "Proxmox").
public struct ProxmoxProvisioner: Provisioner {
    public let name: String
    public let settings: ProxmoxSettings
    private let http: HTTPClient
    let time: any TimeSource
    private let token: String
    /// One per provider: shared by every copy of this value, so concurrent creates never pick one id.
    private let ids = ProxmoxVMIDAllocator()
    /// How long to wait for one Proxmox task.
    public var taskTimeout: Duration = .seconds(600)

    public var acceptsUserData: Bool { false }

    /// - Parameter http: the HTTP client; nil builds one on libcurl trusting `settings.tls`.
    public init(name: String, settings: ProxmoxSettings, http: HTTPClient? = nil, time: any TimeSource = SystemTimeSource()) throws {
        self.name = name
        self.settings = settings
        self.time = time
        self.token = try Self.resolve(settings.token)
        self.http =
            http
            ?? HTTPClient(
                transport: CurlHTTPTransport(configuration: HTTPClientConfiguration(tls: settings.tls)), time: time,
                errorDecoder: Self.decodeError)
    }

    // MARK: Provisioner

    public func ensureImage(_ request: ImageRequest) async throws -> ProviderImage {
        let config = try await call(.get, "/nodes/\(Self.segment(settings.node))/qemu/\(settings.templateVMID)/config")
        guard let object = config as? [String: Any] else {
            throw ClusterError(
                .notFound, "template VM \(settings.templateVMID) is not on Proxmox node \(settings.node)",
                hint: "create a template from the Talos nocloud image and set templateVMID")
        }
        guard Self.int(object["template"]) == 1 else {
            throw ClusterError(
                .invalidSpec, "VM \(settings.templateVMID) on \(settings.node) is not a template",
                hint: "convert it with `qm template \(settings.templateVMID)`")
        }
        return ProviderImage(id: String(settings.templateVMID), description: (object["name"] as? String) ?? "template")
    }

    public func ensureClusterResources(cluster: String) async throws {}
    public func deleteClusterResources(cluster: String) async throws {}

    public func listMachines(cluster: String) async throws -> [ObservedMachine] {
        let resources = try await call(.get, "/cluster/resources", query: [("type", "vm")]) as? [[String: Any]] ?? []
        var machines: [ObservedMachine] = []
        for resource in resources {
            guard Self.int(resource["template"]) != 1, let vmid = Self.int(resource["vmid"]),
                let identity = ProxmoxTags.identity(
                    tags: resource["tags"] as? String ?? "", name: resource["name"] as? String ?? ""),
                identity.cluster == cluster
            else { continue }
            let node = resource["node"] as? String ?? settings.node
            let status = resource["status"] as? String ?? ""
            var machine = ObservedMachine(
                providerID: String(vmid), provider: name, identity: identity,
                phase: status == "running" ? .running : status == "stopped" ? .stopped : .provisioning,
                size: MachineSize(
                    cpus: Self.int(resource["maxcpu"]), memoryMiB: Self.int(resource["maxmem"]).map { $0 / 1_048_576 },
                    // maxdisk is the boot disk's size in bytes (Proxmox VE API, /cluster/resources).
                    diskGiB: Self.int(resource["maxdisk"]).flatMap { $0 > 0 ? $0 / 1_073_741_824 : nil }),
                location: node, imageID: String(settings.templateVMID))
            if machine.phase == .running { machine.addresses = await addresses(vmid: vmid, node: node) }
            machines.append(machine)
        }
        return machines.sorted { $0.identity.node < $1.identity.node }
    }

    public func createMachine(_ request: MachineRequest) async throws -> ObservedMachine {
        let identity = request.identity
        if let existing = try await listMachines(cluster: identity.cluster).first(where: { $0.identity.node == identity.node }) {
            return existing
        }
        let template = Int(request.image.id) ?? settings.templateVMID
        let vmid: Int
        if let adopted = try await unfinishedClone(of: identity) {
            vmid = adopted
        } else {
            vmid = try await clone(request, from: template)
        }

        var config: [(String, String)] = [
            ("tags", ProxmoxTags.tags(for: identity).joined(separator: ";")),
            ("net0", "virtio,bridge=\(settings.bridge)"), ("ipconfig0", "ip=dhcp"), ("agent", "1"),
        ]
        if let cpus = request.size.cpus { config.append(("cores", String(cpus))) }
        if let memory = request.size.memoryMiB { config.append(("memory", String(memory))) }
        // POST config runs as a task (PUT is synchronous); either way the change is done on return.
        let answer = try await call(.post, "/nodes/\(Self.segment(settings.node))/qemu/\(vmid)/config", form: config)
        if answer is String { try await waitForTask(answer) }
        await ids.forgetClone(node: identity.node)
        if let disk = request.size.diskGiB {
            // resize answers a task id (Proxmox VE API, PUT /nodes/{node}/qemu/{vmid}/resize: "the task ID").
            let resize = try await call(.put, "/nodes/\(Self.segment(settings.node))/qemu/\(vmid)/resize", form: [("disk", "scsi0"), ("size", "\(disk)G")])
            if resize is String { try await waitForTask(resize) }
        }
        try await waitForTask(try await call(.post, "/nodes/\(Self.segment(settings.node))/qemu/\(vmid)/status/start"))
        return ObservedMachine(
            providerID: String(vmid), provider: name, identity: identity, phase: .provisioning, size: request.size,
            location: settings.node, imageID: String(template))
    }

    // MARK: cloning

    /// How many ids a clone tries before giving up (each refusal means someone took the id).
    static let cloneAttempts = 20

    /// Clones the template to a fresh id and waits for the clone task; returns the id.
    ///
    /// The clone carries the node's name and a description naming the cluster, so a clone whose
    /// answer was lost is recognised by ``unfinishedClone(of:)`` before its tags are set.
    private func clone(_ request: MachineRequest, from template: Int) async throws -> Int {
        let identity = request.identity
        var form: [(String, String)] = [
            ("name", identity.node), ("description", ProxmoxTags.description(for: identity)),
            ("full", settings.linkedClone ? "0" : "1"),
        ]
        if !settings.linkedClone { form.append(("storage", settings.storage)) }
        for _ in 0..<Self.cloneAttempts {
            guard let start = Self.int(try await call(.get, "/cluster/nextid")) else {
                throw ClusterError(.provider, "Proxmox did not hand out a free VM id")
            }
            let vmid = try await ids.claim(from: start) { candidate in try await self.isFree(candidate) }
            await ids.noteCloneSent(node: identity.node, vmid: vmid)
            let task: Any?
            do {
                task = try await call(.post, "/nodes/\(Self.segment(settings.node))/qemu/\(template)/clone", form: [("newid", String(vmid))] + form)
            } catch let error as ClusterError where Self.isTaken(error) {
                // Taken between our check and the clone: by someone else (try the next id), or by
                // this very clone, accepted but its answer lost and the POST sent again.
                if try await isOurClone(vmid, identity) { return vmid }
                continue
            }
            try await waitForTask(task)
            return vmid
        }
        throw ClusterError(
            .provider, "every VM id Proxmox offered for \(identity.node) was taken before the clone (\(Self.cloneAttempts) tries)",
            hint: "something else is creating VMs on \(settings.node) at a high rate; run again")
    }

    /// Asks Proxmox whether `vmid` is free now (`GET /cluster/nextid?vmid=N`: "Pass a VMID to
    /// assert that its free (at time of check)"; a taken id is a 400 parameter error).
    private func isFree(_ vmid: Int) async throws -> Bool {
        do {
            _ = try await call(.get, "/cluster/nextid", query: [("vmid", String(vmid))])
            return true
        } catch let error as ClusterError where (error.cause as? HTTPError)?.status == 400 {
            return false
        }
    }

    /// A clone of `identity` made earlier whose configuration never happened: the one this
    /// process last sent for the node, or an untagged VM with the node's name and our description
    /// (waiting for clones still under way to end first).
    private func unfinishedClone(of identity: NodeIdentity) async throws -> Int? {
        if let sent = await ids.cloneSent(for: identity.node) {
            if try await isOurClone(sent, identity) { return sent }
            await ids.forgetClone(node: identity.node)
        }
        let resources = try await call(.get, "/cluster/resources", query: [("type", "vm")]) as? [[String: Any]] ?? []
        for resource in resources where Self.int(resource["template"]) != 1 {
            // A clone still running has no name yet (its config is the temporary one): it may be
            // ours, sent by a run that died before the answer came, so wait for it to show.
            let name = resource["name"] as? String
            let cloning = name == nil && resource["lock"] as? String == "clone"
            guard name == identity.node || cloning, let vmid = Self.int(resource["vmid"]),
                !(resource["tags"] as? String ?? "").contains(ProxmoxTags.marker)
            else { continue }
            if try await isOurClone(vmid, identity) { return vmid }
        }
        return nil
    }

    /// Whether VM `vmid` is a finished clone made for `identity`, waiting while it is still being
    /// cloned: a clone's temporary config holds only `lock: clone` until its task ends.
    private func isOurClone(_ vmid: Int, _ identity: NodeIdentity) async throws -> Bool {
        let start = time.now
        while true {
            let config: [String: Any]
            do {
                config = try await call(.get, "/nodes/\(Self.segment(settings.node))/qemu/\(vmid)/config") as? [String: Any] ?? [:]
            } catch let error as ClusterError where error.code == .notFound {
                return false
            }
            if config["lock"] as? String != "clone" {
                return config["name"] as? String == identity.node
                    && (config["description"] as? String)?.trimmingCharacters(in: .whitespacesAndNewlines)
                        == ProxmoxTags.description(for: identity)
            }
            if time.now - start >= taskTimeout {
                throw ClusterError(.timeout, "VM \(vmid) on \(settings.node) stayed locked by a clone for \(taskTimeout)")
            }
            try await time.sleep(for: .seconds(1))
        }
    }

    /// Proxmox's refusal of a clone to a taken id: HTTP 500 "unable to create VM <id>: config
    /// file already exists" (PVE::API2::Qemu clone_vm).
    static func isTaken(_ error: ClusterError) -> Bool {
        error.message.contains("already exists")
    }

    public func waitUntilRunning(_ machine: ObservedMachine) async throws -> ObservedMachine {
        let start = time.now
        var poweredOn = false
        while true {
            let current = try await listMachines(cluster: machine.identity.cluster).first {
                $0.providerID == machine.providerID
            }
            guard let current else {
                throw ClusterError(.notFound, "VM \(machine.providerID) (\(machine.identity.node)) is gone from Proxmox")
            }
            if current.phase == .running && (!current.addresses.isEmpty || time.now - start >= .seconds(300)) {
                return current
            }
            // Powered off (a drill, a person): on, once, or it would never come up.
            if current.phase == .stopped && !poweredOn {
                poweredOn = true
                try await powerOn(current)
                continue
            }
            if time.now - start >= taskTimeout {
                throw ClusterError(.timeout, "VM \(machine.identity.node) did not come up on Proxmox in time")
            }
            try await time.sleep(for: .seconds(3))
        }
    }

    public func deleteMachine(_ machine: ObservedMachine) async throws {
        guard let vmid = Int(machine.providerID) else { return }
        let node = machine.location ?? settings.node
        let status: Any?
        do {
            status = try await call(.get, "/nodes/\(Self.segment(node))/qemu/\(vmid)/status/current")
        } catch let error as ClusterError where error.code == .notFound {
            return
        }
        if (status as? [String: Any])?["status"] as? String == "running" {
            try await waitForTask(try await call(.post, "/nodes/\(Self.segment(node))/qemu/\(vmid)/status/stop"))
        }
        try await waitForTask(
            try await call(.delete, "/nodes/\(Self.segment(node))/qemu/\(vmid)", query: [("purge", "1"), ("destroy-unreferenced-disks", "1")]))
    }

    // MARK: tasks

    /// Polls `/nodes/{node}/tasks/{upid}/status` until the task stops; its `exitstatus` must be `OK`.
    func waitForTask(_ answer: Any?) async throws {
        guard let upid = answer as? String, upid.hasPrefix("UPID:") else {
            throw ClusterError(.provider, "Proxmox answered without a task id where one was expected")
        }
        // UPID:<node>:<pid>:<pstart>:<starttime>:<type>:<id>:<user>: (Proxmox VE API, tasks)
        let node = upid.split(separator: ":", omittingEmptySubsequences: false).dropFirst().first.map(String.init) ?? settings.node
        let encoded = upid.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? upid
        let start = time.now
        while true {
            let status = try await call(.get, "/nodes/\(Self.segment(node))/tasks/\(encoded)/status") as? [String: Any] ?? [:]
            if status["status"] as? String == "stopped" {
                let exit = status["exitstatus"] as? String ?? "unknown"
                guard exit == "OK" else {
                    throw ClusterError(
                        .provider, "Proxmox task \(status["type"] as? String ?? "") on \(node) failed: \(exit)",
                        hint: "see the task log in the Proxmox UI (\(upid))")
                }
                return
            }
            if time.now - start >= taskTimeout {
                throw ClusterError(.timeout, "Proxmox task \(upid) did not finish within \(taskTimeout)")
            }
            try await time.sleep(for: .seconds(1))
        }
    }

    private func addresses(vmid: Int, node: String) async -> [String] {
        guard
            let answer = try? await call(.get, "/nodes/\(Self.segment(node))/qemu/\(vmid)/agent/network-get-interfaces"),
            let result = (answer as? [String: Any])?["result"] as? [[String: Any]]
        else { return [] }
        var v4: [String] = []
        var v6: [String] = []
        for interface in result where interface["name"] as? String != "lo" {
            for address in interface["ip-addresses"] as? [[String: Any]] ?? [] {
                guard let ip = address["ip-address"] as? String else { continue }
                if address["ip-address-type"] as? String == "ipv4" {
                    v4.append(ip)
                } else if !ip.hasPrefix("fe80") {
                    v6.append(ip)
                }
            }
        }
        return v4 + v6
    }

    // MARK: HTTP

    /// One API call; returns the `data` member of the `{"data": ...}` envelope.
    func call(_ method: HTTPMethod, _ path: String, query: [(String, String)] = [], form: [(String, String)] = []) async throws -> Any? {
        var url = settings.url.trimmingSuffix("/") + "/api2/json" + path
        if !query.isEmpty { url += "?" + Self.formEncode(query) }
        var headers: [(name: String, value: String)] = [("Authorization", "PVEAPIToken=\(token)")]
        var body: [UInt8]?
        if !form.isEmpty {
            headers.append(("Content-Type", "application/x-www-form-urlencoded"))
            body = Array(Self.formEncode(form).utf8)
        }
        let response: HTTPResponse
        do {
            response = try await http.send(HTTPRequest(method: method, url: url, headers: headers, body: body))
        } catch let error as HTTPError {
            if error.isTransient {
                // Still failing after the client's own retries: the executor may try the step again.
                throw ProvisionerError(
                    .unavailable, "\(method.rawValue) \(path): \(error.message)", provider: name, hint: error.hint, isTransient: true,
                    retryAfter: error.retryAfter)
            }
            throw ClusterError(
                error.status == 404 || error.status == 500 && error.message.contains("does not exist") ? .notFound : .provider,
                "Proxmox \(method.rawValue) \(path): \(error.message)", hint: error.hint, cause: error)
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] else {
            throw ClusterError(.provider, "Proxmox \(method.rawValue) \(path) answered something that is not a JSON object")
        }
        return object["data"].flatMap { $0 is NSNull ? nil : $0 }
    }

    /// Proxmox's error body: `{"data": null, "message": "...", "errors": {"param": "why"}}`.
    @Sendable public static func decodeError(_ request: HTTPRequest, _ response: HTTPResponse) -> HTTPError {
        var message = "HTTP \(response.status)"
        var fields: [String: [String]] = [:]
        if let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] {
            if let text = object["message"] as? String { message += ": " + text.trimmingCharacters(in: .whitespacesAndNewlines) }
            for (key, value) in object["errors"] as? [String: Any] ?? [:] { fields[key] = ["\(value)"] }
        } else if let reason = response.header("x-status-reason") ?? String(bytes: response.body, encoding: .utf8), !reason.isEmpty {
            message += ": " + reason.prefix(200)
        }
        if !fields.isEmpty { message += " (" + fields.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value[0])" }.joined(separator: "; ") + ")" }
        var error = HTTPError(
            code: .status, message: message, hint: response.status == 401 ? "check the API token and its privileges" : nil,
            status: response.status, fieldErrors: fields, response: response)
        // Proxmox answers 500 for a VM that does not exist and for a clone to a taken id ("config
        // file already exists"); retrying the same request cannot help.
        if message.contains("does not exist") || message.contains("already exists") { error.transient = false }
        return error
    }

    /// One path segment of an API URL, percent-encoded so a node name (from the spec or from
    /// the API) can never add segments, a query or a fragment to the request.
    public static func segment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }

    static func formEncode(_ pairs: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return pairs.map {
            "\($0.0.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.1)"
        }.joined(separator: "&")
    }

    /// Proxmox sends ids and counters as numbers or numeric strings depending on the endpoint.
    static func int(_ value: Any?) -> Int? {
        switch value {
        case let number as NSNumber: number.intValue
        case let text as String: Int(text)
        default: nil
        }
    }

    private static func resolve(_ secret: SecretReference) throws -> String {
        switch secret {
        case .environment(let variable):
            guard let value = ProcessInfo.processInfo.environment[variable], !value.isEmpty else {
                throw ClusterError(
                    .secrets, "the Proxmox API token is to come from environment variable \(variable), which is not set",
                    hint: "export \(variable)=USER@REALM!TOKENID=SECRET")
            }
            SecretScrubber.shared.register(Self.secretParts(of: value))
            return value
        case .file(let path):
            let file = URL(fileURLWithPath: NSString(string: path).expandingTildeInPath)
            let token = try SecureFile.readPrivate(file, what: "the Proxmox API token file").trimmingCharacters(in: .whitespacesAndNewlines)
            SecretScrubber.shared.register(Self.secretParts(of: token))
            return token
        }
    }

    /// The whole `USER@REALM!TOKENID=SECRET` and its secret half, which a server may echo alone.
    private static func secretParts(of token: String) -> [String] {
        [token] + (token.split(separator: "=", maxSplits: 1).dropFirst().map(String.init))
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        var text = self
        while text.hasSuffix(suffix) { text.removeLast(suffix.count) }
        return text
    }
}
