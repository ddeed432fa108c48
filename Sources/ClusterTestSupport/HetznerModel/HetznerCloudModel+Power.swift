import Foundation

/// Server power actions as Hetzner runs them (cloud.spec.json, `/servers/{id}/actions/poweron`,
/// `poweroff`, `shutdown`, `reset`, `reboot`): each answers 201 with a running action
/// (`start_server`, `stop_server`, `shutdown_server`, `reset_server`, `reboot_server`, the
/// commands of the spec's examples) that finishes after ``HetznerCloudModel/actionDuration``.
///
/// While it runs, a server being switched shows the transitional status the spec lists
/// (`stopping`, `starting`), and the server is locked (`423 locked`) to other actions. A
/// `poweroff` of a server already off, or a `poweron` of one already running, is accepted and its
/// action succeeds without changing anything. A failed action leaves the server as it was.
extension HetznerCloudModel {
    func powerAction(_ id: Int, _ command: String, now: Duration, state: inout State) -> HTTPLoopbackReply {
        guard let server = state.servers[id] else { return json(404, ["error": ["code": "not_found", "message": "server not found"]]) }
        let actionCommand: String
        let target: String
        var during: String?
        switch command {
        case "poweroff":
            actionCommand = "stop_server"
            target = "off"
            if server.status == "running" { during = "stopping" }
        case "shutdown":
            // ACPI: Talos powers itself off on the event, so the server ends up off.
            actionCommand = "shutdown_server"
            target = "off"
            if server.status == "running" { during = "stopping" }
        case "poweron":
            actionCommand = "start_server"
            target = "running"
            if server.status == "off" { during = "starting" }
        default:
            actionCommand = "\(command)_server"
            target = "running"
            if server.status == "off" { during = "starting" }
        }
        let action = startAction(&state, actionCommand, now: now, resources: [(id, "server")], effect: .serverStatus(id, target))
        if let during { state.servers[id]?.status = during }
        return json(201, ["action": actionJSON(action, now)])
    }

    /// A failed action leaves the server where it was; a create that failed leaves it off.
    static func failedPowerAction(_ command: String, server: Int, state: inout State) {
        let status = state.servers[server]?.status
        if command == "create_server" {
            state.servers[server]?.status = "off"
        } else if status == "stopping" {
            state.servers[server]?.status = "running"
        } else if status == "starting" {
            state.servers[server]?.status = "off"
        }
    }
}
