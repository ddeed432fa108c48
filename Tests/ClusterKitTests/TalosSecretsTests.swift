import ClusterKit
import ClusterTestSupport
import Foundation
import Testing

@Suite("Talos secrets bundle and store")
struct TalosSecretsTests {
    @Test("the talosctl reference bundle round-trips byte for byte (minus its comment line)", .requiresReference(ReferenceData.talosSecrets))
    func referenceRoundTrip() throws {
        let url = try TalosFixture.reference("examples/secrets.yaml")
        let original = try String(contentsOf: url, encoding: .utf8)
        let bundle = try SecretsBundle(talosYAML: original)
        let withoutComments = original.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("#") }.joined(separator: "\n")
        #expect(bundle.talosYAML() == withoutComments)
        #expect(try SecretsBundle(talosYAML: bundle.talosYAML()) == bundle)
        #expect(bundle.clusterID == "0raF93qnkMvF-FZNuvyGozXNdLiT2FOWSlyBaW4PR-w=")
        #expect(!bundle.description.contains(bundle.clusterSecret))
        var dumped = ""
        dump(bundle, to: &dumped)
        #expect(!dumped.contains(bundle.clusterSecret) && !dumped.contains("PRIVATE KEY"))
        #expect(!String(reflecting: bundle).contains(bundle.trustdToken))
        // talosctl writes the OS CA key as PKCS#8 (Go's MarshalPKCS8PrivateKey), as generate() does.
        #expect(bundle.osCA.keyPEM.split(separator: "\n")[1].hasPrefix("MC4CAQAwBQYDK2Vw"))
    }

    @Test("a broken bundle is refused naming the field, not the value", .requiresReference(ReferenceData.talosSecrets))
    func brokenBundle() throws {
        let url = try TalosFixture.reference("examples/secrets.yaml")
        let original = try String(contentsOf: url, encoding: .utf8)
        let broken = original.replacingOccurrences(of: "trustdinfo:\n    token: d8cwfa.eyvpi0xwxyarbfid\n", with: "")
        #expect(broken != original)
        let error = try #require(throws: ClusterError.self) { try SecretsBundle(talosYAML: broken) }
        #expect(error.message.contains("trustdinfo.token"))
        #expect(!error.message.contains("pofHbABZq7VXuObsdLdy"))
    }

    @Test("generated bundles match talosctl's algorithms, subjects and 10-year validity", arguments: ["v1.13.9", "v1.6.7"])
    func generation(version: String) throws {
        guard TalosFixture.require(TalosTestSupport.opensslAvailable, "openssl") else { return }
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let talos = try #require(SemanticVersion(parsing: version))
        let bundle = try SecretsBundle.generate(talosVersion: talos, now: now)
        try bundle.validate()
        #expect(try SecretsBundle(talosYAML: bundle.talosYAML()) == bundle)
        #expect(bundle.bootstrapToken.wholeMatch(of: /[a-z0-9]{6}\.[a-z0-9]{16}/) != nil)
        #expect(bundle.trustdToken.wholeMatch(of: /[a-z0-9]{6}\.[a-z0-9]{16}/) != nil)
        #expect(Data(base64Encoded: bundle.clusterSecret)?.count == 32)
        #expect(Data(base64Encoded: try #require(bundle.secretboxEncryptionSecret))?.count == 32)
        #expect(!bundle.clusterID.contains("+") && !bundle.clusterID.contains("/") && bundle.clusterID.count == 44)

        let dir = try TalosFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cases: [(String, PEMCertificateAndKey, String, String)] = [
            ("etcd", bundle.etcdCA, "O = etcd", "id-ecPublicKey"),
            ("k8s", bundle.kubernetesCA, "O = kubernetes", "id-ecPublicKey"),
            ("aggregator", bundle.aggregatorCA, "CN = front-proxy", "id-ecPublicKey"),
            ("os", bundle.osCA, "O = talos", "ED25519"),
        ]
        for (name, pair, subject, algorithm) in cases {
            let cert = try TalosFixture.file(pair.certificatePEM, in: dir, named: "\(name).crt")
            let text = try TalosFixture.openssl(["x509", "-in", cert.path, "-noout", "-text"]).output
            #expect(text.contains("Subject: \(subject)"), "\(name) subject")
            #expect(text.contains("Public Key Algorithm: \(algorithm)"), "\(name) algorithm")
            #expect(text.contains("CA:TRUE"), "\(name) is a CA")
            #expect(text.contains("Certificate Sign"), "\(name) key usage")
            #expect(text.contains("Not Before: Jan 15 08:00:00 2027 GMT"), "\(name) not before")
            #expect(text.contains("Not After : Jan 12 08:00:00 2037 GMT"), "\(name) not after (87600h)")
            let verify = try TalosFixture.openssl(["verify", "-CAfile", cert.path, "-attime", "1800000100", cert.path])
            #expect(verify.status == 0, "\(name) self-signature: \(verify.error)")
            let key = try TalosFixture.file(pair.keyPEM.replacingOccurrences(of: "ED25519 PRIVATE KEY", with: "PRIVATE KEY"), in: dir, named: "\(name).key")
            let keyText = try TalosFixture.openssl(["pkey", "-in", key.path, "-noout", "-text"]).output
            #expect(keyText.contains(algorithm == "ED25519" ? "ED25519 Private-Key" : "Private-Key: (256 bit)"), "\(name) key")
            let keyPub = try TalosFixture.openssl(["pkey", "-in", key.path, "-pubout"]).output
            let certPub = try TalosFixture.openssl(["x509", "-in", cert.path, "-noout", "-pubkey"]).output
            #expect(keyPub == certPub && !keyPub.isEmpty, "\(name) key matches certificate")
        }
        #expect(bundle.osCA.keyPEM.hasPrefix("-----BEGIN ED25519 PRIVATE KEY-----"))
        // PKCS#8 like Go's MarshalPKCS8PrivateKey, 48 bytes ("MC4CAQAwBQYDK2Vw"), as in the reference bundle.
        #expect(bundle.osCA.keyPEM.split(separator: "\n")[1].hasPrefix("MC4CAQAwBQYDK2Vw"))
        #expect(bundle.etcdCA.keyPEM.hasPrefix("-----BEGIN EC PRIVATE KEY-----"))
        // SEC1 with the curve parameters, 119 bytes like Go's MarshalECPrivateKey ("MHcCAQEE").
        #expect(bundle.etcdCA.keyPEM.split(separator: "\n")[1].hasPrefix("MHcCAQEE"))
        let sa = try TalosFixture.file(bundle.serviceAccountKeyPEM, in: dir, named: "sa.key")
        let saText = try TalosFixture.openssl(["pkey", "-in", sa.path, "-noout", "-text"]).output
        if talos >= SemanticVersion(major: 1, minor: 7, patch: 0) {
            #expect(bundle.serviceAccountKeyPEM.hasPrefix("-----BEGIN RSA PRIVATE KEY-----"))
            #expect(saText.contains("Private-Key: (4096 bit"))
            #expect(try TalosPKI.keyAlgorithm(ofPEM: bundle.serviceAccountKeyPEM) == .rsa)
        } else {
            #expect(bundle.serviceAccountKeyPEM.hasPrefix("-----BEGIN EC PRIVATE KEY-----"))
            #expect(saText.contains("Private-Key: (256 bit)"))
        }
    }

    @Test("tokens and ids come from the injected random source")
    func injectedRandomness() throws {
        struct Counter: RandomNumberGenerator {
            var state: UInt64 = 42
            mutating func next() -> UInt64 {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return state
            }
        }
        var first = Counter()
        var second = Counter()
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let a = try SecretsBundle.generate(talosVersion: SemanticVersion(major: 1, minor: 6, patch: 0), now: now, using: &first)
        let b = try SecretsBundle.generate(talosVersion: SemanticVersion(major: 1, minor: 6, patch: 0), now: now, using: &second)
        #expect(a.clusterID == b.clusterID && a.bootstrapToken == b.bootstrapToken && a.trustdToken == b.trustdToken)
        #expect(a.etcdCA.keyPEM != b.etcdCA.keyPEM)
    }

    @Test("the store creates once, refuses to overwrite without force, and writes 0600")
    func storeCreateOnce() throws {
        let base = try TalosFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: base) }
        let store = SecretsStore(directory: base.appendingPathComponent("home"))
        #expect(throws: ClusterError.self) { try store.load() }
        let reference = try TalosFixture.secrets()
        try store.save(reference)
        #expect(try TalosFixture.mode(of: store.bundleURL) == 0o600)
        #expect(try TalosFixture.mode(of: store.directory) == 0o700)
        #expect(try store.load() == reference)
        let other = try SecretsBundle.generate(talosVersion: SemanticVersion(major: 1, minor: 6, patch: 0))
        let error = try #require(throws: ClusterError.self) { try store.save(other) }
        #expect(error.code == .refused)
        #expect(try store.load() == reference)
        #expect(try store.loadOrCreate(talosVersion: SemanticVersion(major: 1, minor: 6, patch: 0)) == reference)
        try store.save(other, force: true)
        #expect(try store.load() == other)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: store.directory.path)
        #expect(leftovers == ["secrets.yaml"], "no temporary files left behind")
    }

    @Test("racing creators: exactly one bundle wins and every loadOrCreate returns it")
    func racingCreators() async throws {
        let base = try TalosFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: base) }
        let store = SecretsStore(directory: base.appendingPathComponent("home"))
        let version = SemanticVersion(major: 1, minor: 6, patch: 0)
        let results = try await withThrowingTaskGroup(of: SecretsBundle.self) { group in
            for _ in 0..<8 { group.addTask { try store.loadOrCreate(talosVersion: version) } }
            return try await group.reduce(into: [SecretsBundle]()) { $0.append($1) }
        }
        let stored = try store.load()
        #expect(results.count == 8 && results.allSatisfy { $0 == stored })
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.directory.path) == ["secrets.yaml"])
    }

    @Test("import from a talosctl file and export back round-trip", .requiresReference(ReferenceData.talosSecrets))
    func importExport() throws {
        let base = try TalosFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: base) }
        let store = SecretsStore(directory: base.appendingPathComponent("home"))
        let source = try TalosFixture.reference("examples/secrets.yaml")
        let imported = try store.importBundle(from: source)
        #expect(imported == (try TalosFixture.referenceSecrets()))
        #expect(throws: ClusterError.self) { try store.importBundle(from: source) }
        let exported = base.appendingPathComponent("out/secrets.yaml")
        try store.exportBundle(to: exported)
        #expect(try TalosFixture.mode(of: exported) == 0o600)
        #expect(try SecretsBundle(talosYAML: String(contentsOf: exported, encoding: .utf8)) == imported)
        #expect(throws: ClusterError.self) { try store.exportBundle(to: exported) }
        try store.exportBundle(to: exported, force: true)
    }

    @Test("the default location honours CLUSTERCTL_HOME, else ~/.config/clusterctl")
    func defaultLocation() {
        #expect(SecretsStore.defaultDirectory(cluster: "home", environment: ["CLUSTERCTL_HOME": "/srv/cc"]).path == "/srv/cc/home")
        #expect(SecretsStore.defaultDirectory(cluster: "home", environment: ["HOME": "/home/ann"]).path == "/home/ann/.config/clusterctl/home")
    }
}
