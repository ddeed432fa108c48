public import ClusterKit

/// Power through server actions (cloud.spec.json, `POST /servers/{id}/actions/poweroff`,
/// `poweron`, `reset`), each waited on as an action by ``HetznerActionWaiter``.
///
/// The spec does not say what a `poweroff` of a server that is already off does, so, as
/// hcloud-go's `serverutil.EnsurePowerOff` does, the server's status is read first and a
/// server already in the wanted state costs no action; one `stopping` or `starting` is waited
/// for. Hetzner `poweroff` "cuts power to the Server … equivalent to pulling the power cord"
/// and `reset` "cuts power to a Server and starts it again" (spec, the two operations).
extension HetznerProvisioner: PowerCommanding {
    public func powerState(of machine: ObservedMachine) async throws -> PowerState {
        let id = try serverID(machine)
        do {
            return Self.powerState(status: try await client.server(id: id).status)
        } catch let error as HTTPError where error.status == 404 {
            throw ClusterError(
                .notFound, "\(name): server \(machine.identity.node) (\(id)) does not exist", hint: "run `clusterctl status` to see the cluster's machines",
                cause: error)
        } catch let error as HTTPError {
            throw failure("reading server \(machine.identity.node)", error)
        }
    }

    /// Maps a server `status` (spec: running, initializing, starting, stopping, off, deleting,
    /// migrating, rebuilding, unknown) to its power.
    static func powerState(status: String) -> PowerState {
        switch status {
        case "running": .on
        case "off": .off
        case "initializing", "starting", "stopping", "migrating", "rebuilding": .transitioning
        default: .unknown
        }
    }

    /// `poweroff`, `poweron` or `reset`, waited on as an action.
    public func sendPower(_ action: PowerAction, to machine: ObservedMachine) async throws {
        let command = action.command(off: "poweroff", on: "poweron", reset: "reset")
        let id = try serverID(machine)
        let started = try await wrap("\(command) of server \(machine.identity.node)") { try await client.serverAction(id: id, command) }
        try await checkActions([started], resource: "server \(machine.identity.node)")
    }

    /// Actions take seconds (the model: 8 s); the server's status is read at most every 2 s.
    public var powerSwitch: PowerSwitch { PowerSwitch(time: time, timeout: .seconds(600), interval: .seconds(2)) }

    private func serverID(_ machine: ObservedMachine) throws -> Int {
        guard let id = Int(machine.providerID) else {
            throw ClusterError(.provider, "\(name): \(machine.providerID) is not a Hetzner server id")
        }
        return id
    }
}
