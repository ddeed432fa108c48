public import ClusterKit
public import Foundation

/// A loopback model of the Proxmox VE API (shaped per ../shared/reference/proxmox/apidata.json),
/// with the awkward parts of the real one:
///
/// - `/cluster/nextid` reserves nothing: it answers the lowest free id from 100, so parallel
///   callers get the same answer; `?vmid=N` asks whether N is free ("Pass a VMID to assert that
///   its free (at time of check)"), answering 400 when it is taken.
/// - A clone to a taken id fails with HTTP 500 "unable to create VM <id>: config file already
///   exists". A clone writes a temporary config at once (`lock: clone`, description "qmclone
///   temporary file", no name; as third-party clients document meeting it) and is an async task
///   (UPID) that takes ``taskDuration`` on the model's clock; the name, description and disks
///   appear when it ends.
/// - `resize` is a task too (PUT answers a UPID); `maxdisk` in `/cluster/resources` is the
///   boot disk's size in bytes.
/// - Faults can be injected, including "the change was made, but the answer is an error".
public final class ProxmoxModel: @unchecked Sendable {
    public struct VM: Sendable {
        public var vmid: Int
        public var name: String?
        public var template: Bool
        public var status: String
        public var tags: String
        public var description: String
        public var lock: String?
        public var cores: Int
        public var memoryMiB: Int
        public var diskGiB: Int
    }

    /// What an injected fault does to a matching request.
    public enum Fault: Sendable, Hashable {
        /// Answer this status with a Proxmox error body, changing nothing.
        case status(Int)
        /// Do the work, then answer this status anyway: the client cannot know it succeeded.
        case commitThenStatus(Int)
        /// Close the connection without answering.
        case dropConnection
    }

    private struct ModelTask {
        var node: String
        var type: String
        var started: Duration
        var duration: Duration
        var exit: String
        var effect: (@Sendable (inout [Int: VM]) -> Void)?
        var done = false
    }

    public let token: String
    public let node = "pve"
    /// How long a clone, resize, start or delete task runs on the model's clock.
    public let taskDuration: Duration
    private let time: any TimeSource
    let lock = NSLock()
    var vms: [Int: VM] = [:]
    private var tasks: [String: ModelTask] = [:]
    private var taskCounter = 0
    private var faults: [(fault: Fault, method: String?, path: String?, remaining: Int)] = []
    private var requestLog: [String] = []
    public private(set) var server: HTTPLoopbackServer?

    public init(token: String, templateVMID: Int, time: any TimeSource = SystemTimeSource(), taskDuration: Duration = .milliseconds(400)) throws {
        self.token = token
        self.time = time
        self.taskDuration = taskDuration
        vms[templateVMID] = VM(
            vmid: templateVMID, name: "talos-template", template: true, status: "stopped", tags: "", description: "", lock: nil,
            cores: 2, memoryMiB: 2048, diskGiB: 10)
        server = try HTTPLoopbackServer { [weak self] request in
            guard let self else { return .dropConnection }
            return self.handle(request)
        }
    }

    public var baseURL: String { server?.baseURL ?? "" }
    public var port: Int { server?.port ?? 0 }

    public func stop() { server?.stop() }

    /// Every request seen, `METHOD path` (with `?query` when there was one), in order.
    public var log: [String] { lock.withLock { requestLog } }

    /// The VMs that are not templates, by id.
    public var machines: [VM] { lock.withLock { vms.values.filter { !$0.template }.sorted { $0.vmid < $1.vmid } } }

    /// Injects `fault` into the next `count` requests with this method whose path contains `path`.
    public func inject(_ fault: Fault, count: Int = 1, method: String? = nil, path: String? = nil) {
        lock.withLock { faults.append((fault, method, path, count)) }
    }

    /// How many injected faults have not hit a request yet.
    public var pendingFaults: Int { lock.withLock { faults.reduce(0) { $0 + $1.remaining } } }

    /// Adds a VM directly, as another user of the same Proxmox would.
    public func addVM(vmid: Int, name: String) {
        lock.withLock {
            vms[vmid] = VM(
                vmid: vmid, name: name, template: false, status: "stopped", tags: "", description: "", lock: nil, cores: 1,
                memoryMiB: 512, diskGiB: 4)
        }
    }

    // MARK: Serving

    private func handle(_ request: HTTPLoopbackRequest) -> HTTPLoopbackReply {
        let now = time.now
        return lock.withLock {
            let query = request.query.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
            requestLog.append("\(request.method) \(request.path)\(query.isEmpty ? "" : "?" + query)")
            settle(now: now)
            guard request.headers["authorization"] == "PVEAPIToken=\(token)" else {
                return reply(401, ["data": NSNull()], message: "authentication failure")
            }
            var commitThen: Int?
            if let index = faults.firstIndex(where: { fault in
                (fault.method == nil || fault.method == request.method) && (fault.path.map { request.path.contains($0) } ?? true)
            }) {
                let fault = faults[index].fault
                faults[index].remaining -= 1
                if faults[index].remaining <= 0 { faults.remove(at: index) }
                switch fault {
                case .status(let status): return reply(status, ["data": NSNull()], message: "injected fault")
                case .dropConnection: return .dropConnection
                case .commitThenStatus(let status): commitThen = status
                }
            }
            let answer = route(request, now: now)
            if let commitThen { return reply(commitThen, ["data": NSNull()], message: "injected fault after the change was made") }
            return answer
        }
    }

    /// Finishes the tasks whose time is up, applying what they do.
    private func settle(now: Duration) {
        for (upid, task) in tasks where !task.done && now - task.started >= task.duration {
            task.effect?(&vms)
            tasks[upid]?.done = true
        }
    }

    private func route(_ request: HTTPLoopbackRequest, now: Duration) -> HTTPLoopbackReply {
        let parts = request.path.split(separator: "/").map(String.init)
        guard parts.count >= 2, parts[0] == "api2", parts[1] == "json" else { return reply(404, ["data": NSNull()]) }
        let path = Array(parts.dropFirst(2))
        let method = request.method
        let form = Self.parseForm(request.body)
        func match(_ pattern: String) -> [String]? {
            let want = pattern.split(separator: "/").map(String.init)
            guard want.count == path.count else { return nil }
            var captured: [String] = []
            for (w, p) in zip(want, path) {
                if w == "*" { captured.append(p) } else if w != p { return nil }
            }
            return captured
        }
        if method == "GET", match("cluster/nextid") != nil {
            if let asked = request.queryValue("vmid") {
                // PVE::API2::Cluster nextid: a taken id is a parameter error on `vmid`.
                guard let id = Int(asked), id >= 100 else { return parameterError("vmid", "value must be at least 100") }
                return vms[id] == nil ? ok(String(id)) : parameterError("vmid", "VM \(id) already exists")
            }
            return ok(String((100...).first { vms[$0] == nil } ?? 100))
        }
        if method == "GET", match("cluster/resources") != nil {
            return ok(
                vms.values.sorted { $0.vmid < $1.vmid }.map { vm -> [String: Any] in
                    var resource: [String: Any] = [
                        "vmid": vm.vmid, "id": "qemu/\(vm.vmid)", "node": node, "type": "qemu", "status": vm.status,
                        "template": vm.template ? 1 : 0, "maxcpu": vm.cores, "maxmem": vm.memoryMiB * 1_048_576,
                        "maxdisk": vm.diskGiB * 1_073_741_824,
                    ]
                    if let name = vm.name { resource["name"] = name }
                    if !vm.tags.isEmpty { resource["tags"] = vm.tags }
                    if let lock = vm.lock { resource["lock"] = lock }
                    return resource
                })
        }
        if method == "GET", let upid = match("nodes/\(node)/tasks/*/status")?.first {
            guard let task = tasks[upid] else { return reply(500, ["data": NSNull()], message: "no such task '\(upid)'") }
            var status: [String: Any] = ["upid": upid, "node": task.node, "type": task.type, "status": task.done ? "stopped" : "running"]
            if task.done { status["exitstatus"] = task.exit }
            return ok(status)
        }
        if let captured = match("nodes/\(node)/qemu/*/*/*"), captured[1] == "status" || captured[1] == "agent" {
            guard let vmid = Int(captured[0]), let vm = vms[vmid] else { return missing(captured[0]) }
            switch (method, captured[2]) {
            case ("GET", "current"): return current(vm)
            case ("POST", "start"), ("POST", "stop"), ("POST", "reset"): return power(captured[2], vm, now: now)
            case ("GET", "network-get-interfaces"):
                guard vm.status == "running" else { return reply(500, ["data": NSNull()], message: "VM \(vmid) is not running") }
                return ok([
                    "result": [
                        ["name": "lo", "ip-addresses": [["ip-address-type": "ipv4", "ip-address": "127.0.0.1"]]],
                        [
                            "name": "eth0",
                            "ip-addresses": [
                                ["ip-address-type": "ipv6", "ip-address": "fe80::1"],
                                ["ip-address-type": "ipv4", "ip-address": "10.0.0.\(vmid % 250)"],
                            ],
                        ],
                    ]
                ])
            default: return reply(501, ["data": NSNull()], message: "not modelled")
            }
        }
        if method == "POST", let id = match("nodes/\(node)/qemu/*/clone")?.first {
            return clone(from: id, form: form, now: now)
        }
        if let id = match("nodes/\(node)/qemu/*/config")?.first {
            guard let vmid = Int(id), var vm = vms[vmid] else { return missing(id) }
            if method == "GET" {
                var config: [String: Any] = [
                    "template": vm.template ? 1 : 0, "cores": vm.cores, "memory": String(vm.memoryMiB),
                    "scsi0": "local-lvm:vm-\(vmid)-disk-0,size=\(vm.diskGiB)G",
                ]
                if let name = vm.name { config["name"] = name }
                if !vm.description.isEmpty { config["description"] = vm.description }
                if !vm.tags.isEmpty { config["tags"] = vm.tags }
                if let lock = vm.lock { config["lock"] = lock }
                return ok(config)
            }
            if let lock = vm.lock { return reply(500, ["data": NSNull()], message: "VM \(vmid) is locked (\(lock))") }
            if let tags = form["tags"] { vm.tags = tags }
            if let cores = form["cores"].flatMap({ Int($0) }) { vm.cores = cores }
            if let memory = form["memory"].flatMap({ Int($0) }) { vm.memoryMiB = memory }
            vms[vmid] = vm
            // POST config runs as a task, PUT is synchronous (Proxmox VE API).
            return method == "POST" ? ok(task("qmconfig", vmid, now: now, duration: .zero, exit: "OK", effect: nil)) : ok(NSNull())
        }
        if method == "PUT", let id = match("nodes/\(node)/qemu/*/resize")?.first {
            guard let vmid = Int(id), let vm = vms[vmid] else { return missing(id) }
            guard form["disk"] == "scsi0", let size = form["size"], let gib = Int(size.trimmingCharacters(in: CharacterSet(charactersIn: "+G")))
            else { return parameterError("size", "value does not match the regex pattern") }
            let target = size.hasPrefix("+") ? vm.diskGiB + gib : gib
            if target < vm.diskGiB { return reply(500, ["data": NSNull()], message: "shrinking disks is not supported") }
            return ok(task("resize", vmid, now: now, exit: "OK") { $0[vmid]?.diskGiB = target })
        }
        if method == "DELETE", let id = match("nodes/\(node)/qemu/*")?.first {
            guard let vmid = Int(id), let vm = vms[vmid] else { return missing(id) }
            if vm.status == "running" { return ok(task("qmdestroy", vmid, now: now, exit: "VM \(vmid) is running - destroy failed", effect: nil)) }
            return ok(task("qmdestroy", vmid, now: now, exit: "OK") { $0[vmid] = nil })
        }
        return reply(501, ["data": NSNull()], message: "not modelled: \(request.method) \(request.path)")
    }

    /// PVE::API2::Qemu clone_vm: the temporary config is written before the worker forks, so the
    /// id is taken from the moment the POST is answered; the worker copies the rest.
    private func clone(from id: String, form: [String: String], now: Duration) -> HTTPLoopbackReply {
        guard let source = Int(id), let template = vms[source] else { return missing(id) }
        guard let newid = Int(form["newid"] ?? ""), newid >= 100 else {
            return parameterError("newid", "value must be at least 100")
        }
        guard vms[newid] == nil else {
            return reply(500, ["data": NSNull()], message: "unable to create VM \(newid): config file already exists")
        }
        vms[newid] = VM(
            vmid: newid, name: nil, template: false, status: "stopped", tags: "", description: "qmclone temporary file\n",
            lock: "clone", cores: template.cores, memoryMiB: template.memoryMiB, diskGiB: template.diskGiB)
        let name = form["name"]
        let description = form["description"] ?? ""
        if name?.contains("full") == true {
            // The worker fails and removes what it made.
            return ok(task("qmclone", source, now: now, exit: "clone failed: storage full") { $0[newid] = nil })
        }
        return ok(
            task("qmclone", source, now: now, exit: "OK") { vms in
                vms[newid]?.name = name
                vms[newid]?.description = description
                vms[newid]?.lock = nil
            })
    }

    func task(
        _ type: String, _ vmid: Int, now: Duration, duration: Duration? = nil, exit: String,
        effect: (@Sendable (inout [Int: VM]) -> Void)?
    ) -> String {
        taskCounter += 1
        // UPID:<node>:<pid>:<pstart>:<starttime>:<type>:<id>:<user>: (Proxmox VE API, tasks)
        let upid = String(
            format: "UPID:%@:%08X:%08X:%08X:%@:%d:root@pam!cc:", node, 4000 + taskCounter, 1000, 1_700_000_000 + taskCounter, type, vmid)
        tasks[upid] = ModelTask(node: node, type: type, started: now, duration: duration ?? taskDuration, exit: exit, effect: effect)
        return upid
    }

    private func missing(_ id: String) -> HTTPLoopbackReply {
        reply(500, ["data": NSNull()], message: "Configuration file 'nodes/\(node)/qemu-server/\(id).conf' does not exist")
    }

    private func parameterError(_ field: String, _ why: String) -> HTTPLoopbackReply {
        reply(400, ["data": NSNull(), "errors": [field: why]], message: "Parameter verification failed.")
    }

    func ok(_ data: Any) -> HTTPLoopbackReply { reply(200, ["data": data]) }

    func reply(_ status: Int, _ body: [String: Any], message: String? = nil) -> HTTPLoopbackReply {
        var body = body
        if let message { body["message"] = message + "\n" }
        let bytes = (try? JSONSerialization.data(withJSONObject: body)) ?? Data("{}".utf8)
        return .response(status: status, headers: ["Content-Type": "application/json;charset=UTF-8"], body: Array(bytes))
    }

    private static func parseForm(_ body: [UInt8]) -> [String: String] {
        var result: [String: String] = [:]
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            if kv.count == 2 { result[kv[0]] = kv[1] }
        }
        return result
    }
}
