/// Losing a machine of a ``LoopbackCloud``.
extension LoopbackCloud {
    /// The machine named `server` stops answering, as a dead one does: its apid goes silent
    /// (connections refused) and its kubelet stops posting, so its Node is NotReady (what the
    /// node controller marks after its grace period, FAILOVER-FACTS.md section 3). The Hetzner
    /// model is left as it is: power the server off through the API first for what the provider
    /// shows of a dead machine (status `off`), or leave it `running` for a hung one (a kernel
    /// panic). A replacement under the same name registers afresh (a new machine, a new address).
    ///
    /// - Returns: the silenced machine's address.
    @discardableResult
    public func silence(_ server: String) throws -> String {
        guard let address = hetzner.servers.first(where: { $0.name == server })?.publicIPv4 else {
            throw TestSupportError("the Hetzner model has no server \(server)")
        }
        talos.update(address) { $0.up = false }
        kubernetes.model.setNodeReady(server, false)
        return address
    }
}
