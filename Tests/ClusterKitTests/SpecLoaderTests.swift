import ClusterKit
import Foundation
import Testing

@Suite("Spec: loading and validation")
struct SpecLoaderTests {
    var clusters: String { SpecFixtures.repositoryRoot + "/clusters" }

    @Test("clusters/home.yaml loads with no errors and no warnings")
    func homeLoads() throws {
        let loaded = try SpecLoader.load(path: clusters + "/home.yaml")
        #expect(loaded.warnings.isEmpty, "\(loaded.warnings)")
        let spec = loaded.spec
        #expect(spec.name == "home")
        #expect(spec.network.kubeSpan)
        #expect(spec.gitops?.path == "clusters/home")
        if case .file = spec.gitops?.credentials {} else { Issue.record("gitops credentials should be a file reference") }
        #expect(spec.drills?.heartbeatURL == .environment("DRILL_HEARTBEAT_URL"))
        #expect(spec.failover?.ingressIP?.candidatePools == ["cp"])
        let cp = try #require(spec.pool(named: "cp"))
        #expect(cp.nodeNames(cluster: spec.name) == ["home-cp-1", "home-cp-2"])
        // Three control-plane sites, one node each: losing any one keeps quorum.
        var sites: [String: Int] = [:]
        for pool in spec.pools where pool.role == .controlPlane {
            for index in 0..<pool.count { sites[pool.site(ofNodeAt: index, provider: spec.provider(named: pool.provider)), default: 0] += 1 }
        }
        #expect(sites == ["hcloud/fsn1": 1, "hcloud/hel1": 1, "workstation": 1])
        #expect(spec.pools.contains { $0.role == .worker && $0.provider == "workstation" })
        #expect(spec.pools.contains { $0.role == .worker && $0.provider == "hcloud" })
        let big = try #require(spec.pool(named: "big"))
        #expect(big.nodePatches["home-big-1"]?.first?.kind == .jsonPatch)
        #expect(big.patches.first?.kind == .strategicMerge)
        #expect(big.patches.first?.yaml.contains("disk: /dev/vda") == true)
        #expect(spec.talos.patches.count == 1)
        if case .hetzner(let hetzner) = spec.provider(named: "hcloud")?.settings {
            #expect(hetzner.token == .environment("HCLOUD_TOKEN"))
        } else {
            Issue.record("hcloud should be a hetzner provider")
        }
        let image = try #require(loaded.image)
        #expect(image.name == "default")
        #expect(image.schematicID.count == 64)
    }

    @Test("clusters/lab.yaml loads, warning that one Proxmox host holds the control plane")
    func labLoads() throws {
        let loaded = try SpecLoader.load(path: clusters + "/lab.yaml")
        #expect(loaded.spec.providers.first?.type == "proxmox")
        #expect(loaded.warnings.count == 1)
        #expect(loaded.warnings.first?.message.contains("site pve holds 3 of 3 control-plane nodes") == true)
        if case .vip(let address) = loaded.spec.endpoint.kind { #expect(address == "192.168.20.10") } else { Issue.record("lab uses a VIP") }
        #expect(loaded.image?.schematic.officialExtensions.contains("siderolabs/iscsi-tools") == true)
    }

    @Test("an even control-plane count is a warning")
    func evenControlPlane() throws {
        // cp 3 (fsn1, hel1, fsn1) + cp-home 1 = 4; no site holds a majority (2 of 4).
        let text = SpecFixtures.base(replacing: [26: "    count: 3"])
        let loaded = try SpecLoader.load(yaml: text, file: "t.yaml")
        #expect(loaded.warnings.count == 1)
        let warning = try #require(loaded.warnings.first)
        #expect(warning.severity == .warning)
        #expect(warning.message.contains("4 control-plane nodes: an even count"))
        #expect(warning.position == "26:12")
    }

    @Test("one site holding a control-plane majority is a warning")
    func majoritySite() throws {
        let text = SpecFixtures.base(replacing: [27: "    locations: [fsn1]"])
        let loaded = try SpecLoader.load(yaml: text, file: "t.yaml")
        #expect(loaded.warnings.map(\.message) == [
            "site hcloud/fsn1 holds 2 of 3 control-plane nodes: losing that site loses etcd quorum"
        ])
        #expect(loaded.warnings.first?.description.hasPrefix("t.yaml:26:12: warning: pools[0].count: site hcloud/fsn1") == true)
    }

    @Test("overlapping CIDRs are refused, naming both networks")
    func cidrOverlap() throws {
        let text = SpecFixtures.base(replacing: [11: "  serviceCIDRs: [10.0.0.0/8]"])
        let error = try #require(throws: SpecError.self) { try SpecLoader.load(yaml: text, file: "t.yaml") }
        let messages = error.errors.map(\.message)
        #expect(messages.contains("service CIDR 10.0.0.0/8 overlaps pod CIDR 10.244.0.0/16 (network.podCIDRs[0])"))
        #expect(messages.contains("Hetzner network t 10.0.0.0/16 overlaps service CIDR 10.0.0.0/8 (network.serviceCIDRs[0])"))
    }

    @Test("an unknown key gets a did-you-mean hint with the allowed fields")
    func didYouMean() throws {
        let text = SpecFixtures.base(replacing: [10: "  podCidrs: [10.244.0.0/16]"])
        let error = try #require(throws: SpecError.self) { try SpecLoader.load(yaml: text, file: "clusters/t.yaml") }
        let diagnostic = try #require(error.errors.first)
        #expect(diagnostic.description == """
            clusters/t.yaml:10:3: error: network.podCidrs: unknown field "podCidrs" in network
              hint: did you mean "podCIDRs"? allowed fields: podCIDRs, serviceCIDRs, kubeSpan, discovery
            """)
    }

    @Test("an inline secret is refused and the reference form is suggested")
    func inlineSecretRefused() throws {
        let text = SpecFixtures.base(replacing: [16: "    apiToken: 0123456789abcdef"])
        let error = try #require(throws: SpecError.self) { try SpecLoader.load(yaml: text, file: "t.yaml") }
        let secret = try #require(error.errors.first { $0.path == "providers[0].apiToken" })
        #expect(secret.message == #"inline secrets are refused: "apiToken" holds a literal value"#)
        #expect(secret.hint?.contains("tokenEnv: HCLOUD_TOKEN") == true)
        #expect(secret.hint?.contains("apiTokenFile") == true)
        // The secret itself never appears in any diagnostic.
        #expect(!error.description.contains("0123456789abcdef"))
    }

    @Test("many errors are reported in one pass, sorted by position")
    func collectsAllErrors() throws {
        let text = SpecFixtures.base(replacing: [
            3: "  version: one", 15: "    type: hetzner", 24: "    role: boss", 38: "    size: {cpus: many, memory: 32GiB}",
            42: #"  schedule: "every sunday""#,
        ])
        let error = try #require(throws: SpecError.self) { try SpecLoader.load(yaml: text, file: "t.yaml") }
        #expect(error.errors.map(\.line) == [3, 24, 38, 42])
        #expect(error.description.hasSuffix("4 errors in t.yaml"))
    }

    @Test("a provider without a type is one error, not one per key, and no knock-on errors")
    func providerWithoutType() throws {
        let error = try #require(throws: SpecError.self) {
            try SpecLoader.load(yaml: SpecFixtures.base(replacing: [20: ""]), file: "t.yaml")
        }
        #expect(error.errors.count == 1, "\(error)")
        #expect(error.errors.first?.path == "providers[1].type")
    }

    @Test("a simulator-only spec spreads nodes over its locations")
    func simulatorSpec() throws {
        let text = """
            name: sim
            talos: {version: v1.13.9, image: default}
            kubernetes: {version: v1.36.0}
            endpoint: {dns: api.sim.example}
            providers:
              - {name: sim, type: simulator, site: lab}
            pools:
              - {name: cp, role: controlplane, provider: sim, count: 3, locations: [a, b, c], size: {cpus: 2, memory: 2GiB}}
              - {name: w, role: worker, provider: sim, count: 30, size: {cpus: 2, memory: 4GiB, disk: 20GiB}}
            """
        let loaded = try SpecLoader.load(yaml: text, file: "sim.yaml")
        #expect(loaded.warnings.isEmpty)
        let spec = loaded.spec
        let cp = try #require(spec.pool(named: "cp"))
        #expect((0..<3).map { cp.site(ofNodeAt: $0, provider: spec.provider(named: "sim")) } == ["sim/a", "sim/b", "sim/c"])
        #expect(spec.pool(named: "w")?.location(ofNodeAt: 7, provider: spec.provider(named: "sim")) == "lab")
        #expect(spec.network.podCIDRs.map(\.description) == ["10.244.0.0/16"])
        #expect(spec.drills == nil && spec.gitops == nil)
    }

    @Test("YAML syntax errors and duplicate keys carry a position")
    func yamlErrors() throws {
        let broken = try #require(throws: SpecError.self) { try SpecLoader.load(yaml: "name: t\ntalos: [\n", file: "t.yaml") }
        #expect(broken.errors.first?.message.hasPrefix("invalid YAML") == true)
        #expect((broken.errors.first?.line ?? 0) > 0)
        let duplicate = try #require(throws: SpecError.self) {
            try SpecLoader.load(yaml: SpecFixtures.base(replacing: [1: "name: t\nname: u"]), file: "t.yaml")
        }
        #expect(duplicate.errors.first?.message.contains(#"duplicate key "name""#) == true)
    }

    @Test("file: patches are read relative to the spec file")
    func filePatches() throws {
        // clusters/ with images/ beside it, as in the repository.
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("spec-\(UUID().uuidString)")
        let directory = base.appendingPathComponent("clusters")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("patches"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: base) }
        try FileManager.default.copyItem(
            at: URL(fileURLWithPath: SpecFixtures.repositoryRoot).appendingPathComponent("images"), to: base.appendingPathComponent("images"))
        try "machine:\n  sysctls:\n    vm.max_map_count: \"262144\"\n".write(to: directory.appendingPathComponent("patches/sysctl.yaml"), atomically: true, encoding: .utf8)
        // A JSON patch every node's config takes (workers have no cluster.proxy to remove, which
        // validate would refuse, as gen config would).
        try "- op: add\n  path: /machine/kubelet/extraArgs\n  value: {max-pods: \"250\"}\n".write(to: directory.appendingPathComponent("patches/noproxy.yaml"), atomically: true, encoding: .utf8)
        let text = SpecFixtures.base(replacing: [4: "  image: default\n  patches: [{file: patches/sysctl.yaml}, {file: patches/noproxy.yaml}]"])
        let specPath = directory.appendingPathComponent("t.yaml").path
        try text.write(toFile: specPath, atomically: true, encoding: .utf8)
        let loaded = try SpecLoader.load(path: specPath)
        #expect(loaded.spec.talos.patches.map(\.kind) == [.strategicMerge, .jsonPatch])
        #expect(loaded.spec.talos.patches.first?.yaml.contains("vm.max_map_count") == true)

        let missing = SpecFixtures.base(replacing: [4: "  image: default\n  patches: [{file: patches/nope.yaml}]"])
        try missing.write(toFile: specPath, atomically: true, encoding: .utf8)
        let error = try #require(throws: SpecError.self) { try SpecLoader.load(path: specPath) }
        #expect(error.errors.first?.message.contains("cannot read patch file") == true)
        #expect(error.errors.first?.position == "5:20")
    }

    @Test("a spec naming a missing image is refused when images/ is known")
    func missingImage() throws {
        let text = SpecFixtures.base(replacing: [4: "  image: defualt"])
        let error = try #require(throws: SpecError.self) {
            try SpecLoader.load(yaml: text, file: "t.yaml", imagesDirectory: SpecFixtures.repositoryRoot + "/images")
        }
        #expect(error.errors.first?.hint?.contains(#"did you mean "default"?"#) == true)
        #expect(error.errors.first?.position == "4:10")
    }

    @Test("resolve takes a name under clusters/ or a path")
    func resolve() {
        #expect(SpecLoader.resolve("home", clustersDirectory: "clusters") == "clusters/home.yaml")
        #expect(SpecLoader.resolve("./x/home.yaml", clustersDirectory: "clusters") == "./x/home.yaml")
        #expect(SpecLoader.resolve("other.yaml", clustersDirectory: "clusters") == "other.yaml")
        #expect(SpecLoader.resolve("/abs/lab.yml", clustersDirectory: "clusters") == "/abs/lab.yml")
    }

    @Test("a missing spec file is one clear error")
    func missingFile() throws {
        let error = try #require(throws: SpecError.self) { try SpecLoader.load(path: "/nonexistent/clusters/x.yaml") }
        #expect(error.errors.first?.message == "no such spec file")
    }
}
