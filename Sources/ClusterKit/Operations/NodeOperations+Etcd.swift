/// Removing a control plane's etcd member through a control plane that stays.
extension NodeOperations {
    /// What ``NodeOperations/removeEtcdMember(of:addresses:peers:stopOnRefusal:)`` found and did.
    public enum EtcdMemberRemoval: Sendable, Hashable {
        /// Removed through this control plane.
        case removed(via: String)
        /// No member carries the name: it never joined, or an earlier run removed it.
        case notListed
        /// No other control plane runs: the member goes with its machine.
        case noPeers
    }

    /// Removes the etcd member of node `name` through one of `peers` (other control planes): the
    /// member with its name, or one with no name yet whose peer URL is at one of `addresses` (its
    /// join was cut short before etcd started), each by its ID.
    ///
    /// etcd's rule is remove, then add (../shared/reference/FAILOVER-FACTS.md section 2): a
    /// machine deleted with its member still listed leaves a dead voter that counts against
    /// quorum until someone removes it by hand. So when no peer can remove it this throws a
    /// `refused` error, and callers keep the machine.
    ///
    /// - Parameter stopOnRefusal: etcd's strict reconfiguration check answers "not enough started
    ///   members" or "unhealthy cluster" when the removal would cost quorum (etcd
    ///   `server/etcdserver/server.go` `mayRemoveMember`). With this set, that answer ends the call
    ///   at once (no retry, no other peer: it is the cluster's answer, not one node's), as a
    ///   failover playbook needs; without it the refusal is retried like any transient error.
    @discardableResult
    public func removeEtcdMember(of name: String, addresses: [String] = [], peers: [ObservedMachine], stopOnRefusal: Bool = false) async throws -> EtcdMemberRemoval {
        let peers = peers.filter { $0.identity.role == .controlPlane && $0.identity.node != name && $0.phase == .running }
        guard !peers.isEmpty else {
            emit(.machines, name, .progress, "no other control plane runs: its etcd goes with it")
            return .noPeers
        }
        var refusals: [String] = []
        for peer in peers {
            do {
                let members = try await retrying(.machines, name, "etcd members") { try await backend.talos.etcdMembers(via: peer) }
                let own = members.filter { $0.belongs(to: name, addresses: addresses) }
                guard !own.isEmpty else { return .notListed }
                for member in own {
                    try await retrying(.machines, name, "remove etcd member") {
                        do {
                            try await backend.talos.removeEtcdMember(id: member.id, via: peer)
                        } catch where stopOnRefusal && Self.isQuorumRefusal(error) {
                            throw ClusterError(
                                .refused, "etcd refused to remove the member of \(name) through \(peer.identity.node): \(oneLine(error))",
                                hint: "etcd keeps quorum this way; bring the other control planes to health (`clusterctl status`), then run the playbook again")
                        } catch where Self.isMemberNotFound(error) {
                            // An earlier attempt whose answer was lost removed it.
                        }
                    }
                }
                emit(.machines, name, .progress, "etcd member removed through \(peer.identity.node)")
                return .removed(via: peer.identity.node)
            } catch let error as ClusterError where error.code == .refused && stopOnRefusal {
                throw error
            } catch {
                refusals.append("through \(peer.identity.node): \(oneLine(error))")
                emit(.machines, name, .progress, "could not remove the etcd member through \(peer.identity.node): \(oneLine(error))")
            }
        }
        throw ClusterError(
            .refused, "the etcd member of \(name) could not be removed, so its machine was kept (" + refusals.joined(separator: "; ") + ")",
            hint: "deleting the machine first would leave a dead voting member in etcd; bring etcd to health (`clusterctl status`), then run the command again")
    }

    /// etcd's answer for an ID it does not list (`ErrMemberNotFound`, gRPC NotFound).
    static func isMemberNotFound(_ error: any Error) -> Bool {
        "\(error)".contains("member not found")
    }

    /// etcd's answers when a membership change would cost quorum: `ErrNotEnoughStartedMembers`
    /// and `ErrUnhealthy` (etcd `server/etcdserver/errors.go`, quoted in FAILOVER-FACTS.md section 2).
    static func isQuorumRefusal(_ error: any Error) -> Bool {
        let text = "\(error)"
        return text.contains("not enough started members") || text.contains("unhealthy cluster")
    }
}
