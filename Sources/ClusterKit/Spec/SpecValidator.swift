internal import Foundation

/// Cross-field rules over a decoded ``SpecDraft``: names, references between pools, providers and
/// failover, control-plane quorum, CIDRs, the API endpoint, drills. Problems are reported through
/// the walker, at the recorded position of the field they concern.
struct SpecValidator {
    let walker: YAMLWalker
    let draft: SpecDraft
    /// `images/` next to `clusters/`; nil skips the image-exists check (specs given as text).
    let imagesDirectory: String?

    func validate() {
        validateNames()
        validatePools()
        validateControlPlane()
        validateNetwork()
        validateEndpoint()
        validateFailover()
        validateDrills()
        validateImage()
        validatePatchKinds()
        validateHostileInput()
        validateTalosConfigs()
    }

    // MARK: - Syntax helpers

    /// RFC 1123 label: lowercase letters, digits and '-', not starting or ending with '-'.
    static func isDNSLabel(_ text: String, maxLength: Int = 63) -> Bool {
        guard !text.isEmpty, text.count <= maxLength, text.first != "-", text.last != "-" else { return false }
        return text.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }

    /// A DNS name: dot-separated RFC 1123 labels (case-insensitive), at most 253 characters.
    static func isDNSName(_ text: String) -> Bool {
        let name = text.hasSuffix(".") ? String(text.dropLast()) : text
        guard !name.isEmpty, name.count <= 253 else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { isDNSLabel($0.lowercased()) }
    }

    static func isImageName(_ text: String) -> Bool { isDNSLabel(text) }

    /// Kubernetes label keys: optional DNS-subdomain prefix and '/', then a name of at most 63
    /// characters (Kubernetes docs, "Labels and Selectors: Syntax and character set").
    static func isLabelKey(_ key: String) -> Bool {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return false }
        if parts.count == 2, !(isDNSName(String(parts[0])) && parts[0].count <= 253) { return false }
        return isLabelName(String(parts.last ?? ""), allowEmpty: false)
    }

    static func isLabelValue(_ value: String) -> Bool { isLabelName(value, allowEmpty: true) }

    private static func isLabelName(_ text: String, allowEmpty: Bool) -> Bool {
        if text.isEmpty { return allowEmpty }
        guard text.count <= 63 else { return false }
        let alnum: (Unicode.Scalar) -> Bool = { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)) }
        guard let first = text.unicodeScalars.first, let last = text.unicodeScalars.last, alnum(first), alnum(last) else { return false }
        return text.unicodeScalars.allSatisfy { alnum($0) || $0 == "-" || $0 == "_" || $0 == "." }
    }

    static func isGitURL(_ url: String) -> Bool {
        if url.hasPrefix("https://") || url.hasPrefix("http://") || url.hasPrefix("ssh://") {
            return URL(string: url)?.host?.isEmpty == false
        }
        return false
    }

    // MARK: - Names

    func validateNames() {
        if let name = draft.name, !SpecValidator.isDNSLabel(name, maxLength: 40) {
            walker.error(at: "name", "\"\(name)\" cannot be a cluster name",
                hint: "node names are <cluster>-<pool>-<n> and must be DNS labels: use up to 40 lowercase letters, digits and '-'")
        }
        var seenProviders: [String: Int] = [:]
        for (index, provider) in draft.providers {
            let path = "providers[\(index)].name"
            if let first = seenProviders[provider.name] {
                walker.error(at: path, "duplicate provider name \"\(provider.name)\"; providers[\(first)] already uses it", hint: "give each provider its own name")
            } else {
                seenProviders[provider.name] = index
            }
        }
        var seenPools: [String: Int] = [:]
        for (index, pool) in draft.pools {
            let path = "pools[\(index)].name"
            if let first = seenPools[pool.name] {
                walker.error(at: path, "duplicate pool name \"\(pool.name)\"; pools[\(first)] already uses it", hint: "pool names make node names, so each must be unique")
                continue
            }
            seenPools[pool.name] = index
            if !SpecValidator.isDNSLabel(pool.name) {
                walker.error(at: path, "\"\(pool.name)\" cannot be a pool name", hint: "use lowercase letters, digits and '-' (it becomes part of node hostnames)")
            } else if let cluster = draft.name, SpecValidator.isDNSLabel(cluster, maxLength: 40) {
                let longest = NodeIdentity.nodeName(cluster: cluster, pool: pool.name, index: max(pool.count, 1))
                if longest.count > 63 {
                    walker.error(at: path, "node names such as \(longest) exceed 63 characters", hint: "shorten the pool or cluster name")
                }
            }
        }
    }

    // MARK: - Pools

    func validatePools() {
        let providerNames = draft.providers.map(\.spec.name)
        for (index, pool) in draft.pools {
            let base = "pools[\(index)]"
            guard let (_, provider) = draft.provider(named: pool.provider) else {
                if draft.providersComplete {
                    walker.error(at: "\(base).provider", "unknown provider \"\(pool.provider)\"",
                        hint: providerNames.isEmpty ? "define it under providers:" : EditDistance.hint(for: pool.provider, among: providerNames, noun: "defined providers"))
                }
                continue
            }
            validateSize(pool, provider: provider, base: base)
            validateLocations(pool, provider: provider, base: base)
            validateNodePatches(pool, base: base)
        }
    }

    func validateSize(_ pool: PoolSpec, provider: ProviderSpec, base: String) {
        let size = pool.size
        let path = "\(base).size"
        switch provider.settings {
        case .hetzner(let hetzner):
            guard let type = size.serverType else {
                walker.error(at: path, "a Hetzner pool needs size.serverType", hint: "e.g. `size: {serverType: cx32}` (see `hcloud server-type list`)")
                return
            }
            if size.cpus != nil || size.memoryMiB != nil || size.diskGiB != nil {
                walker.error(at: path, "Hetzner server types fix CPUs, memory and disk; remove cpus/memory/disk", hint: "pick a larger serverType instead")
            }
            let valid = type.range(of: "^[a-z]+[0-9]+[a-z0-9-]*$", options: .regularExpression) != nil
            if !valid {
                walker.error(at: "\(path).serverType", "\"\(type)\" is not a Hetzner server type name", hint: "e.g. cx22, cx32, cpx31, cax21, ccx13")
            } else if type.hasPrefix("cax") != (hetzner.architecture == "arm64") {
                // CAX server types are Ampere arm64; the others are x86 (Hetzner Cloud docs, "Server types").
                walker.error(at: "\(path).serverType", "\(type) is \(type.hasPrefix("cax") ? "arm64" : "amd64") but provider \(provider.name) is \(hetzner.architecture)",
                    hint: type.hasPrefix("cax") ? "set `architecture: arm64` on the provider, or use a cx/cpx/ccx type" : "use a cax type, or set `architecture: amd64`")
            }
        case .libvirt, .proxmox, .simulator:
            if size.serverType != nil {
                walker.error(at: "\(path).serverType", "serverType is for Hetzner; \(provider.type) pools give cpus and memory",
                    hint: "e.g. `size: {cpus: 4, memory: 8GiB, disk: 40GiB}`")
            }
            if size.cpus == nil { walker.error(at: path, "a \(provider.type) pool needs size.cpus", hint: "e.g. `cpus: 4`") }
            if size.memoryMiB == nil { walker.error(at: path, "a \(provider.type) pool needs size.memory", hint: "e.g. `memory: 8GiB`") }
            if pool.role == .controlPlane, let memory = size.memoryMiB, memory < 2048 {
                // Talos system requirements: control-plane nodes need at least 2 GiB of memory.
                walker.error(at: "\(path).memory", "control-plane nodes need at least 2GiB of memory (Talos minimum requirements)")
            }
        }
    }

    func validateLocations(_ pool: PoolSpec, provider: ProviderSpec, base: String) {
        guard !pool.locations.isEmpty else { return }
        switch provider.settings {
        case .hetzner(let hetzner):
            for (offset, location) in pool.locations.enumerated() where !hetzner.locations.contains(location) {
                walker.error(at: "\(base).locations[\(offset)]", "location \"\(location)\" is not among provider \(provider.name)'s locations",
                    hint: EditDistance.hint(for: location, among: hetzner.locations, noun: "provider locations"))
            }
        case .simulator:
            break
        case .libvirt, .proxmox:
            walker.error(at: "\(base).locations", "locations apply to Hetzner and simulator pools; a \(provider.type) provider is one site",
                hint: "remove locations, or define a second \(provider.type) provider for another site")
        }
    }

    func validateNodePatches(_ pool: PoolSpec, base: String) {
        guard let cluster = draft.name, SpecValidator.isDNSLabel(cluster, maxLength: 40) else { return }
        let nodes = (0..<pool.count).map { NodeIdentity.nodeName(cluster: cluster, pool: pool.name, index: $0 + 1) }
        for name in pool.nodePatches.keys.sorted() where !nodes.contains(name) {
            walker.error(at: "\(base).nodePatches.\(name)", "node \"\(name)\" is not in pool \(pool.name)",
                hint: nodes.isEmpty ? "the pool has no nodes (count: 0)" : EditDistance.hint(for: name, among: nodes, noun: "the pool's nodes"))
        }
    }

    // MARK: - Control plane

    var controlPlanePools: [(index: Int, spec: PoolSpec)] { draft.pools.filter { $0.spec.role == .controlPlane } }

    func validateControlPlane() {
        guard draft.poolsComplete else { return }
        let pools = controlPlanePools
        let total = pools.reduce(0) { $0 + $1.spec.count }
        guard total >= 1 else {
            let path = pools.first.map { "pools[\($0.index)].count" } ?? "pools"
            walker.error(at: path, "the cluster has no control-plane nodes",
                hint: pools.isEmpty ? "add a pool with `role: controlplane` and count 3" : "set count to 3 (or at least 1)")
            return
        }
        let first = pools.first.map { "pools[\($0.index)].count" } ?? "pools"
        if total % 2 == 0 {
            // etcd needs a majority: 4 members tolerate one failure, as 3 do (etcd docs, "FAQ: fault tolerance").
            walker.warning(at: first, "\(total) control-plane nodes: an even count tolerates no more failures than \(total - 1)",
                hint: "use an odd count (3 or 5)")
        }
        guard draft.providersComplete else { return }
        var sites: [String: Int] = [:]
        for (_, pool) in pools {
            let provider = draft.provider(named: pool.provider)?.spec
            for index in 0..<pool.count {
                sites[pool.site(ofNodeAt: index, provider: provider), default: 0] += 1
            }
        }
        if total == 1 {
            walker.warning(at: first, "a single control-plane node: losing it stops the cluster", hint: "use 3 control-plane nodes on different sites")
        } else if let (site, count) = sites.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }), count * 2 > total {
            walker.warning(at: first, "site \(site) holds \(count) of \(total) control-plane nodes: losing that site loses etcd quorum",
                hint: "spread control-plane nodes so no site holds a majority, e.g. one per site over three sites")
        }
    }

    // MARK: - Network

    func validateNetwork() {
        guard let network = draft.network else { return }
        var named: [(String, String, CIDR)] = []
        for (offset, cidr) in network.podCIDRs.enumerated() { named.append(("network.podCIDRs[\(offset)]", "pod CIDR", cidr)) }
        for (offset, cidr) in network.serviceCIDRs.enumerated() { named.append(("network.serviceCIDRs[\(offset)]", "service CIDR", cidr)) }
        for (index, provider) in draft.providers {
            if case .hetzner(let hetzner) = provider.settings, let net = hetzner.network {
                let base = "providers[\(index)].network"
                // Hetzner networks take RFC 1918 ranges only (Hetzner Cloud API, "Networks";
                // ../shared/reference/hetzner/cloud.spec.json).
                let private1918 = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"].compactMap { try? CIDR(parsing: $0) }
                if !private1918.contains(where: { $0.contains(net.ipRange) }) {
                    walker.error(at: "\(base).ipRange", "\(net.ipRange) is not a private (RFC 1918) range; Hetzner networks need one",
                        hint: "use a range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16")
                }
                if !net.ipRange.contains(net.subnet) {
                    walker.error(at: "\(base).subnet", "subnet \(net.subnet) is not inside ipRange \(net.ipRange)", hint: "pick a subnet within \(net.ipRange)")
                }
                named.append(("\(base).ipRange", "Hetzner network \(net.name)", net.ipRange))
                // A server attaches only to networks of its own location's zone (Hetzner Cloud
                // docs, "Networks": a network spans one network zone).
                for (offset, location) in hetzner.locations.enumerated() {
                    if let zone = SpecValidator.hetznerZoneByLocation[location], zone != net.zone {
                        walker.error(at: "providers[\(index)].locations[\(offset)]", "location \(location) is in network zone \(zone), but network \(net.name) is in \(net.zone)",
                            hint: "use locations of \(net.zone) (\(SpecValidator.hetznerZoneByLocation.filter { $0.value == net.zone }.keys.sorted().joined(separator: ", "))) or another network zone")
                    }
                }
            }
        }
        for i in 0..<named.count {
            for j in (i + 1)..<max(named.count, i + 1) where named[i].2.overlaps(named[j].2) {
                walker.error(at: named[j].0, "\(named[j].1) \(named[j].2) overlaps \(named[i].1) \(named[i].2) (\(named[i].0))",
                    hint: "pod, service and node networks must not overlap; e.g. pods 10.244.0.0/16, services 10.96.0.0/12, nodes 10.0.0.0/16")
            }
        }
    }

    /// Hetzner Cloud locations and their network zones (Hetzner Cloud API, "Networks: Network
    /// Zones", in ../shared/reference/hetzner/cloud.spec.json).
    static let hetznerZoneByLocation = [
        "fsn1": "eu-central", "nbg1": "eu-central", "hel1": "eu-central", "ash": "us-east", "hil": "us-west", "sin": "ap-southeast",
    ]

    // MARK: - Endpoint

    func validateEndpoint() {
        guard let endpoint = draft.endpoint else { return }
        switch endpoint.kind {
        case .dns(let name):
            if IPAddress.parse(name) != nil {
                walker.error(at: "endpoint.dns", "\"\(name)\" is an IP address, not a DNS name",
                    hint: "use `vip:` for a shared layer-2 address or `floatingIP:` for a Hetzner floating IP")
            } else if !SpecValidator.isDNSName(name) || !name.contains(".") {
                walker.error(at: "endpoint.dns", "\"\(name)\" is not a valid DNS name",
                    hint: "a fully qualified name such as api.home.example.net: labels of letters, digits and '-' separated by dots")
            }
        case .floatingIP(let name):
            validateFloatingIPEndpoint(name)
        case .vip(let address):
            guard IPAddress.parse(address) != nil else {
                walker.error(at: "endpoint.vip", "\"\(address)\" is not an IP address", hint: "e.g. vip: 192.168.1.50 (an unused address on the control planes' network)")
                return
            }
            guard draft.providersComplete, draft.poolsComplete else { return }
            let providers = Set(controlPlanePools.map(\.spec.provider))
            if providers.count > 1 {
                walker.error(at: "endpoint.vip", "a VIP needs every control-plane node on one layer-2 network, but they are on \(providers.sorted().joined(separator: ", "))",
                    hint: "use `dns:` or a Hetzner `floatingIP:` for a control plane spread over providers")
            } else if let name = providers.first, case .hetzner = draft.provider(named: name)?.spec.settings {
                // Talos' VIP relies on gratuitous ARP, which Hetzner Cloud networks do not carry
                // (Talos docs, "Virtual (shared) IP").
                walker.error(at: "endpoint.vip", "Hetzner Cloud networks do not carry a layer-2 VIP",
                    hint: "use `floatingIP:` with a failover.ingressIP on this provider")
            }
        }
    }

    func validateFloatingIPEndpoint(_ name: String) {
        guard let ingress = draft.failover?.ingressIP else {
            if draft.failover == nil || draft.failover?.ingressIP == nil {
                walker.error(at: "endpoint.floatingIP", "floating IP \"\(name)\" is not defined",
                    hint: "define it under failover.ingressIP with name: \(name), its provider and candidatePools")
            }
            return
        }
        guard ingress.name == name else {
            walker.error(at: "endpoint.floatingIP", "floating IP \"\(name)\" is not defined; failover.ingressIP is \"\(ingress.name)\"",
                hint: "did you mean \"\(ingress.name)\"?")
            return
        }
        guard draft.poolsComplete else { return }
        let cpPools = controlPlanePools
        if !cpPools.contains(where: { $0.spec.provider == ingress.provider && $0.spec.count > 0 }) {
            walker.error(at: "endpoint.floatingIP", "the API endpoint is floating IP \"\(name)\" on provider \(ingress.provider), which holds no control-plane node",
                hint: "add a control-plane pool on \(ingress.provider), or use `dns:` for the endpoint")
            return
        }
        let cpNames = Set(cpPools.map(\.spec.name))
        if !ingress.candidatePools.contains(where: cpNames.contains) {
            walker.error(at: "endpoint.floatingIP", "floating IP \"\(name)\" serves the API but none of its candidate pools is a control-plane pool",
                hint: "add a control-plane pool on \(ingress.provider) to failover.ingressIP.candidatePools")
            return
        }
        for (offset, pool) in ingress.candidatePools.enumerated() where !cpNames.contains(pool) && draft.pool(named: pool) != nil {
            walker.warning(at: "failover.ingressIP.candidatePools[\(offset)]", "worker pool \(pool) may hold the IP that serves the Kubernetes API; the API is unreachable while it does",
                hint: "list only control-plane pools, or use `dns:` for the API endpoint")
        }
    }

    // MARK: - Failover

    func validateFailover() {
        guard let ingress = draft.failover?.ingressIP else { return }
        if draft.providersComplete {
            if let (_, provider) = draft.provider(named: ingress.provider) {
                switch provider.settings {
                case .hetzner, .simulator: break
                default:
                    walker.error(at: "failover.ingressIP.provider", "provider \(provider.name) (\(provider.type)) has no floating IPs",
                        hint: "floating IPs exist on hetzner (and the simulator)")
                }
            } else {
                walker.error(at: "failover.ingressIP.provider", "unknown provider \"\(ingress.provider)\"",
                    hint: EditDistance.hint(for: ingress.provider, among: draft.providers.map(\.spec.name), noun: "defined providers"))
            }
        }
        guard draft.poolsComplete else { return }
        let poolNames = draft.pools.map(\.spec.name)
        for (offset, name) in ingress.candidatePools.enumerated() {
            let path = "failover.ingressIP.candidatePools[\(offset)]"
            guard let (_, pool) = draft.pool(named: name) else {
                walker.error(at: path, "unknown pool \"\(name)\"", hint: EditDistance.hint(for: name, among: poolNames, noun: "defined pools"))
                continue
            }
            if pool.provider != ingress.provider {
                walker.error(at: path, "pool \(name) runs on provider \(pool.provider), but the floating IP belongs to \(ingress.provider)",
                    hint: "a floating IP can only be assigned to servers of its own provider")
            }
        }
    }

    // MARK: - Drills

    func validateDrills() {
        guard let drills = draft.drills, draft.poolsComplete else { return }
        let cpTotal = controlPlanePools.reduce(0) { $0 + $1.spec.count }
        let workers = draft.pools.filter { $0.spec.role == .worker }.reduce(0) { $0 + $1.spec.count }
        for (offset, scenario) in drills.scenarios.enumerated() {
            let path = "drills.scenarios[\(offset)]"
            switch scenario {
            case .loseControlPlane where cpTotal < 3:
                walker.error(at: path, "lose-controlplane needs at least 3 control-plane nodes; with \(cpTotal), losing one loses etcd quorum",
                    hint: "grow the control plane to 3, or drop this scenario")
            case .loseWorker where workers < 2:
                walker.error(at: path, "lose-worker needs at least 2 worker nodes so workloads have somewhere to go; the spec has \(workers)",
                    hint: "add worker nodes, or drop this scenario")
            case .moveIngressIP where draft.failover?.ingressIP == nil:
                walker.error(at: path, "move-ingress-ip needs failover.ingressIP", hint: "define failover.ingressIP, or drop this scenario")
            case .moveIngressIP:
                if let ingress = draft.failover?.ingressIP {
                    let holders = ingress.candidatePools.compactMap { draft.pool(named: $0)?.spec.count }.reduce(0, +)
                    if holders < 2 {
                        walker.error(at: path, "move-ingress-ip needs at least 2 nodes in the candidate pools; they hold \(holders)",
                            hint: "add candidate pools or nodes")
                    }
                }
            default:
                break
            }
        }
        if draft.minReadyControlPlanesGiven, drills.guards.minReadyControlPlanes > cpTotal {
            walker.error(at: "drills.guards.minReadyControlPlanes", "\(drills.guards.minReadyControlPlanes) is more than the \(cpTotal) control-plane nodes in the spec; no drill could ever start",
                hint: "use at most \(cpTotal)")
        }
    }

    // MARK: - Patches

    /// Talos 1.14 moved to multi-document machine configs, for which Talos rejects RFC 6902 JSON
    /// patches; strategic-merge patches work for both forms (Talos reference notes,
    /// ../shared/reference/talos/SOURCE.md).
    func validatePatchKinds() {
        guard let talos = draft.talos, talos.version >= SemanticVersion(major: 1, minor: 14, patch: 0) else { return }
        var places: [(String, [ConfigPatch])] = [("talos.patches", talos.patches)]
        for (index, pool) in draft.pools {
            places.append(("pools[\(index)].patches", pool.patches))
            for (node, patches) in pool.nodePatches.sorted(by: { $0.key < $1.key }) {
                places.append(("pools[\(index)].nodePatches.\(node)", patches))
            }
        }
        for (path, patches) in places where patches.contains(where: { $0.kind == .jsonPatch }) {
            walker.error(at: path, "Talos \(talos.version) uses multi-document machine configs, which reject JSON patches",
                hint: "write the change as a strategic-merge patch (a mapping), or stay on Talos 1.13")
        }
    }

    // MARK: - Image

    func validateImage() {
        guard let image = draft.talos?.image, let imagesDirectory, SpecValidator.isImageName(image) else { return }
        let path = (imagesDirectory as NSString).appendingPathComponent("\(image).yaml")
        if !FileManager.default.fileExists(atPath: path) {
            let available = ((try? FileManager.default.contentsOfDirectory(atPath: imagesDirectory)) ?? [])
                .filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }.sorted()
            walker.error(at: "talos.image", "image definition \(path) does not exist",
                hint: available.isEmpty ? "create it (see images/default.yaml)" : EditDistance.hint(for: image, among: available, noun: "defined images"))
        }
    }
}
