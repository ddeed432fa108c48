/// Ids the provisioner resolved once per run (network, firewall, placement group, image) and the
/// actions still pending per server, so later calls spend no requests on them.
actor HetznerResourceCache {
    private var ids: [String: Int] = [:]
    private var pendingActions: [Int: [HetznerAction]] = [:]

    func id(_ key: String) -> Int? { ids[key] }
    func setID(_ key: String, _ value: Int) { ids[key] = value }
    func removeAll() { ids = [:] }

    func addPending(server: Int, _ actions: [HetznerAction]) { pendingActions[server, default: []] += actions }
    func takePending(server: Int) -> [HetznerAction] { pendingActions.removeValue(forKey: server) ?? [] }
}
