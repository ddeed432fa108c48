internal import Foundation
internal import Yams

/// Decodes a cluster spec document field by field through ``YAMLWalker``. Structural problems
/// (unknown keys, wrong types, bad enum values, missing fields, literal secrets) are reported here;
/// cross-field rules live in ``SpecValidator``.
struct SpecDecoder {
    let walker: YAMLWalker
    /// Directory that `file:` patch references are relative to (the spec file's directory).
    let baseDirectory: String
    /// Patches as written, for the patch guard that runs once the Talos version is known.
    let collected = PatchSourceCollector()

    static let topLevelKeys = [
        "name", "talos", "kubernetes", "endpoint", "network", "providers", "pools", "gitops", "failover", "drills",
    ]
    static let providerTypes = ["hetzner", "libvirt", "proxmox", "simulator"]

    func decode(_ root: Node) -> SpecDraft {
        var draft = SpecDraft()
        guard let top = walker.map(root, "", keys: SpecDecoder.topLevelKeys, what: "the cluster spec") else { return draft }
        draft.name = top.string("name", required: true, example: "home")
        if let node = top.value("talos", required: true, example: "{version: v1.11.5, image: default}") {
            draft.talos = talos(node, top.path("talos"))
        }
        if let node = top.value("kubernetes", required: true, example: "{version: v1.34.1}") {
            draft.kubernetes = kubernetes(node, top.path("kubernetes"))
        }
        if let node = top.value("endpoint", required: true, example: "{dns: api.example.net}") {
            draft.endpoint = endpoint(node, top.path("endpoint"))
        }
        if let node = top.value("network") {
            draft.network = network(node, top.path("network"))
        } else {
            draft.network = SpecDecoder.defaultNetwork
        }
        if let node = top.value("providers", required: true, example: "[{name: hcloud, type: hetzner, tokenEnv: HCLOUD_TOKEN}]"),
            let items = walker.list(node, top.path("providers"), of: "providers")
        {
            for (offset, item) in items.enumerated() {
                if let spec = provider(item.node, item.path) {
                    draft.providers.append((offset, spec))
                } else {
                    draft.providersComplete = false
                }
            }
        } else {
            draft.providersComplete = false
        }
        if let node = top.value("pools", required: true, example: "[{name: cp, role: controlplane, provider: hcloud, count: 3}]"),
            let items = walker.list(node, top.path("pools"), of: "node pools")
        {
            for (offset, item) in items.enumerated() {
                if let spec = pool(item.node, item.path) {
                    draft.pools.append((offset, spec))
                } else {
                    draft.poolsComplete = false
                }
            }
        } else {
            draft.poolsComplete = false
        }
        if let node = top.value("gitops") { draft.gitops = gitops(node, top.path("gitops")) }
        if let node = top.value("failover") { draft.failover = failover(node, top.path("failover")) }
        if let node = top.value("drills") {
            (draft.drills, draft.minReadyControlPlanesGiven) = drills(node, top.path("drills"))
        }
        draft.patchSources = collected.sources
        return draft
    }

    static let defaultNetwork: NetworkSpec = {
        // Talos' own defaults (talosctl gen config): pods 10.244.0.0/16, services 10.96.0.0/12.
        // Both literals are valid networks, so the fallbacks are never used.
        let pod = (try? CIDR(parsing: "10.244.0.0/16")).map { [$0] } ?? []
        let service = (try? CIDR(parsing: "10.96.0.0/12")).map { [$0] } ?? []
        return NetworkSpec(podCIDRs: pod, serviceCIDRs: service, kubeSpan: false, discovery: true)
    }()

    // MARK: - Talos and Kubernetes

    func version(_ fields: FieldMap, _ key: String, example: String) -> SemanticVersion? {
        guard let node = fields.value(key, required: true, example: example) else { return nil }
        guard let text = walker.string(node, fields.path(key), example: example) else { return nil }
        guard let version = SemanticVersion(parsing: text) else {
            walker.error(node, fields.path(key), "\"\(text)\" is not a version",
                hint: "write major.minor.patch with a leading v, e.g. \(example) (quote it if YAML reads it as a number)")
            return nil
        }
        return version
    }

    func talos(_ node: Node, _ path: String) -> TalosSettings? {
        guard let fields = walker.map(node, path, keys: ["version", "image", "installDisk", "patches"], what: "talos") else { return nil }
        let version = version(fields, "version", example: "v1.11.5")
        let image = fields.string("image", required: true, example: "default")
        if let image, !SpecValidator.isImageName(image) {
            walker.error(fields.value("image"), fields.path("image"), "\"\(image)\" is not an image name",
                hint: "name a file images/<name>.yaml by its <name>: lowercase letters, digits and '-'")
        }
        let disk = fields.string("installDisk", example: "/dev/sda")
        if let disk, !disk.hasPrefix("/dev/") {
            walker.error(fields.value("installDisk"), fields.path("installDisk"), "\"\(disk)\" is not a device path",
                hint: "use a path under /dev, e.g. /dev/sda or /dev/vda")
        }
        let patches = fields.value("patches").flatMap { self.patches($0, fields.path("patches")) }
        guard let version, let image else { return nil }
        return TalosSettings(version: version, image: image, patches: patches ?? [], installDisk: disk ?? "/dev/sda")
    }

    func kubernetes(_ node: Node, _ path: String) -> KubernetesSettings? {
        guard let fields = walker.map(node, path, keys: ["version"], what: "kubernetes") else { return nil }
        return version(fields, "version", example: "v1.34.1").map(KubernetesSettings.init(version:))
    }

    // MARK: - Endpoint and network

    func endpoint(_ node: Node, _ path: String) -> EndpointSpec? {
        guard let fields = walker.map(node, path, keys: ["dns", "floatingIP", "vip", "port", "link", "linkSelector"], what: "endpoint") else { return nil }
        // In file order, so a second kind is reported where it is written.
        let kinds = ["dns", "floatingIP", "vip"].filter { fields.has($0) }.sorted {
            let l = fields.keyNode($0)?.mark
            let r = fields.keyNode($1)?.mark
            return (l?.line ?? 0, l?.column ?? 0) < (r?.line ?? 0, r?.column ?? 0)
        }
        let port = fields.int("port", range: 1...65535) ?? 6443
        guard kinds.count == 1, let kind = kinds.first else {
            if kinds.isEmpty {
                walker.error(node, path, "the endpoint needs one of dns, floatingIP or vip",
                    hint: "e.g. `dns: api.example.net`, `floatingIP: ingress` (a failover.ingressIP name) or `vip: 192.168.1.50`")
            } else {
                walker.error(fields.keyNode(kinds[1]), fields.path(kinds[1]), "give only one of dns, floatingIP or vip; found \(kinds.joined(separator: " and "))")
            }
            return nil
        }
        guard let value = fields.string(kind, required: true) else { return nil }
        let link = endpointLink(fields)
        switch kind {
        case "dns": return EndpointSpec(kind: .dns(value), port: port, vipLink: link)
        case "floatingIP": return EndpointSpec(kind: .floatingIP(name: value), port: port, vipLink: link)
        default: return EndpointSpec(kind: .vip(value), port: port, vipLink: link)
        }
    }

    /// `link:` or `linkSelector:` (a VIP's link); whether the endpoint kind takes one is
    /// ``SpecValidator``'s to say.
    func endpointLink(_ fields: FieldMap) -> LinkReference? {
        let name = fields.string("link", example: "eth0")
        let selector = fields.string("linkSelector", example: #"link.driver == "virtio_net""#)
        if name != nil && selector != nil {
            walker.error(fields.keyNode("linkSelector"), fields.path("linkSelector"), "give link or linkSelector, not both",
                hint: "name the link (`link: ens18`) or select it (`linkSelector: link.driver == \"virtio_net\"`)")
            return nil
        }
        return name.map(LinkReference.name) ?? selector.map(LinkReference.selector)
    }

    func cidr(_ node: Node, _ path: String, example: String) -> CIDR? {
        guard let text = walker.string(node, path, example: example) else { return nil }
        do {
            return try CIDR(parsing: text)
        } catch {
            var hint = "write address/prefix, e.g. \(example)"
            if case .hostBitsSet(let network) = error { hint = "did you mean \(network)?" }
            walker.error(node, path, "\"\(text)\" \(error.description)", hint: hint)
            return nil
        }
    }

    func cidrs(_ fields: FieldMap, _ key: String, example: String) -> [CIDR]? {
        guard let node = fields.value(key) else { return nil }
        guard let items = walker.list(node, fields.path(key), of: "CIDRs") else { return nil }
        if items.isEmpty {
            walker.error(node, fields.path(key), "needs at least one CIDR", hint: "e.g. [\(example)]")
            return nil
        }
        if items.count > 2 {
            walker.error(items[2].node, items[2].path, "at most two CIDRs (one IPv4, one IPv6 for dual stack)")
        }
        let parsed = items.map { cidr($0.node, $0.path, example: example) }
        let valid = parsed.compactMap { $0 }
        if valid.count == 2, valid[0].isIPv6 == valid[1].isIPv6 {
            walker.error(items[1].node, items[1].path, "two CIDRs of the same family; dual stack needs one IPv4 and one IPv6")
        }
        return valid.count == parsed.count ? valid : nil
    }

    func network(_ node: Node, _ path: String) -> NetworkSpec? {
        guard let fields = walker.map(node, path, keys: ["podCIDRs", "serviceCIDRs", "kubeSpan", "discovery"], what: "network") else { return nil }
        let pods = cidrs(fields, "podCIDRs", example: "10.244.0.0/16")
        let services = cidrs(fields, "serviceCIDRs", example: "10.96.0.0/12")
        let kubeSpan = fields.bool("kubeSpan") ?? false
        let discovery = fields.bool("discovery") ?? true
        if kubeSpan && !discovery {
            // KubeSpan finds its peers through the discovery service (Talos docs, "KubeSpan").
            walker.error(fields.value("discovery"), fields.path("discovery"), "KubeSpan needs the discovery service",
                hint: "remove `discovery: false` or turn kubeSpan off")
        }
        if (fields.has("podCIDRs") && pods == nil) || (fields.has("serviceCIDRs") && services == nil) { return nil }
        return NetworkSpec(
            podCIDRs: pods ?? SpecDecoder.defaultNetwork.podCIDRs, serviceCIDRs: services ?? SpecDecoder.defaultNetwork.serviceCIDRs,
            kubeSpan: kubeSpan, discovery: discovery)
    }

    // MARK: - Providers

    static let commonProviderKeys = ["name", "type"]
    static let keysByType: [String: [String]] = [
        "hetzner": ["tokenEnv", "tokenFile", "locations", "network", "firewall", "architecture"],
        "libvirt": ["ssh", "uri", "storagePool", "storageDir", "bridge", "network"],
        "proxmox": ["url", "tokenEnv", "tokenFile", "node", "templateVMID", "storage", "linkedClone", "bridge", "tls"],
        "simulator": ["site"],
    ]

    func provider(_ node: Node, _ path: String) -> ProviderSpec? {
        // The allowed keys depend on the type, so read it first from the raw mapping.
        var type: String?
        if let mapping = node.mapping {
            guard let typeNode = mapping["type"] else {
                // Without a type the other keys cannot be judged; one error, not one per key.
                walker.record(node, path)
                walker.error(node, YAMLWalker.join(path, "type"), "missing required field \"type\"",
                    hint: "add `type:` with one of \(SpecDecoder.providerTypes.joined(separator: ", "))")
                return nil
            }
            type = walker.choice(typeNode, YAMLWalker.join(path, "type"), SpecDecoder.providerTypes, what: "provider type")
            if type == nil { return nil }
        }
        let keys = SpecDecoder.commonProviderKeys + (type.flatMap { SpecDecoder.keysByType[$0] } ?? [])
        guard let fields = walker.map(node, path, keys: keys, what: type.map { "a \($0) provider" } ?? "a provider") else { return nil }
        let name = fields.string("name", required: true, example: "hcloud")
        guard let type else {
            walker.error(node, fields.path("type"), "missing required field \"type\"",
                hint: "add `type:` with one of \(SpecDecoder.providerTypes.joined(separator: ", "))")
            return nil
        }
        let settings: ProviderSpec.Settings?
        switch type {
        case "hetzner": settings = hetzner(fields).map { .hetzner($0) }
        case "libvirt": settings = libvirt(fields).map { .libvirt($0) }
        case "proxmox": settings = proxmox(fields).map { .proxmox($0) }
        default: settings = .simulator(SimulatorSettings(site: fields.string("site") ?? name ?? "sim"))
        }
        guard let name, let settings else { return nil }
        return ProviderSpec(name: name, settings: settings)
    }

    /// Hetzner Cloud locations (Hetzner Cloud docs, "Locations"; API `GET /locations`).
    static let hetznerLocations = ["fsn1", "nbg1", "hel1", "ash", "hil", "sin"]
    /// Network zones (Hetzner Cloud docs, "Networks": eu-central, us-east, us-west, ap-southeast).
    static let hetznerZones = ["eu-central", "us-east", "us-west", "ap-southeast"]

    func hetzner(_ fields: FieldMap) -> HetznerSettings? {
        let token = fields.secretReference("token", required: true, exampleEnv: "HCLOUD_TOKEN")
        var locations: [String]?
        if let node = fields.value("locations"), let items = walker.list(node, fields.path("locations"), of: "locations") {
            var result: [String] = []
            for item in items {
                if let location = walker.choice(item.node, item.path, SpecDecoder.hetznerLocations, what: "Hetzner location") {
                    result.append(location)
                }
            }
            if items.isEmpty { walker.error(node, fields.path("locations"), "needs at least one location", hint: "e.g. [fsn1, nbg1, hel1]") }
            locations = result.count == items.count && !items.isEmpty ? result : nil
        } else if !fields.has("locations") {
            walker.error(fields.node, fields.path("locations"), "missing required field \"locations\"", hint: "add `locations: [fsn1, nbg1, hel1]`")
        }
        var network: HetznerNetwork?
        var networkFailed = false
        if let node = fields.value("network") {
            network = hetznerNetwork(node, fields.path("network"))
            networkFailed = network == nil
        }
        let firewall = fields.string("firewall")
        let architecture = fields.choice("architecture", ["amd64", "arm64"], what: "architecture") ?? "amd64"
        guard let token, let locations, !networkFailed else { return nil }
        return HetznerSettings(token: token, locations: locations, network: network, firewall: firewall, architecture: architecture)
    }

    func hetznerNetwork(_ node: Node, _ path: String) -> HetznerNetwork? {
        guard let fields = walker.map(node, path, keys: ["name", "ipRange", "subnet", "zone"], what: "a Hetzner network") else { return nil }
        let name = fields.string("name", required: true, example: "home")
        let range = fields.value("ipRange", required: true, example: "10.0.0.0/16").flatMap { cidr($0, fields.path("ipRange"), example: "10.0.0.0/16") }
        let subnet = fields.value("subnet", required: true, example: "10.0.1.0/24").flatMap { cidr($0, fields.path("subnet"), example: "10.0.1.0/24") }
        let zone = fields.choice("zone", SpecDecoder.hetznerZones, what: "network zone") ?? (fields.has("zone") ? nil : "eu-central")
        guard let name, let range, let subnet, let zone else { return nil }
        return HetznerNetwork(name: name, ipRange: range, subnet: subnet, zone: zone)
    }

    func libvirt(_ fields: FieldMap) -> LibvirtSettings? {
        let ssh = fields.value("ssh", required: true, example: "{host: kvm.lan, user: clusterctl, keyFile: ~/.ssh/id_ed25519}")
            .flatMap { sshTarget($0, fields.path("ssh")) }
        let uri = fields.string("uri", example: "qemu:///system") ?? (fields.has("uri") ? nil : "qemu:///system")
        if let uri, !(uri.hasPrefix("qemu:///") || uri.hasPrefix("qemu+")) {
            walker.error(fields.value("uri"), fields.path("uri"), "\"\(uri)\" is not a QEMU libvirt URI",
                hint: "clusterctl runs virsh on the host over SSH, so use qemu:///system (or qemu:///session)")
        }
        let pool = fields.string("storagePool") ?? "default"
        let dir = fields.string("storageDir")
        if let dir, !dir.hasPrefix("/") {
            walker.error(fields.value("storageDir"), fields.path("storageDir"), "\"\(dir)\" is not an absolute path", hint: "e.g. /var/lib/libvirt/images")
        }
        let bridge = fields.string("bridge")
        let network = fields.string("network")
        if bridge != nil && network != nil {
            walker.error(fields.keyNode("network"), fields.path("network"), "give either bridge or network, not both",
                hint: "bridge attaches VMs to a host bridge (br0); network to a libvirt network (default)")
        }
        guard let ssh, let uri else { return nil }
        return LibvirtSettings(ssh: ssh, uri: uri, storagePool: pool, storageDir: dir, bridge: bridge, network: bridge == nil ? (network ?? "default") : network)
    }

    func sshTarget(_ node: Node, _ path: String) -> SSHTarget? {
        let keys = ["host", "port", "user", "keyFile", "passphraseEnv", "passphraseFile", "knownHostsFile"]
        guard let fields = walker.map(node, path, keys: keys, what: "ssh") else { return nil }
        let host = fields.string("host", required: true, example: "kvm.lan")
        let port = fields.int("port", range: 1...65535) ?? 22
        let user = fields.string("user", required: true, example: "clusterctl")
        let key = fields.string("keyFile", required: true, example: "~/.ssh/id_ed25519")
        let passphrase = fields.secretReference("passphrase", required: false, exampleEnv: "SSH_KEY_PASSPHRASE")
        let knownHosts = fields.string("knownHostsFile") ?? "~/.ssh/known_hosts"
        guard let host, let user, let key else { return nil }
        return SSHTarget(host: host, port: port, user: user, keyFile: key, passphrase: passphrase, knownHostsFile: knownHosts)
    }

    func proxmox(_ fields: FieldMap) -> ProxmoxSettings? {
        let url = fields.string("url", required: true, example: "https://pve.lan:8006")
        if let url, !url.hasPrefix("https://") {
            walker.error(fields.value("url"), fields.path("url"), "\"\(InputSanitizer.maskingCredentials(url))\" is not an https URL",
                hint: "the Proxmox API is served over TLS, e.g. https://pve.lan:8006")
        }
        let token = fields.secretReference("token", required: true, exampleEnv: "PROXMOX_TOKEN")
        let node = fields.string("node", required: true, example: "pve")
        // Proxmox VM ids start at 100 (Proxmox VE docs, "qm").
        let template = fields.int("templateVMID", required: true, range: 100...999_999_999, example: "9000")
        let storage = fields.string("storage") ?? "local-lvm"
        let linked = fields.bool("linkedClone") ?? true
        let bridge = fields.string("bridge") ?? "vmbr0"
        var tls: TLSTrust? = .system
        if let tlsNode = fields.value("tls") { tls = tlsTrust(tlsNode, fields.path("tls")) }
        guard let url, let token, let node, let template, let tls else { return nil }
        return ProxmoxSettings(url: url, token: token, node: node, templateVMID: template, storage: storage, linkedClone: linked, bridge: bridge, tls: tls)
    }

    func tlsTrust(_ node: Node, _ path: String) -> TLSTrust? {
        guard let fields = walker.map(node, path, keys: ["caFile", "pinnedPublicKey"], what: "tls") else { return nil }
        if fields.has("caFile") && fields.has("pinnedPublicKey") {
            walker.error(fields.keyNode("pinnedPublicKey"), fields.path("pinnedPublicKey"), "give either caFile or pinnedPublicKey, not both")
            return nil
        }
        if let ca = fields.string("caFile") { return .caFile(ca) }
        if let pin = fields.string("pinnedPublicKey") {
            // libcurl CURLOPT_PINNEDPUBLICKEY: "sha256//" then the base64 SHA-256 of the public key.
            let body = pin.hasPrefix("sha256//") ? String(pin.dropFirst(8)) : ""
            guard let data = Data(base64Encoded: body), data.count == 32 else {
                walker.error(fields.value("pinnedPublicKey"), fields.path("pinnedPublicKey"), "\"\(pin)\" is not a pinned public key",
                    hint: "write sha256// followed by the base64 SHA-256 of the server's public key (44 characters)")
                return nil
            }
            return .pinnedPublicKey(pin)
        }
        return fields.has("caFile") || fields.has("pinnedPublicKey") ? nil : .system
    }

    // MARK: - Pools

    static let poolKeys = ["name", "role", "provider", "count", "size", "locations", "labels", "taints", "patches", "nodePatches", "publicIPv4"]

    func pool(_ node: Node, _ path: String) -> PoolSpec? {
        guard let fields = walker.map(node, path, keys: SpecDecoder.poolKeys, what: "a node pool") else { return nil }
        let name = fields.string("name", required: true, example: "workers")
        let role = fields.choice("role", NodeRole.allCases.map(\.rawValue), required: true, what: "role").flatMap(NodeRole.init(rawValue:))
        let provider = fields.string("provider", required: true, example: "hcloud")
        let count = fields.int("count", required: true, range: 0...SpecDecoder.maxNodes, example: "3")
        var size: MachineSize? = MachineSize()
        if let sizeNode = fields.value("size", required: true, example: "{serverType: cx32} or {cpus: 4, memory: 8GiB}") {
            size = machineSize(sizeNode, fields.path("size"))
        } else {
            size = nil
        }
        let locations = fields.strings("locations", of: "locations")
        let labels = fields.value("labels").flatMap { self.labels($0, fields.path("labels")) }
        let taints = fields.value("taints").flatMap { self.taints($0, fields.path("taints")) }
        let patches = fields.value("patches").flatMap { self.patches($0, fields.path("patches")) }
        var nodePatches: [String: [ConfigPatch]] = [:]
        var nodePatchesFailed = false
        if let npNode = fields.value("nodePatches") {
            let npPath = fields.path("nodePatches")
            walker.record(npNode, npPath)
            if let mapping = npNode.mapping {
                for (keyNode, valueNode) in mapping {
                    guard let nodeName = keyNode.scalar?.string else { continue }
                    let entryPath = "\(npPath).\(nodeName)"
                    walker.record(mark: keyNode.mark, entryPath)
                    if let list = self.patches(valueNode, entryPath) { nodePatches[nodeName] = list } else { nodePatchesFailed = true }
                }
            } else {
                walker.error(npNode, npPath, "expected a mapping of node name to patches, found \(walker.describe(npNode))",
                    hint: "e.g. `nodePatches: {home-cp-1: [{machine: {...}}]}`")
                nodePatchesFailed = true
            }
        }
        let publicIPv4 = fields.bool("publicIPv4") ?? true
        guard let name, let role, let provider, let count, let size, !nodePatchesFailed,
            fields.has("labels") == (labels != nil), fields.has("taints") == (taints != nil),
            fields.has("patches") == (patches != nil), fields.has("locations") == (locations != nil)
        else { return nil }
        return PoolSpec(
            name: name, role: role, provider: provider, count: count, size: size, locations: locations ?? [],
            labels: labels ?? [:], taints: taints ?? [], patches: patches ?? [], nodePatches: nodePatches, publicIPv4: publicIPv4)
    }

    func machineSize(_ node: Node, _ path: String) -> MachineSize? {
        guard let fields = walker.map(node, path, keys: ["serverType", "cpus", "memory", "disk"], what: "size") else { return nil }
        let serverType = fields.string("serverType", example: "cx32")
        let cpus = fields.int("cpus", range: 1...1024)
        let memory = fields.value("memory").flatMap { quantity($0, fields.path("memory"), example: "8GiB", minMiB: 512) }
        let disk = fields.value("disk").flatMap { quantity($0, fields.path("disk"), example: "40GiB", minMiB: 1024) }
        let failed = (fields.has("serverType") && serverType == nil) || (fields.has("cpus") && cpus == nil)
            || (fields.has("memory") && memory == nil) || (fields.has("disk") && disk == nil)
        if failed { return nil }
        return MachineSize(serverType: serverType, cpus: cpus, memoryMiB: memory, diskGiB: disk.map { ($0 + 1023) / 1024 })
    }

    /// The largest memory or disk size read, 64 TiB in MiB: more than any server or VM offers,
    /// and far from overflowing the arithmetic that follows.
    static let maxQuantityMiB = 64 * 1024 * 1024

    /// Nodes in one pool, and in the whole cluster: Kubernetes supports at most 5,000 nodes per
    /// cluster (Kubernetes docs, "Considerations for large clusters").
    static let maxNodes = 5000

    /// A size such as `8GiB`, `512MiB` or `1TiB`, in MiB.
    func quantity(_ node: Node, _ path: String, example: String, minMiB: Int) -> Int? {
        guard let text = walker.string(node, path, example: example) else { return nil }
        let units: [(String, Int)] = [("MiB", 1), ("GiB", 1024), ("TiB", 1024 * 1024)]
        for (unit, factor) in units where text.hasSuffix(unit) {
            if let value = Int(text.dropLast(unit.count).trimmingCharacters(in: .whitespaces)), value > 0 {
                let (total, overflow) = value.multipliedReportingOverflow(by: factor)
                if overflow || total > SpecDecoder.maxQuantityMiB {
                    walker.error(node, path, "\(text) is larger than any machine", hint: "at most \(SpecDecoder.maxQuantityMiB / 1024 / 1024)TiB")
                    return nil
                }
                if total < minMiB {
                    walker.error(node, path, "\(text) is too small", hint: "at least \(minMiB >= 1024 ? "\(minMiB / 1024)GiB" : "\(minMiB)MiB")")
                    return nil
                }
                return value * factor
            }
        }
        walker.error(node, path, "\"\(text)\" is not a size", hint: "write a whole number with MiB, GiB or TiB, e.g. \(example)")
        return nil
    }

    func labels(_ node: Node, _ path: String) -> [String: String]? {
        walker.record(node, path)
        guard let mapping = node.mapping else {
            walker.error(node, path, "expected a mapping of label to value, found \(walker.describe(node))", hint: "e.g. `labels: {topology.kubernetes.io/zone: home}`")
            return nil
        }
        var result: [String: String] = [:]
        var failed = false
        for (keyNode, valueNode) in mapping {
            let key = keyNode.scalar?.string ?? ""
            let entryPath = "\(path).\(key)"
            walker.record(keyNode, entryPath)
            if !SpecValidator.isLabelKey(key) {
                walker.error(keyNode, entryPath, "\"\(key)\" is not a valid label key",
                    hint: "an optional DNS prefix and '/', then up to 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric")
                failed = true
                continue
            }
            guard let scalar = valueNode.scalar else {
                walker.error(valueNode, entryPath, "label values are strings, found \(walker.describe(valueNode))")
                failed = true
                continue
            }
            if !SpecValidator.isLabelValue(scalar.string) {
                walker.error(valueNode, entryPath, "\"\(scalar.string)\" is not a valid label value", hint: "up to 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric")
                failed = true
                continue
            }
            result[key] = scalar.string
        }
        return failed ? nil : result
    }

    func taints(_ node: Node, _ path: String) -> [Taint]? {
        guard let items = walker.list(node, path, of: "taints") else { return nil }
        var result: [Taint] = []
        for item in items {
            guard let text = walker.string(item.node, item.path, example: "dedicated=gpu:NoSchedule") else { continue }
            let effects = Taint.Effect.allCases.map(\.rawValue)
            guard let colon = text.lastIndex(of: ":") else {
                walker.error(item.node, item.path, "\"\(text)\" has no effect", hint: "write key=value:Effect or key:Effect with Effect one of \(effects.joined(separator: ", "))")
                continue
            }
            let effectText = String(text[text.index(after: colon)...])
            guard let effect = Taint.Effect(rawValue: effectText) else {
                walker.error(item.node, item.path, "\"\(effectText)\" is not a taint effect", hint: EditDistance.hint(for: effectText, among: effects))
                continue
            }
            let head = text[..<colon]
            let parts = head.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0])
            let value = parts.count == 2 ? String(parts[1]) : nil
            guard SpecValidator.isLabelKey(key), value.map(SpecValidator.isLabelValue) ?? true else {
                walker.error(item.node, item.path, "\"\(text)\" has an invalid key or value", hint: "keys and values follow label syntax")
                continue
            }
            result.append(Taint(key: key, value: value, effect: effect))
        }
        return result.count == items.count ? result : nil
    }

    // MARK: - Patches

    /// A list of Talos config patches: inline mappings (strategic merge), inline lists of RFC 6902
    /// operations (JSON patch), or `file:` references relative to the spec file.
    ///
    /// Consecutive items that are JSON patch operations (mappings with an `op` key; no Talos
    /// config document has one at its top) form one JSON patch, so users can list operations
    /// directly; a nested list is one JSON patch too.
    func patches(_ node: Node, _ path: String) -> [ConfigPatch]? {
        guard let items = walker.list(node, path, of: "config patches") else { return nil }
        var result: [ConfigPatch] = []
        var failed = false
        var operations: [(node: Node, path: String)] = []
        func flushOperations() {
            guard let first = operations.first else { return }
            if validateJSONPatch(operations), let text = serialize(Node(operations.map(\.node)), first.path) {
                result.append(ConfigPatch(kind: .jsonPatch, yaml: text, origin: origin(first.node)))
                collected.sources.append(PatchSource(kind: .jsonPatch, parts: operations.map { PatchSource.Part(node: $0.node, path: $0.path) }))
            } else {
                failed = true
            }
            operations = []
        }
        for item in items {
            if item.node.mapping?["op"] != nil {
                operations.append(item)
                continue
            }
            flushOperations()
            if let patch = patch(item.node, item.path) { result.append(patch) } else { failed = true }
        }
        flushOperations()
        return failed ? nil : result
    }

    func origin(_ node: Node) -> String {
        node.mark.map { "\(walker.file):\($0.line)" } ?? walker.file
    }

    func patch(_ node: Node, _ path: String) -> ConfigPatch? {
        if let mapping = node.mapping {
            if mapping.count == 1, let fileNode = mapping["file"] {
                return filePatch(fileNode, YAMLWalker.join(path, "file"))
            }
            if mapping.count == 0 {
                walker.error(node, path, "empty patch", hint: "remove it, or write a Talos config fragment such as {machine: {kubelet: {...}}}")
                return nil
            }
            let before = walker.diagnostics.count
            walker.scanForSecrets(node, path)
            guard walker.diagnostics.count == before, let text = serialize(node, path) else { return nil }
            collected.sources.append(PatchSource(kind: .strategicMerge, parts: [PatchSource.Part(node: node, path: path)]))
            return ConfigPatch(kind: .strategicMerge, yaml: text, origin: origin(node))
        }
        if node.sequence != nil {
            guard let items = walker.list(node, path, of: "JSON patch operations") else { return nil }
            if items.isEmpty {
                walker.error(node, path, "empty JSON patch", hint: "remove it or add operations")
                return nil
            }
            guard validateJSONPatch(items), let text = serialize(node, path) else { return nil }
            collected.sources.append(PatchSource(kind: .jsonPatch, parts: items.map { PatchSource.Part(node: $0.node, path: $0.path) }))
            return ConfigPatch(kind: .jsonPatch, yaml: text, origin: origin(node))
        }
        walker.error(node, path, "expected a patch, found \(walker.describe(node))",
            hint: "write a Talos config fragment (mapping), a list of JSON patch operations, or `file: patches/name.yaml`")
        return nil
    }

    func serialize(_ node: Node, _ path: String) -> String? {
        do {
            return try Yams.serialize(node: node)
        } catch {
            walker.error(node, path, "cannot re-serialize this patch: \(error)")
            return nil
        }
    }

    static let jsonPatchOps = ["add", "remove", "replace", "move", "copy", "test"]

    /// RFC 6902 section 4: every operation has `op` and `path`; add/replace/test need `value`,
    /// move/copy need `from`.
    func validateJSONPatch(_ items: [(node: Node, path: String)]) -> Bool {
        let before = walker.diagnostics.count
        for item in items {
            guard let fields = walker.map(item.node, item.path, keys: ["op", "path", "value", "from"], what: "a JSON patch operation") else { continue }
            let op = fields.choice("op", SpecDecoder.jsonPatchOps, required: true, what: "JSON patch op")
            if let pointer = fields.string("path", required: true, example: "/machine/install/disk"), !pointer.hasPrefix("/") {
                walker.error(fields.value("path"), fields.path("path"), "\"\(pointer)\" is not a JSON pointer", hint: "JSON pointers start with '/', e.g. /machine/network/hostname")
            }
            if let value = fields.value("value") { walker.scanForSecrets(value, fields.path("value")) }
            switch op {
            case "add", "replace", "test":
                if !fields.has("value") { walker.error(item.node, fields.path("value"), "\"\(op ?? "")\" needs a value", hint: "add `value: ...`") }
            case "move", "copy":
                if !fields.has("from") { walker.error(item.node, fields.path("from"), "\"\(op ?? "")\" needs from", hint: "add `from: /a/json/pointer`") }
            default: break
            }
        }
        return walker.diagnostics.count == before
    }

    func filePatch(_ node: Node, _ path: String) -> ConfigPatch? {
        guard let relative = walker.string(node, path, example: "patches/kubelet.yaml") else { return nil }
        let full = relative.hasPrefix("/") ? relative : (baseDirectory as NSString).appendingPathComponent(relative)
        if let size = (try? FileManager.default.attributesOfItem(atPath: full))?[.size] as? Int, size > SpecLoader.maxBytes {
            walker.error(node, path, "patch file \(relative) is \(size) bytes; a patch is at most \(SpecLoader.maxBytes) bytes", hint: "is this the file you meant?")
            return nil
        }
        guard let data = FileManager.default.contents(atPath: full), let text = String(data: data, encoding: .utf8) else {
            walker.error(node, path, "cannot read patch file \(full)", hint: "paths are relative to the spec file's directory")
            return nil
        }
        let inner = YAMLWalker(file: full)
        do {
            var kinds: Set<ConfigPatch.Kind> = []
            var parts: [PatchSource.Part] = []
            // compose_all stops quietly at a syntax error and keeps it aside; read it out, or a
            // broken file would pass as its first documents (or as empty).
            var sequence = try Yams.compose_all(yaml: text)
            var documents: [Node] = []
            while let document = sequence.next() { documents.append(document) }
            if let error = sequence.error { throw error }
            for document in documents {
                if let problem = YAMLScreen.problem(in: document) {
                    let place = problem.mark.map { ":\($0.line):\($0.column)" } ?? ""
                    let field = problem.path.isEmpty ? "" : "\(problem.path): "
                    walker.report(.error, mark: node.mark, path, "\(relative)\(place): \(field)\(problem.message)", hint: problem.hint)
                    return nil
                }
                if document.mapping != nil {
                    kinds.insert(.strategicMerge)
                    inner.scanForSecrets(document, "")
                    parts.append(PatchSource.Part(node: document, path: ""))
                } else if let operations = document.sequence {
                    kinds.insert(.jsonPatch)
                    inner.scanForSecrets(document, "")
                    parts += operations.enumerated().map { PatchSource.Part(node: $1, path: YAMLWalker.index("", $0)) }
                } else {
                    walker.error(node, path, "\(relative) holds a document that is neither a mapping nor a list")
                    return nil
                }
            }
            if !inner.diagnostics.isEmpty {
                for diagnostic in inner.diagnostics { walker.report(diagnostic.severity, mark: node.mark, path, "\(relative):\(diagnostic.line):\(diagnostic.column): \(diagnostic.message)", hint: diagnostic.hint) }
                return nil
            }
            guard let kind = kinds.first, kinds.count == 1 else {
                walker.error(node, path, kinds.isEmpty ? "\(relative) is empty" : "\(relative) mixes strategic-merge and JSON patch documents",
                    hint: "put each kind of patch in its own file")
                return nil
            }
            collected.sources.append(PatchSource(kind: kind, parts: parts, file: (relative, node, path)))
            return ConfigPatch(kind: kind, yaml: text, origin: full)
        } catch {
            // Yams' own description quotes the offending line; the file may be anything the
            // spec points at (a key by mistake), so only libyaml's problem and position are shown.
            var place = ""
            var problem = "cannot be parsed"
            if let yamlError = error as? YamlError {
                switch yamlError {
                case .scanner(_, let text, let mark, _), .parser(_, let text, let mark, _), .composer(_, let text, let mark, _):
                    place = ":\(mark.line):\(mark.column)"
                    problem = text
                case .duplicatedKeysInMapping(let keys, let context):
                    place = ":\(context.mark.line):\(context.mark.column)"
                    problem = "duplicate key\(keys.count == 1 ? "" : "s") \(keys.sorted().joined(separator: ", "))"
                default:
                    break
                }
            }
            walker.error(node, path, "\(relative)\(place): is not valid YAML: \(problem)", hint: "check indentation and quoting there")
            return nil
        }
    }

    // MARK: - GitOps, failover, drills

    func gitops(_ node: Node, _ path: String) -> GitOpsSpec? {
        guard let fields = walker.map(node, path, keys: ["url", "branch", "path", "credentialsEnv", "credentialsFile", "knownHostsFile", "flux"], what: "gitops") else { return nil }
        let url = fields.string("url", required: true, example: "ssh://git@github.com/me/fleet.git")
        if let url, !SpecValidator.isGitURL(url) {
            walker.error(fields.value("url"), fields.path("url"), "\"\(InputSanitizer.maskingCredentials(url))\" is not a Git URL Flux can clone",
                hint: "use https://host/org/repo.git or ssh://git@host/org/repo.git")
        }
        let branch = fields.string("branch") ?? "main"
        let repoPath = fields.string("path", required: true, example: "clusters/home")
        if let repoPath, repoPath.hasPrefix("/") || repoPath.split(separator: "/").contains("..") {
            walker.error(fields.value("path"), fields.path("path"), "\"\(repoPath)\" must be a relative path inside the repository", hint: "e.g. clusters/home")
        }
        let credentials = fields.secretReference("credentials", required: false, exampleEnv: "FLUX_GIT_TOKEN")
        let knownHostsFile = fields.string("knownHostsFile").map(specRelative)
        let fluxNode = fields.value("flux")
        let flux = fluxNode.flatMap { self.flux($0, fields.path("flux")) }
        guard let url, let repoPath, fluxNode == nil || flux != nil else { return nil }
        return GitOpsSpec(url: url, branch: branch, path: repoPath, credentials: credentials, knownHostsFile: knownHostsFile, flux: flux)
    }

    func failover(_ node: Node, _ path: String) -> FailoverSpec? {
        guard let fields = walker.map(node, path, keys: ["ingressIP", "replacement"], what: "failover") else { return nil }
        var ingress: IngressIPSpec?
        var failed = false
        if let ipNode = fields.value("ingressIP") {
            let ipPath = fields.path("ingressIP")
            if let ip = walker.map(ipNode, ipPath, keys: ["name", "provider", "candidatePools"], what: "ingressIP") {
                let name = ip.string("name", required: true, example: "ingress")
                let provider = ip.string("provider", required: true, example: "hcloud")
                let candidates = ip.strings("candidatePools", required: true, of: "pool names")
                if let candidates, candidates.isEmpty {
                    walker.error(ip.value("candidatePools"), ip.path("candidatePools"), "needs at least one pool", hint: "list the pools whose nodes may hold the IP, most preferred first")
                }
                if let name, let provider, let candidates, !candidates.isEmpty {
                    ingress = IngressIPSpec(name: name, provider: provider, candidatePools: candidates)
                } else {
                    failed = true
                }
            } else {
                failed = true
            }
        }
        var replacement = ReplacementPolicy(mode: .manual, nodeLostAfter: .seconds(600))
        if let rNode = fields.value("replacement") {
            if let r = walker.map(rNode, fields.path("replacement"), keys: ["mode", "nodeLostAfter"], what: "replacement") {
                let mode = r.choice("mode", ReplacementPolicy.Mode.allCases.map(\.rawValue), required: true, what: "replacement mode")
                let lost = r.duration("nodeLostAfter") ?? (r.has("nodeLostAfter") ? nil : .seconds(600))
                if let mode = mode.flatMap(ReplacementPolicy.Mode.init(rawValue:)), let lost {
                    replacement = ReplacementPolicy(mode: mode, nodeLostAfter: lost)
                } else {
                    failed = true
                }
            } else {
                failed = true
            }
        }
        return failed ? nil : FailoverSpec(ingressIP: ingress, replacement: replacement)
    }

    func drills(_ node: Node, _ path: String) -> (DrillSpec?, Bool) {
        let keys = ["schedule", "scenarios", "guards", "heartbeatURLEnv", "heartbeatURLFile"]
        guard let fields = walker.map(node, path, keys: keys, what: "drills") else { return (nil, false) }
        var schedule: CronSchedule?
        if let text = fields.string("schedule", required: true, example: "\"0 3 * * 0\"") {
            do {
                schedule = try CronSchedule(parsing: text)
            } catch {
                walker.error(fields.value("schedule"), fields.path("schedule"), "\"\(text)\" \(error.message)",
                    hint: "five fields: minute hour day-of-month month day-of-week, e.g. \"0 3 * * 0\" (Sundays 03:00)")
            }
        }
        var scenarios: [DrillSpec.Scenario]?
        if let sNode = fields.value("scenarios", required: true, example: "[lose-worker]"),
            let items = walker.list(sNode, fields.path("scenarios"), of: "scenarios")
        {
            let valid = DrillSpec.Scenario.allCases.map(\.rawValue)
            var seen: Set<String> = []
            var result: [DrillSpec.Scenario] = []
            for item in items {
                guard let text = walker.choice(item.node, item.path, valid, what: "drill scenario") else { continue }
                if !seen.insert(text).inserted {
                    walker.error(item.node, item.path, "scenario \"\(text)\" is listed twice")
                    continue
                }
                if let scenario = DrillSpec.Scenario(rawValue: text) { result.append(scenario) }
            }
            if items.isEmpty { walker.error(sNode, fields.path("scenarios"), "needs at least one scenario", hint: "valid: \(valid.joined(separator: ", "))") }
            scenarios = result.count == items.count && !items.isEmpty ? result : nil
        }
        var guards: DrillGuards? = DrillGuards(requireHealthy: true, minReadyControlPlanes: 0, maxDuration: .seconds(1800))
        var minGiven = false
        if let gNode = fields.value("guards") {
            if let g = walker.map(gNode, fields.path("guards"), keys: ["requireHealthy", "minReadyControlPlanes", "maxDuration"], what: "guards") {
                let healthy = g.bool("requireHealthy") ?? (g.has("requireHealthy") ? nil : true)
                let minReady = g.int("minReadyControlPlanes", range: 1...Int.max)
                minGiven = minReady != nil
                let maxDuration = g.duration("maxDuration") ?? (g.has("maxDuration") ? nil : .seconds(1800))
                if let healthy, let maxDuration, g.has("minReadyControlPlanes") == (minReady != nil) {
                    guards = DrillGuards(requireHealthy: healthy, minReadyControlPlanes: minReady ?? 0, maxDuration: maxDuration)
                } else {
                    guards = nil
                }
            } else {
                guards = nil
            }
        }
        let heartbeat = fields.secretReference("heartbeatURL", required: false, exampleEnv: "DRILL_HEARTBEAT_URL")
        guard let schedule, let scenarios, let guards else { return (nil, minGiven) }
        return (DrillSpec(schedule: schedule, scenarios: scenarios, guards: guards, heartbeatURL: heartbeat), minGiven)
    }
}
