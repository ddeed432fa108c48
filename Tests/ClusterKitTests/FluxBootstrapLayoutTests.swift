import ClusterKit
import ClusterTestSupport
import Foundation
import Testing

/// What `flux bootstrap git` writes, compared with the verbatim files of a real bootstrap
/// (../shared/reference/flux/bootstrap-layout), and the spec's `gitops.flux` block.
struct FluxBootstrapLayoutTests {
    static let referenceURL = "ssh://git@github.com/funnyadd/infra"

    @Test(.requiresReference(files: FluxReference.files)) func syncManifestIsTheReferenceByteForByte() throws {
        let layout = try FluxBootstrapLayout(spec: GitOpsSpec(url: Self.referenceURL, branch: "main", path: "clusters/home", credentials: nil))
        #expect(layout.syncManifest == (try FluxReference.layoutFile("gotk-sync.yaml")))
        #expect(layout.directory == "clusters/home/flux-system")
        #expect(layout.componentsFile == "clusters/home/flux-system/gotk-components.yaml")
    }

    @Test(.requiresReference(files: FluxReference.files)) func kustomizationIsTheReferenceByteForByte() throws {
        let text = FluxBootstrapLayout.kustomizationManifest(resources: ["gotk-sync.yaml", "gotk-components.yaml"])
        #expect(text == (try FluxReference.layoutFile("kustomization.yaml")))
    }

    @Test(arguments: [
        ("clusters/home", "./clusters/home", "clusters/home/flux-system"),
        ("./clusters/home/", "./clusters/home", "clusters/home/flux-system"),
        (".", "./", "flux-system"),
        ("./", "./", "flux-system"),
    ])
    func pathIsNormalisedAsBootstrapDoes(given: String, kustomizationPath: String, directory: String) throws {
        let layout = try FluxBootstrapLayout(spec: GitOpsSpec(url: Self.referenceURL, branch: "main", path: given, credentials: nil))
        #expect(layout.syncManifest.contains("  path: \(kustomizationPath)\n"))
        #expect(layout.directory == directory)
    }

    @Test func urlRulesFollowBootstrapGit() throws {
        let ssh = try FluxBootstrapLayout(spec: GitOpsSpec(url: "ssh://github.com/me/fleet.git", branch: "main", path: "c", credentials: nil))
        #expect(ssh.cloneURL == "ssh://git@github.com/me/fleet.git")
        #expect(ssh.committedURL == "ssh://git@github.com/me/fleet.git")
        #expect(ssh.usesSSH)
        let https = try FluxBootstrapLayout(spec: GitOpsSpec(url: "https://bot@git.example.org/me/fleet.git", branch: "main", path: "c", credentials: nil))
        #expect(https.committedURL == "https://git.example.org/me/fleet.git")
        #expect(!https.usesSSH)
        #expect(throws: ClusterError.self) {
            try FluxBootstrapLayout(spec: GitOpsSpec(url: "https://bot:hunter2@git.example.org/x.git", branch: "main", path: "c", credentials: nil))
        }
    }

    @Test func aBranchThatReadsAsAnotherTypeIsQuoted() throws {
        let layout = try FluxBootstrapLayout(spec: GitOpsSpec(url: Self.referenceURL, branch: "yes", path: "c", credentials: nil))
        #expect(layout.syncManifest.contains("    branch: \"yes\"\n"))
        #expect(FluxBootstrapLayout.componentsCommitMessage(version: "v2.9.4") == "Add Flux v2.9.4 component manifests")
    }

    @Test(.requiresReference(files: FluxReference.files)) func componentsHeaderGivesVersionAndComponents() throws {
        let text = try FluxReference.layoutFile("gotk-components.yaml")
        let components = try FluxComponents(manifest: text, origin: "reference")
        #expect(components.version == "v2.9.4")
        #expect(components.components == ["source-controller", "kustomize-controller", "helm-controller", "notification-controller"])
        // The digest coreutils computes for the same file.
        let path = try FluxReference.path("bootstrap-layout/clusters/home/flux-system/gotk-components.yaml")
        let sha256sum = try ChildProcess.run("/usr/bin/sha256sum", [path])
        #expect(sha256sum.hasPrefix(components.sha256 + " "))
        #expect(components.sha256.hasPrefix("97da4654"))
        try components.verify(version: "v2.9.4", sha256: components.sha256, origin: "reference")
        let wrongDigest = try #require(throws: ClusterError.self) {
            try components.verify(version: nil, sha256: String(repeating: "0", count: 64), origin: "reference")
        }
        #expect(wrongDigest.message.contains(components.sha256))
        let wrongVersion = try #require(throws: ClusterError.self) { try components.verify(version: "v2.8.5", sha256: nil, origin: "f") }
        #expect(wrongVersion.message.contains("v2.9.4") && wrongVersion.message.contains("v2.8.5"))

        // Without the header (kustomize build output), the version labels date it.
        let headless = text.split(separator: "\n", omittingEmptySubsequences: false).dropFirst(4).joined(separator: "\n")
        let fromLabels = try FluxComponents(manifest: headless, origin: "install.yaml")
        #expect(fromLabels.version == "v2.9.4")
        #expect(fromLabels.components.isEmpty)
        #expect(throws: ClusterError.self) { try FluxComponents(manifest: "kind: ConfigMap\n", origin: "x") }
    }

    @Test func generatedDeployKeyIsP384AndReadBackByOpenSSH() throws {
        let key = FluxDeployKey.generate()
        #expect(key.privateKeyPEM.hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        #expect(key.publicKeyLine.hasPrefix("ecdsa-sha2-nistp384 AAAA"))
        #expect(!key.description.contains("PRIVATE"))
        let again = try FluxDeployKey(privateKeyPEM: key.privateKeyPEM, origin: "test")
        #expect(again.publicKeyLine == key.publicKeyLine)

        guard FileManager.default.isExecutableFile(atPath: SSHTestServer.keygenPath) else { return }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("flux-key-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("identity")
        try SecureFile.write(key.privateKeyPEM, to: file)
        // ssh-keygen derives the public key from our PKCS#8 file: the same line we produce.
        let derived = try ChildProcess.run(SSHTestServer.keygenPath, ["-y", "-f", file.path])
        #expect(derived.trimmingCharacters(in: .whitespacesAndNewlines) == key.publicKeyLine)

        // A key in OpenSSH's own format (what ssh-keygen writes) is read too.
        let openssh = directory.appendingPathComponent("id_ed25519")
        try SSHTestServer.generateKey(type: "ed25519", at: openssh)
        let user = try FluxDeployKey(privateKeyPEM: try String(contentsOf: openssh, encoding: .utf8), origin: openssh.path)
        let published = try String(contentsOf: openssh.appendingPathExtension("pub"), encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
        #expect(user.publicKeyLine == published)
        let locked = directory.appendingPathComponent("id_locked")
        try SSHTestServer.generateKey(type: "ed25519", passphrase: "secret words", at: locked)
        let error = try #require(throws: ClusterError.self) {
            try FluxDeployKey(privateKeyPEM: try String(contentsOf: locked, encoding: .utf8), origin: locked.path)
        }
        #expect(error.message.contains("passphrase"))
    }

    @Test func deployKeyIsStoredOnceUnderTheClusterDirectory() throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("clusterctl-home-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: home) }
        let environment = ["CLUSTERCTL_HOME": home.path]
        let file = FluxDeployKey.defaultFile(cluster: "home", environment: environment)
        #expect(file.path == home.path + "/home/flux-deploy-key")
        let (key, generated) = try FluxDeployKey.loadOrGenerate(at: file)
        #expect(generated)
        let mode = try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let (again, generatedAgain) = try FluxDeployKey.loadOrGenerate(at: file)
        #expect(!generatedAgain)
        #expect(again.publicKeyLine == key.publicKeyLine)
        let notice = key.deployKeyNotice(repository: "ssh://git@github.com/me/fleet.git", file: file)
        #expect(notice.contains(key.publicKeyLine) && notice.contains("ssh://git@github.com/me/fleet.git") && notice.contains(file.path))
        #expect(!notice.contains("PRIVATE"))
    }

    @Test func credentialsResolveToFluxsSecretShape() throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("clusterctl-home-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: home) }
        let knownHosts = home.appendingPathComponent("known_hosts")
        try SecureFile.write("github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n", to: knownHosts)
        var spec = GitOpsSpec(url: "ssh://git@github.com/me/fleet.git", branch: "main", path: "clusters/home", credentials: nil)
        let environment = ["CLUSTERCTL_HOME": home.path, "HOME": home.path, "FLUX_TOKEN": "t0ken-value"]

        let missing = try #require(throws: ClusterError.self) {
            try GitOpsCredentialResolution.resolve(spec: spec, layout: try FluxBootstrapLayout(spec: spec), cluster: "home", environment: environment)
        }
        #expect(missing.message.contains("knownHostsFile"))
        spec.knownHostsFile = knownHosts.path
        let otherHost = GitOpsSpec(url: "ssh://git@gitlab.com/me/fleet.git", branch: "main", path: "c", credentials: nil, knownHostsFile: knownHosts.path)
        let noKey = try #require(throws: ClusterError.self) {
            try GitOpsCredentialResolution.resolve(spec: otherHost, layout: try FluxBootstrapLayout(spec: otherHost), cluster: "home", environment: environment)
        }
        #expect(noKey.message.contains("no host key for gitlab.com"))

        let ssh = try GitOpsCredentialResolution.resolve(spec: spec, layout: try FluxBootstrapLayout(spec: spec), cluster: "home", environment: environment)
        #expect(!ssh.given)
        #expect(ssh.notice?.contains("deploy key") == true)
        let secret = ssh.credentials.sourceSecret
        #expect(secret.name == "flux-system" && secret.namespace == "flux-system")
        #expect(Set(secret.stringData.keys) == ["identity", "identity.pub", "known_hosts"])
        #expect(secret.stringData["identity"]?.hasPrefix("-----BEGIN PRIVATE KEY-----") == true)
        #expect(secret.stringData["identity.pub"]?.hasPrefix("ecdsa-sha2-nistp384 ") == true)
        #expect(!secret.description.contains("PRIVATE") && !"\(ssh.credentials)".contains("PRIVATE"))
        let second = try GitOpsCredentialResolution.resolve(spec: spec, layout: try FluxBootstrapLayout(spec: spec), cluster: "home", environment: environment)
        #expect(second.notice == nil)

        // A key given through the environment is used as it is, and counts as given.
        let own = FluxDeployKey.generate(curve: .p256)
        spec.credentials = .environment("FLUX_KEY")
        let fromEnvironment = try GitOpsCredentialResolution.resolve(
            spec: spec, layout: try FluxBootstrapLayout(spec: spec), cluster: "home", environment: environment.merging(["FLUX_KEY": own.privateKeyPEM]) { $1 })
        #expect(fromEnvironment.given && fromEnvironment.notice == nil)
        #expect(fromEnvironment.credentials.sourceSecret.stringData["identity.pub"] == own.publicKeyLine + "\n")
        spec.credentials = .file("~/missing-key")
        let unreadable = try #require(throws: ClusterError.self) {
            try GitOpsCredentialResolution.resolve(spec: spec, layout: try FluxBootstrapLayout(spec: spec), cluster: "home", environment: environment)
        }
        #expect(unreadable.message.contains(home.path + "/missing-key"))

        let https = GitOpsSpec(url: "https://git.example.org/me/fleet.git", branch: "main", path: "c", credentials: .environment("FLUX_TOKEN"))
        let token = try GitOpsCredentialResolution.resolve(spec: https, layout: try FluxBootstrapLayout(spec: https), cluster: "home", environment: environment)
        #expect(token.given)
        #expect(token.credentials.sourceSecret.stringData == ["username": "git", "password": "t0ken-value"])
        #expect(!"\(token.credentials)".contains("t0ken-value") && !token.credentials.sourceSecret.description.contains("t0ken-value"))
    }

    @Test func specTakesAPinnedFluxRelease() throws {
        let digest = String(repeating: "ab", count: 32)
        let text = SpecFixtures.base + """
            gitops:
              url: ssh://git@github.com/me/fleet.git
              path: clusters/home
              knownHostsFile: fleet/known_hosts
              flux:
                version: v2.9.4
                sha256: \(digest)
                componentsFile: flux/gotk-components.yaml

            """
        let loaded = try SpecLoader.load(yaml: text, file: "clusters/t.yaml")
        let gitops = try #require(loaded.spec.gitops)
        #expect(gitops.knownHostsFile == "clusters/fleet/known_hosts")
        #expect(gitops.flux == FluxSpec(version: "v2.9.4", sha256: digest, componentsFile: "clusters/flux/gotk-components.yaml"))
    }

    @Test(arguments: [
        ("    version: 2.9\n", "is not a Flux release tag"),
        ("    version: v2.9.4\n    sha256: XYZ\n", "is not a SHA-256 digest"),
        ("    version: v2.9.4\n", "both version and sha256"),
        ("    componentFile: x.yaml\n", "componentFile"),
    ])
    func badFluxBlocksAreReportedAtTheField(block: String, expected: String) throws {
        let text = SpecFixtures.base + "gitops:\n  url: ssh://git@github.com/me/fleet.git\n  path: clusters/home\n  flux:\n" + block
        let error = try #require(throws: SpecError.self) { try SpecLoader.load(yaml: text, file: "clusters/t.yaml") }
        #expect(error.errors.contains { $0.message.contains(expected) && $0.path.hasPrefix("gitops.flux") && $0.line > 0 }, "\(error)")
    }
}
