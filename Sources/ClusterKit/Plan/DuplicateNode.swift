/// A node name carried by more than one machine: a manual clone, an adopted copy, or two runs
/// that raced. The planner holds such a name (it deletes, replaces and configures none of its
/// copies) and reports it; the person picks the copy to delete.
public struct DuplicateNode: Sendable, Hashable {
    public var node: String
    public var pool: String
    /// Every machine carrying the name, in provider-id order.
    public var machines: [ObservedMachine]

    public init(node: String, pool: String, machines: [ObservedMachine]) {
        self.node = node
        self.pool = pool
        self.machines = machines
    }

    /// `home-cp-1 is carried by 2 machines (hcloud 41, running; hcloud 57, running); …`: what
    /// `plan`, `status` and `up` print, with the command that removes one copy.
    public func description(cluster: String) -> String {
        let copies = machines.map { "\($0.provider) \($0.providerID), \($0.phase.rawValue)\($0.addresses.first.map { " at \($0)" } ?? "")" }
        let example = machines.last?.providerID ?? "ID"
        return "\(node) is carried by \(machines.count) machines (\(copies.joined(separator: "; "))); none of them is changed. "
            + "Keep the one that is the cluster's node (its etcd member, its kubelet) and delete the other with "
            + "`clusterctl node remove \(cluster) \(node) --machine \(example)`"
    }
}
