internal import Foundation

/// Pod and service networks that Kubernetes or the kernel would refuse or misroute, caught
/// before any node boots.
extension SpecValidator {
    /// Ranges no pod or service network may touch (RFC 6890 special-purpose registries): this
    /// host, loopback, link-local, multicast and reserved.
    static let specialRanges: [(String, String)] = [
        ("0.0.0.0/8", "\"this network\""), ("127.0.0.0/8", "loopback"), ("169.254.0.0/16", "link-local"),
        ("224.0.0.0/4", "multicast"), ("240.0.0.0/4", "reserved and broadcast"),
        ("::/128", "unspecified"), ("::1/128", "loopback"), ("fe80::/10", "link-local"), ("ff00::/8", "multicast"),
    ]

    static let parsedSpecialRanges: [(CIDR, String)] = specialRanges.compactMap { text, what in (try? CIDR(parsing: text)).map { ($0, what) } }

    func validateNetworkRanges() {
        guard let network = draft.network else { return }
        let nodes = draft.pools.reduce(0) { $0 + $1.spec.count }
        if nodes > SpecDecoder.maxNodes {
            walker.error(at: "pools", "the pools hold \(nodes) nodes; Kubernetes supports at most \(SpecDecoder.maxNodes) per cluster",
                hint: "split the nodes over several clusters (Kubernetes docs, \"Considerations for large clusters\")")
        }
        for (offset, cidr) in network.podCIDRs.enumerated() {
            let path = "network.podCIDRs[\(offset)]"
            guard checkSpecial(cidr, path: path, what: "pod") else { continue }
            // kube-controller-manager gives each node a /24 (IPv4) or /64 (IPv6) from the pod
            // network (--node-cidr-mask-size-ipv4/-ipv6 defaults, Kubernetes docs).
            let nodeMask = cidr.isIPv6 ? 64 : 24
            let room = cidr.prefixLength > nodeMask ? 0 : (nodeMask - cidr.prefixLength >= 20 ? Int.max : 1 << (nodeMask - cidr.prefixLength))
            if room < max(nodes, 1) {
                let needed = nodeMask - (Int.bitWidth - (max(nodes, 1) - 1).leadingZeroBitCount)
                walker.error(at: path, "pod network \(cidr) has room for \(room) node\(room == 1 ? "" : "s") (one /\(nodeMask) each), but the spec has \(nodes)",
                    hint: "use a /\(needed) or larger pod network")
            }
        }
        for (offset, cidr) in network.serviceCIDRs.enumerated() {
            let path = "network.serviceCIDRs[\(offset)]"
            guard checkSpecial(cidr, path: path, what: "service") else { continue }
            let bits = (cidr.isIPv6 ? 128 : 32) - cidr.prefixLength
            if bits > 20 {
                // kube-apiserver refuses larger ranges: "specified --service-cluster-ip-range is
                // too large; for 32-bit addresses, the mask must be >= 12" (kubernetes/kubernetes#12841).
                walker.error(at: path, "service network \(cidr) is too large; kube-apiserver takes at most 2^20 addresses (/\(cidr.isIPv6 ? 108 : 12))",
                    hint: "use e.g. \(cidr.isIPv6 ? "fd00:10:96::/112" : "10.96.0.0/12")")
            } else if bits < 4 {
                // The API server takes the first address and cluster DNS the tenth (Talos
                // docs: kubelet clusterDNS defaults to the 10th address of the service network).
                walker.error(at: path, "service network \(cidr) is too small; the API service and cluster DNS need at least 16 addresses",
                    hint: "use /\(cidr.isIPv6 ? 112 : 16) or larger, e.g. \(cidr.isIPv6 ? "fd00:10:96::/112" : "10.96.0.0/12")")
            }
        }
        // Hypervisor hosts given by address sit on the nodes' network: inside a pod or service
        // range, nodes would route traffic for them into the cluster instead.
        for (index, provider) in draft.providers {
            let host: (String, String)?
            switch provider.settings {
            case .libvirt(let libvirt): host = ("providers[\(index)].ssh.host", libvirt.ssh.host)
            case .proxmox(let proxmox): host = URLComponents(string: proxmox.url)?.host.map { ("providers[\(index)].url", $0) }
            default: host = nil
            }
            guard let (path, address) = host, let bytes = IPAddress.parse(address), let single = try? CIDR(parsing: "\(address)/\(bytes.count * 8)") else { continue }
            let ranges = network.podCIDRs.map { ($0, "pod") } + network.serviceCIDRs.map { ($0, "service") }
            if let (range, what) = ranges.first(where: { $0.0.contains(single) }) {
                let candidates = (what == "pod" ? ["10.244.0.0/16", "172.20.0.0/16"] : ["10.96.0.0/12", "172.30.0.0/16"]).compactMap { try? CIDR(parsing: $0) }
                let other = candidates.first { !$0.contains(single) }.map { ", e.g. \($0)" } ?? ""
                walker.error(at: path, "host \(address) is inside the \(what) network \(range); nodes would route traffic for it into the cluster",
                    hint: "move the \(what) network off the hosts' network\(other)")
            }
        }
        if case .vip(let address) = draft.endpoint?.kind, let bytes = IPAddress.parse(address),
            let host = try? CIDR(parsing: "\(address)/\(bytes.count * 8)")
        {
            let ranges = network.podCIDRs.map { ($0, "pod") } + network.serviceCIDRs.map { ($0, "service") }
            if let (range, what) = ranges.first(where: { $0.0.contains(host) }) {
                walker.error(at: "endpoint.vip", "the VIP \(address) is inside the \(what) network \(range); nodes would route it into the cluster",
                    hint: "pick an unused address on the control planes' own network")
            } else if let (_, what) = SpecValidator.parsedSpecialRanges.first(where: { $0.0.contains(host) }) {
                walker.error(at: "endpoint.vip", "the VIP \(address) is a \(what) address", hint: "pick an unused address on the control planes' own network")
            }
        }
    }

    /// Reports a pod or service network that overlaps a special range; false when it does.
    private func checkSpecial(_ cidr: CIDR, path: String, what: String) -> Bool {
        guard let (range, kind) = SpecValidator.parsedSpecialRanges.first(where: { $0.0.overlaps(cidr) }) else { return true }
        walker.error(at: path, "\(what) network \(cidr) overlaps the \(kind) range \(range); packets there never reach a pod",
            hint: "use a private range, e.g. \(what == "pod" ? "10.244.0.0/16" : "10.96.0.0/12") (or fd00::/8 for IPv6)")
        return false
    }
}
