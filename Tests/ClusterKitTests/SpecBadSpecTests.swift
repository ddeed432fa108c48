import ClusterKit
import Testing

/// One bad spec: lines of ``SpecFixtures/base`` replaced, the message fragment expected and where.
struct BadSpec: CustomTestStringConvertible, Sendable {
    var name: String
    var replacements: [Int: String]
    /// Must appear in the diagnostic's message or hint.
    var fragment: String
    /// `line:column` of that diagnostic.
    var position: String

    var testDescription: String { name }
}

@Suite("Spec: bad specs")
struct SpecBadSpecTests {
    static let cases: [BadSpec] = [
        BadSpec(name: "unknown top-level key", replacements: [1: "nmae: t"], fragment: #"unknown field "nmae""#, position: "1:1"),
        BadSpec(name: "did you mean in a pool", replacements: [26: "    cuont: 2"], fragment: #"did you mean "count"?"#, position: "26:5"),
        BadSpec(name: "count not an integer", replacements: [26: "    count: many"], fragment: "expected an integer", position: "26:12"),
        BadSpec(name: "negative count", replacements: [26: "    count: -1"], fragment: "must be between 0 and 5000", position: "26:12"),
        BadSpec(name: "bad role", replacements: [24: "    role: master"], fragment: "valid: controlplane, worker", position: "24:11"),
        BadSpec(name: "bad provider type", replacements: [15: "    type: hetzner-cloud"], fragment: #""hetzner-cloud" is not a valid provider type"#, position: "15:11"),
        BadSpec(name: "pool names an unknown provider", replacements: [36: "    provider: kvmm"], fragment: #"unknown provider "kvmm""#, position: "36:15"),
        BadSpec(name: "missing required field", replacements: [25: "    publicIPv4: true"], fragment: #"missing required field "provider""#, position: "23:5"),
        BadSpec(name: "inline token", replacements: [16: "    token: abc123"], fragment: "tokenEnv: HCLOUD_TOKEN", position: "16:5"),
        BadSpec(name: "inline password in ssh", replacements: [21: "    ssh: {host: kvm.lan, user: me, keyFile: k, password: hunter2}"], fragment: "inline secrets are refused", position: "21:48"),
        BadSpec(name: "CIDR with host bits", replacements: [10: "  podCIDRs: [10.244.1.0/15]"], fragment: "did you mean 10.244.0.0/15?", position: "10:14"),
        BadSpec(name: "pod and service CIDRs overlap", replacements: [11: "  serviceCIDRs: [10.244.128.0/20]"], fragment: "overlaps pod CIDR 10.244.0.0/16", position: "11:18"),
        BadSpec(name: "Hetzner network overlaps pods", replacements: [18: "    network: {name: t, ipRange: 10.244.0.0/16, subnet: 10.244.1.0/24, zone: eu-central}"], fragment: "Hetzner network t 10.244.0.0/16 overlaps pod CIDR", position: "18:33"),
        BadSpec(name: "subnet outside ip range", replacements: [18: "    network: {name: t, ipRange: 10.0.0.0/16, subnet: 10.1.1.0/24, zone: eu-central}"], fragment: "is not inside ipRange 10.0.0.0/16", position: "18:54"),
        BadSpec(name: "Talos version not a version", replacements: [3: "  version: 1.13"], fragment: #""1.13" is not a version"#, position: "3:12"),
        BadSpec(name: "Kubernetes version not a version", replacements: [6: "  version: latest"], fragment: #""latest" is not a version"#, position: "6:12"),
        BadSpec(name: "floating IP endpoint not defined", replacements: [8: "  floatingIP: ingres"], fragment: #"did you mean "ingress"?"#, position: "8:15"),
        BadSpec(name: "DNS endpoint invalid", replacements: [8: "  dns: api_server.example"], fragment: "is not a valid DNS name", position: "8:8"),
        BadSpec(name: "VIP over two providers", replacements: [8: "  vip: 10.0.1.100"], fragment: "a VIP needs every control-plane node on one layer-2 network", position: "8:8"),
        BadSpec(name: "two endpoint kinds", replacements: [8: "  floatingIP: ingress\n  dns: api.example.net"], fragment: "give only one of dns, floatingIP or vip", position: "9:3"),
        BadSpec(name: "failover names unknown pool", replacements: [40: "  ingressIP: {name: ingress, provider: hcloud, candidatePools: [cpp]}"], fragment: #"unknown pool "cpp""#, position: "40:65"),
        BadSpec(name: "failover pool on another provider", replacements: [40: "  ingressIP: {name: ingress, provider: hcloud, candidatePools: [cp, big]}"], fragment: "runs on provider kvm, but the floating IP belongs to hcloud", position: "40:69"),
        BadSpec(name: "floating IP on a provider without control planes", replacements: [25: "    provider: kvm", 27: "", 28: "    size: {cpus: 2, memory: 4GiB}"], fragment: "holds no control-plane node", position: "8:15"),
        BadSpec(name: "bad drill scenario", replacements: [43: "  scenarios: [lose-controlplane, lose-node]"], fragment: #""lose-node" is not a valid drill scenario"#, position: "43:34"),
        BadSpec(name: "cron with four fields", replacements: [42: #"  schedule: "0 3 * *""#], fragment: "has 4 fields", position: "42:13"),
        BadSpec(name: "cron hour out of range", replacements: [42: #"  schedule: "0 25 * * 0""#], fragment: "outside 0-23", position: "42:13"),
        BadSpec(name: "Hetzner pool sized in cpus", replacements: [28: "    size: {cpus: 2, memory: 4GiB}"], fragment: "a Hetzner pool needs size.serverType", position: "28:11"),
        BadSpec(name: "libvirt pool with serverType", replacements: [33: "    size: {serverType: cx22}"], fragment: "serverType is for Hetzner", position: "33:24"),
        BadSpec(name: "node patch for a node outside the pool", replacements: [38: "    size: {cpus: 8, memory: 32GiB}\n    nodePatches: {t-cp-1: [{machine: {sysctls: {a: b}}}]}"], fragment: #"node "t-cp-1" is not in pool big"#, position: "39:19"),
        BadSpec(name: "duplicate pool name", replacements: [29: "  - name: cp"], fragment: #"duplicate pool name "cp""#, position: "29:11"),
        BadSpec(name: "duplicate provider name", replacements: [19: "  - name: hcloud"], fragment: #"duplicate provider name "hcloud""#, position: "19:11"),
        BadSpec(name: "no control-plane nodes", replacements: [26: "    count: 0", 32: "    count: 0"], fragment: "the cluster has no control-plane nodes", position: "26:12"),
        BadSpec(name: "lose-controlplane drill with two control planes", replacements: [32: "    count: 0"], fragment: "lose-controlplane needs at least 3 control-plane nodes", position: "43:15"),
        BadSpec(name: "bool as yes", replacements: [12: "  kubeSpan: yes"], fragment: "expected true or false", position: "12:13"),
        BadSpec(name: "scalar where a list belongs", replacements: [17: "    locations: fsn1"], fragment: "expected a list of locations", position: "17:16"),
        BadSpec(name: "unknown Hetzner location", replacements: [17: "    locations: [fsn1, fra1]"], fragment: #""fra1" is not a valid Hetzner location"#, position: "17:23"),
        BadSpec(name: "inline heartbeat URL", replacements: [44: "  heartbeatURL: https://hc-ping.com/abc"], fragment: "heartbeatURLEnv", position: "44:3"),
        BadSpec(name: "guard needs more control planes than exist", replacements: [44: "  guards: {minReadyControlPlanes: 5}"], fragment: "more than the 3 control-plane nodes", position: "44:35"),
        BadSpec(name: "gitops URL without scheme", replacements: [44: "  heartbeatURLEnv: HB_URL\ngitops: {url: github.com/me/fleet, path: clusters/t}"], fragment: "is not a Git URL", position: "45:15"),
        BadSpec(name: "taint with bad effect", replacements: [38: "    size: {cpus: 8, memory: 32GiB}\n    taints: [gpu=true:NoScheduled]"], fragment: #"did you mean "NoSchedule"?"#, position: "39:14"),
        BadSpec(name: "memory without a unit we know", replacements: [33: "    size: {cpus: 2, memory: 4GB}"], fragment: #""4GB" is not a size"#, position: "33:29"),
        BadSpec(name: "JSON patch add without value", replacements: [38: "    size: {cpus: 8, memory: 32GiB}\n    patches: [[{op: add, path: /machine/x}]]"], fragment: #""add" needs a value"#, position: "39:16"),
        BadSpec(name: "inline secret inside a patch", replacements: [38: "    size: {cpus: 8, memory: 32GiB}\n    patches: [{cluster: {secret: abc}}]"], fragment: "inline secrets are refused in patches", position: "39:26"),
        BadSpec(name: "environment variable name invalid", replacements: [16: "    tokenEnv: hcloud-token"], fragment: "is not an environment variable name", position: "16:15"),
        BadSpec(name: "libvirt key under a hetzner provider", replacements: [16: "    tokenEnv: HCLOUD_TOKEN\n    storagePool: default"], fragment: #"unknown field "storagePool" in a hetzner provider"#, position: "17:5"),
        BadSpec(name: "JSON patch on Talos 1.14", replacements: [3: "  version: v1.14.0", 38: "    size: {cpus: 8, memory: 32GiB}\n    patches: [{op: remove, path: /cluster/proxy}]"], fragment: "reject JSON patches", position: "39:14"),
        BadSpec(name: "Hetzner location outside the network zone", replacements: [17: "    locations: [fsn1, hel1, ash]"], fragment: "location ash is in network zone us-east, but network t is in eu-central", position: "17:29"),
        BadSpec(name: "Hetzner network not RFC 1918", replacements: [18: "    network: {name: t, ipRange: 100.64.0.0/16, subnet: 100.64.1.0/24, zone: eu-central}"], fragment: "is not a private (RFC 1918) range", position: "18:33"),
        BadSpec(name: "provider without a type", replacements: [20: ""], fragment: #"missing required field "type""#, position: "19:5"),
    ]

    @Test("bad spec is reported at its place", arguments: cases)
    func badSpec(_ bad: BadSpec) throws {
        try bad.expectRefused()
    }

    @Test("the base fixture is valid and warning-free")
    func baseIsValid() throws {
        let loaded = try SpecLoader.load(yaml: SpecFixtures.base, file: "clusters/t.yaml")
        #expect(loaded.warnings.isEmpty, "\(loaded.warnings)")
        #expect(loaded.spec.pools.map(\.name) == ["cp", "cp-home", "big"])
    }
}
