import Foundation

/// VM power as Proxmox VE runs it (PVE::API2::Qemu and PVE::QemuServer, qemu-server):
///
/// - `status/start` answers a `qmstart` task; its worker refuses a running VM ("VM <id> already
///   running", PVE::QemuServer vm_start), so that task ends with the text as its exit status,
///   not `OK`. A locked VM is refused at once (HTTP 500 "VM <id> is locked (<lock>)").
/// - `status/stop` ("akin to pulling the power plug") answers a `qmstop` task; stopping a stopped
///   VM does nothing and ends `OK` (vm_stop returns early when no QEMU process runs).
/// - `status/reset` is refused before any task for a VM that is not running: HTTP 500
///   "VM <id> not running"; otherwise a `qmreset` task.
/// - `status/current` reports `status` (`running` or `stopped`, the QEMU process) and `qmpstatus`.
extension ProxmoxModel {
    func current(_ vm: VM) -> HTTPLoopbackReply {
        var current: [String: Any] = [
            "status": vm.status, "qmpstatus": vm.status, "vmid": vm.vmid, "cpus": vm.cores, "maxmem": vm.memoryMiB * 1_048_576,
            "maxdisk": vm.diskGiB * 1_073_741_824, "ha": ["managed": 0], "agent": 1, "uptime": vm.status == "running" ? 60 : 0,
        ]
        if let name = vm.name { current["name"] = name }
        if !vm.tags.isEmpty { current["tags"] = vm.tags }
        if let lock = vm.lock { current["lock"] = lock }
        if vm.template { current["template"] = 1 }
        return ok(current)
    }

    func power(_ command: String, _ vm: VM, now: Duration) -> HTTPLoopbackReply {
        let vmid = vm.vmid
        switch command {
        case "start":
            if let lock = vm.lock { return reply(500, ["data": NSNull()], message: "VM \(vmid) is locked (\(lock))") }
            if vm.status == "running" { return ok(task("qmstart", vmid, now: now, exit: "VM \(vmid) already running", effect: nil)) }
            return ok(task("qmstart", vmid, now: now, exit: "OK") { $0[vmid]?.status = "running" })
        case "stop":
            return ok(task("qmstop", vmid, now: now, exit: "OK") { $0[vmid]?.status = "stopped" })
        default:
            guard vm.status == "running" else { return reply(500, ["data": NSNull()], message: "VM \(vmid) not running") }
            return ok(task("qmreset", vmid, now: now, exit: "OK", effect: nil))
        }
    }

    /// Stops or starts a VM directly, as a person in the Proxmox UI would.
    public func setStatus(vmid: Int, _ status: String) {
        lock.withLock { vms[vmid]?.status = status }
    }
}
