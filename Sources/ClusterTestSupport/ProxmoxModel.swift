public import Foundation

/// A loopback model of the Proxmox VE API (shaped per ../shared/reference/proxmox/apidata.json):
/// the `{"data": ...}` envelope, API-token auth, VM ids as numbers in lists and strings from
/// `nextid`, tasks (UPIDs) that report `running` once and then `stopped` with an exit status,
/// and 500 errors with a `message` for missing VMs.
public final class ProxmoxModel: @unchecked Sendable {
    public struct VM: Sendable {
        public var vmid: Int
        public var name: String
        public var template: Bool
        public var status: String
        public var tags: String
        public var cores: Int
        public var memoryMiB: Int
    }

    public let token: String
    public let node = "pve"
    private let lock = NSLock()
    private var vms: [Int: VM] = [:]
    private var tasks: [String: (polls: Int, exit: String)] = [:]
    private var taskCounter = 0
    /// Every request line seen, `METHOD path`.
    public private(set) var log: [String] = []
    public private(set) var server: HTTPLoopbackServer?

    public init(token: String, templateVMID: Int) throws {
        self.token = token
        vms[templateVMID] = VM(
            vmid: templateVMID, name: "talos-template", template: true, status: "stopped", tags: "", cores: 2,
            memoryMiB: 2048)
        server = try HTTPLoopbackServer { [weak self] request in
            guard let self else { return .dropConnection }
            return self.handle(request)
        }
    }

    public var baseURL: String { server?.baseURL ?? "" }

    public func stop() { server?.stop() }

    public var machines: [VM] { lock.withLock { vms.values.filter { !$0.template }.sorted { $0.vmid < $1.vmid } } }

    private func handle(_ request: HTTPLoopbackRequest) -> HTTPLoopbackReply {
        lock.withLock {
            log.append("\(request.method) \(request.path)")
            guard request.headers["authorization"] == "PVEAPIToken=\(token)" else {
                return reply(401, ["data": NSNull()], message: "authentication failure")
            }
            let form = Self.parseForm(request.body)
            let parts = request.path.split(separator: "/").map(String.init)
            guard parts.count >= 2, parts[0] == "api2", parts[1] == "json" else { return reply(404, ["data": NSNull()]) }
            let path = Array(parts.dropFirst(2))
            let method = request.method
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
                return ok(String((vms.keys.max() ?? 99) + 1))
            }
            if method == "GET", match("cluster/resources") != nil {
                return ok(vms.values.sorted { $0.vmid < $1.vmid }.map { vm -> [String: Any] in
                    ["vmid": vm.vmid, "id": "qemu/\(vm.vmid)", "name": vm.name, "node": node, "type": "qemu",
                     "status": vm.status, "template": vm.template ? 1 : 0, "tags": vm.tags, "maxcpu": vm.cores,
                     "maxmem": vm.memoryMiB * 1_048_576]
                })
            }
            if method == "GET", let upid = match("nodes/\(node)/tasks/*/status")?.first {
                guard var task = tasks[upid] else { return reply(500, ["data": NSNull()], message: "no such task") }
                task.polls += 1
                tasks[upid] = task
                if task.polls < 2 { return ok(["status": "running", "upid": upid, "node": node, "type": "qmtask"]) }
                return ok(["status": "stopped", "exitstatus": task.exit, "upid": upid, "node": node, "type": "qmtask"])
            }
            if let captured = match("nodes/\(node)/qemu/*/*/*"), captured[1] == "status" || captured[1] == "agent" {
                let id = captured[0]
                guard let vmid = Int(id), var vm = vms[vmid] else { return missing(id) }
                switch (method, captured[2]) {
                case ("GET", "current"): return ok(["status": vm.status, "vmid": vmid])
                case ("POST", "start"): vm.status = "running"
                case ("POST", "stop"): vm.status = "stopped"
                case ("GET", "network-get-interfaces"):
                    guard vm.status == "running" else { return reply(500, ["data": NSNull()], message: "VM \(vmid) is not running") }
                    return ok(["result": [
                        ["name": "lo", "ip-addresses": [["ip-address-type": "ipv4", "ip-address": "127.0.0.1"]]],
                        ["name": "eth0", "ip-addresses": [
                            ["ip-address-type": "ipv6", "ip-address": "fe80::1"],
                            ["ip-address-type": "ipv4", "ip-address": "10.0.0.\(vmid % 250)"],
                        ]],
                    ]])
                default: return reply(501, ["data": NSNull()], message: "not modelled")
                }
                vms[vmid] = vm
                return ok(task("OK"))
            }
            if method == "POST", let id = match("nodes/\(node)/qemu/*/clone")?.first {
                guard let source = Int(id), let template = vms[source] else { return missing(id) }
                guard let newid = Int(form["newid"] ?? ""), vms[newid] == nil, let name = form["name"] else {
                    return reply(400, ["data": NSNull(), "errors": ["newid": "invalid or taken"]], message: "Parameter verification failed.")
                }
                if name.contains("full") { return ok(task("clone failed: storage full")) }
                vms[newid] = VM(
                    vmid: newid, name: name, template: false, status: "stopped", tags: "", cores: template.cores,
                    memoryMiB: template.memoryMiB)
                return ok(task("OK"))
            }
            if let id = match("nodes/\(node)/qemu/*/config")?.first {
                guard let vmid = Int(id), var vm = vms[vmid] else { return missing(id) }
                if method == "GET" {
                    return ok(["name": vm.name, "template": vm.template ? 1 : 0, "cores": vm.cores, "memory": String(vm.memoryMiB)])
                }
                if let tags = form["tags"] { vm.tags = tags }
                if let cores = form["cores"].flatMap({ Int($0) }) { vm.cores = cores }
                if let memory = form["memory"].flatMap({ Int($0) }) { vm.memoryMiB = memory }
                vms[vmid] = vm
                return method == "POST" ? ok(task("OK")) : ok(NSNull())
            }
            if method == "PUT", let id = match("nodes/\(node)/qemu/*/resize")?.first {
                guard let vmid = Int(id), vms[vmid] != nil else { return missing(id) }
                return ok(NSNull())
            }
            if method == "DELETE", let id = match("nodes/\(node)/qemu/*")?.first {
                guard let vmid = Int(id), let vm = vms[vmid] else { return missing(id) }
                if vm.status == "running" { return ok(task("VM \(vmid) is running - destroy failed")) }
                vms[vmid] = nil
                return ok(task("OK"))
            }
            return reply(501, ["data": NSNull()], message: "not modelled: \(request.method) \(request.path)")
        }
    }

    private func task(_ exit: String) -> String {
        taskCounter += 1
        let upid = String(format: "UPID:%@:%08X:%08X:%08X:qmtask:%d:root@pam!cc:", node, 4000 + taskCounter, 1000, 1_700_000_000 + taskCounter, taskCounter)
        tasks[upid] = (0, exit)
        return upid
    }

    private func missing(_ id: String) -> HTTPLoopbackReply {
        reply(500, ["data": NSNull()], message: "Configuration file 'nodes/\(node)/qemu-server/\(id).conf' does not exist")
    }

    private func ok(_ data: Any) -> HTTPLoopbackReply { reply(200, ["data": data]) }

    private func reply(_ status: Int, _ body: [String: Any], message: String? = nil) -> HTTPLoopbackReply {
        var body = body
        if let message { body["message"] = message + "\n" }
        let bytes = (try? JSONSerialization.data(withJSONObject: body)) ?? Data("{}".utf8)
        return .response(status: status, headers: ["Content-Type": "application/json;charset=UTF-8"], body: Array(bytes))
    }

    private static func parseForm(_ body: [UInt8]) -> [String: String] {
        var result: [String: String] = [:]
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0) }
            if kv.count == 2 { result[kv[0]] = kv[1] }
        }
        return result
    }
}
