import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

/// The Git half of `flux bootstrap git` against a real bare repository behind a real sshd on
/// loopback, with a real deploy key (generated as flux does) and the server's real host key.
@Suite(.serialized, .requiresReference(files: FluxReference.files), .enabled(if: GitTestServer.shouldRun, "git/sshd missing: \(GitTestServer.unavailableReason ?? "")"))
struct GitBootstrapRepositoryTests {
    /// A repository, a registered deploy key and the request `up` would make for it.
    struct Fixture {
        let server: GitTestServer
        let key: FluxDeployKey
        let components: FluxComponents

        init(initialBranch: String = "main", seedBranch: String? = "main") throws {
            server = try GitTestServer(initialBranch: initialBranch)
            key = FluxDeployKey.generate()
            try server.authorizeDeployKey(key.publicKeyLine)
            components = try FluxComponents(manifest: try FluxReference.layoutFile("gotk-components.yaml"), origin: "reference")
            if let seedBranch {
                try server.repository.commit(path: "README.md", content: "# fleet\n", branch: seedBranch, message: "Initial commit")
            }
        }

        func request(branch: String = "main", path: String = "clusters/home", knownHosts: String? = nil) throws -> GitOpsBootstrapRequest {
            let spec = GitOpsSpec(url: server.url, branch: branch, path: path, credentials: nil)
            return GitOpsBootstrapRequest(
                layout: try FluxBootstrapLayout(spec: spec), components: components,
                credentials: .ssh(deployKey: key, knownHosts: try knownHosts ?? server.knownHosts()))
        }
    }

    static let flux = "Flux <>"
    static let componentsMessage = "Add Flux v2.9.4 component manifests"

    @Test func firstBootstrapWritesTheReferenceLayoutInFluxsTwoCommits() async throws {
        let fixture = try Fixture()
        defer { fixture.server.stop() }
        let result = try await GitBootstrapRepository().bootstrap(try fixture.request())

        let log = try fixture.server.repository.log()
        #expect(log.count == 3)
        #expect(log.map(\.message) == [FluxBootstrapLayout.syncCommitMessage, Self.componentsMessage, "Initial commit"])
        #expect(log.prefix(2).allSatisfy { $0.author == Self.flux && $0.committer == Self.flux })
        #expect(log[1].files == ["clusters/home/flux-system/gotk-components.yaml"])
        #expect(log[0].files == ["clusters/home/flux-system/gotk-sync.yaml", "clusters/home/flux-system/kustomization.yaml"])
        #expect(result.commit == log[0].sha)
        #expect(result.commit == (try fixture.server.repository.head()))
        #expect(result.revision == "main@sha1:\(log[0].sha)")
        #expect(result.commits == [Self.componentsMessage, FluxBootstrapLayout.syncCommitMessage])
        #expect(result.pushAttempts == 1)

        // Byte for byte the files a real `flux bootstrap git --path=clusters/home` left, apart from the URL.
        let directory = "clusters/home/flux-system"
        #expect(fixture.server.repository.file("\(directory)/gotk-components.yaml") == (try FluxReference.layoutFile("gotk-components.yaml")))
        #expect(fixture.server.repository.file("\(directory)/kustomization.yaml") == (try FluxReference.layoutFile("kustomization.yaml")))
        let reference = try FluxReference.layoutFile("gotk-sync.yaml")
            .replacingOccurrences(of: "ssh://git@github.com/funnyadd/infra", with: fixture.server.url)
        #expect(fixture.server.repository.file("\(directory)/gotk-sync.yaml") == reference)
        #expect(fixture.server.repository.file("README.md") == "# fleet\n")
    }

    @Test func anUnchangedRerunMakesNoCommitAndNoPush() async throws {
        let fixture = try Fixture()
        defer { fixture.server.stop() }
        let first = try await GitBootstrapRepository().bootstrap(try fixture.request())
        // A push would fire this; an unchanged run must not push at all.
        try fixture.server.armRace(path: "apps/other.yaml", content: "x: 1\n")
        let second = try await GitBootstrapRepository().bootstrap(try fixture.request())
        #expect(second.commits.isEmpty)
        #expect(!second.changed)
        #expect(second.pushAttempts == 0)
        #expect(second.commit == first.commit)
        #expect(try fixture.server.repository.head() == first.commit)
        #expect(try fixture.server.repository.log().count == 3)
        #expect(!fixture.server.raceFired)
    }

    @Test func aUserPatchedKustomizationSurvives() async throws {
        let fixture = try Fixture()
        defer { fixture.server.stop() }
        _ = try await GitBootstrapRepository().bootstrap(try fixture.request())
        let patched = """
            apiVersion: kustomize.config.k8s.io/v1beta1
            kind: Kustomization
            resources:
            - gotk-components.yaml
            - gotk-sync.yaml
            patches:
            - patch: |
                - op: add
                  path: /spec/template/spec/containers/0/args/-
                  value: --concurrent=20
              target:
                kind: Deployment
                name: kustomize-controller

            """
        try fixture.server.repository.commit(path: "clusters/home/flux-system/kustomization.yaml", content: patched, message: "Tune kustomize-controller")
        // Someone also edited a generated file: bootstrap puts it back, and keeps the patch.
        try fixture.server.repository.commit(path: "clusters/home/flux-system/gotk-sync.yaml", content: "# edited\n", message: "Edit sync")

        let result = try await GitBootstrapRepository().bootstrap(try fixture.request())
        #expect(result.commits == [FluxBootstrapLayout.syncCommitMessage])
        #expect(fixture.server.repository.file("clusters/home/flux-system/kustomization.yaml") == patched)
        #expect(try fixture.server.repository.log().first?.files == ["clusters/home/flux-system/gotk-sync.yaml"])
        let again = try await GitBootstrapRepository().bootstrap(try fixture.request())
        #expect(again.commits.isEmpty)
        #expect(fixture.server.repository.file("clusters/home/flux-system/kustomization.yaml") == patched)
    }

    @Test func aLostPushRaceIsFetchedReappliedAndRetried() async throws {
        let fixture = try Fixture()
        defer { fixture.server.stop() }
        try fixture.server.armRace(path: "apps/podinfo.yaml", content: "kind: Namespace\n")
        let result = try await GitBootstrapRepository().bootstrap(try fixture.request())

        #expect(fixture.server.raceFired)
        #expect(result.pushAttempts == 2)
        let log = try fixture.server.repository.log()
        #expect(log.map(\.message) == [
            FluxBootstrapLayout.syncCommitMessage, Self.componentsMessage, "Other writer pushed first", "Initial commit",
        ])
        // Ours sit on top of theirs: nothing of the other writer's is lost.
        #expect(log[1].parents == [log[2].sha])
        #expect(result.commit == log[0].sha)
        #expect(fixture.server.repository.file("apps/podinfo.yaml") == "kind: Namespace\n")
        #expect(fixture.server.repository.file("clusters/home/flux-system/gotk-components.yaml") == (try FluxReference.layoutFile("gotk-components.yaml")))
    }

    @Test func pushRacesAreBounded() async throws {
        let fixture = try Fixture()
        defer { fixture.server.stop() }
        try fixture.server.armRace(path: "apps/a.yaml", content: "a: 1\n")
        var repository = GitBootstrapRepository()
        repository.maxPushAttempts = 1
        let error = try await #require(throws: ProvisionerError.self) { try await repository.bootstrap(try fixture.request()) }
        #expect(error.code == .conflict)
        #expect(error.message.contains("lost the race"))
        #expect(try fixture.server.repository.log().first?.message == "Other writer pushed first")
    }

    @Test func aWrongHostKeyIsRefusedAndNothingIsPushed() async throws {
        let fixture = try Fixture()
        defer { fixture.server.stop() }
        let before = try fixture.server.repository.head()
        let request = try fixture.request(knownHosts: try fixture.server.wrongKnownHosts())
        let error = try await #require(throws: ProvisionerError.self) { try await GitBootstrapRepository().bootstrap(request) }
        #expect(error.code == .refused)
        #expect(error.message.contains("host key"))
        #expect(error.hint?.contains("knownHostsFile") == true)
        #expect(try fixture.server.repository.head() == before)
        // Nor does an empty known_hosts mean "accept anything".
        let unknown = try fixture.request(knownHosts: "# nothing\n")
        let refused = try await #require(throws: ProvisionerError.self) { try await GitBootstrapRepository().bootstrap(unknown) }
        #expect(refused.code == .refused)
    }

    @Test func anEmptyRepositoryIsInitialisedOnTheBranch() async throws {
        let fixture = try Fixture(initialBranch: "master", seedBranch: nil)
        defer { fixture.server.stop() }
        #expect(try fixture.server.repository.head(branch: "fleet") == nil)
        let result = try await GitBootstrapRepository().bootstrap(try fixture.request(branch: "fleet", path: "./clusters/lab/"))
        let log = try fixture.server.repository.log(branch: "fleet")
        #expect(log.map(\.message) == [FluxBootstrapLayout.syncCommitMessage, Self.componentsMessage])
        #expect(log.last?.parents.isEmpty == true)
        #expect(result.commit == log.first?.sha)
        #expect(result.revision == "fleet@sha1:\(log.first?.sha ?? "")")
        let sync = try #require(fixture.server.repository.file("clusters/lab/flux-system/gotk-sync.yaml", branch: "fleet"))
        #expect(sync.contains("    branch: fleet\n"))
        #expect(sync.contains("  path: ./clusters/lab\n"))
    }

    @Test func aMissingBranchInANonEmptyRepositoryIsAnErrorNamingIt() async throws {
        let fixture = try Fixture()
        defer { fixture.server.stop() }
        let error = try await #require(throws: ProvisionerError.self) {
            try await GitBootstrapRepository().bootstrap(try fixture.request(branch: "production"))
        }
        #expect(error.code == .notFound)
        #expect(error.message.contains("\"production\""))
        #expect(error.message.contains("it has: main"))
        #expect(try fixture.server.repository.head(branch: "production") == nil)
        #expect(try fixture.server.repository.log().count == 1)
    }

    @Test func aKeyTheServerDoesNotKnowIsRefused() async throws {
        let fixture = try Fixture()
        defer { fixture.server.stop() }
        let stranger = FluxDeployKey.generate()
        var request = try fixture.request()
        request.credentials = .ssh(deployKey: stranger, knownHosts: try fixture.server.knownHosts())
        let error = try await #require(throws: ProvisionerError.self) { try await GitBootstrapRepository().bootstrap(request) }
        #expect(error.code == .refused)
        #expect(!error.description.contains("PRIVATE KEY"))
    }

    @Test func aGeneratedDeployKeyIsStoredShownAndUsedOnceRegistered() async throws {
        let server = try GitTestServer()
        defer { server.stop() }
        try server.repository.commit(path: "README.md", content: "# fleet\n", message: "Initial commit")
        let home = server.ssh.directory.appendingPathComponent("clusterctl-home")
        let knownHosts = server.ssh.directory.appendingPathComponent("git_known_hosts")
        // The user's known_hosts names other hosts too; only this server's line may travel on.
        try SecureFile.write("gitlab.com \(FluxDeployKey.generate().publicKeyLine)\n" + (try server.knownHosts()), to: knownHosts)
        let environment = ["CLUSTERCTL_HOME": home.path, "HOME": home.path]
        let spec = GitOpsSpec(url: server.url, branch: "main", path: "clusters/home", credentials: nil, knownHostsFile: knownHosts.path)
        let components = try FluxComponents(manifest: try FluxReference.layoutFile("gotk-components.yaml"), origin: "reference")

        // First run: the key is new, so the server does not know it yet; the error says what to do.
        let error = try await #require(throws: ClusterError.self) {
            try await GitBootstrapRepository().bootstrap(spec: spec, cluster: "home", components: components, environment: environment)
        }
        let keyFile = FluxDeployKey.defaultFile(cluster: "home", environment: environment)
        let publicKey = try String(contentsOf: keyFile.appendingPathExtension("pub"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(error.code == .refused)
        #expect(error.hint?.contains(publicKey) == true && error.hint?.contains(keyFile.path) == true)
        #expect(!error.description.contains("PRIVATE KEY"))
        #expect(try FileManager.default.attributesOfItem(atPath: keyFile.path)[.posixPermissions] as? Int == 0o600)
        #expect(try server.repository.log().count == 1)

        // Registered as a deploy key, the same stored key pushes.
        try server.authorizeDeployKey(publicKey)
        let outcome = try await GitBootstrapRepository().bootstrap(spec: spec, cluster: "home", components: components, environment: environment)
        #expect(outcome.push.commit == (try server.repository.head()))
        #expect(outcome.componentsVersion == "v2.9.4")
        #expect(outcome.messages.first?.hasPrefix("Flux v2.9.4 (source-controller, kustomize-controller") == true)
        #expect(outcome.messages.last?.contains(outcome.push.revision) == true)
        #expect(!outcome.credentialsGiven)
        #expect(outcome.sourceSecret.stringData["identity"] == (try String(contentsOf: keyFile, encoding: .utf8)))
        #expect(outcome.sourceSecret.stringData["identity.pub"] == publicKey + "\n")
        #expect(outcome.sourceSecret.stringData["known_hosts"] == (try server.knownHosts()))
        // Nothing secret went into Git.
        for commit in try server.repository.log() {
            for file in commit.files { #expect(server.repository.file(file)?.contains("PRIVATE KEY") != true) }
        }
    }

    @Test func aRaceForTheFirstCommitOfAnEmptyRepositoryIsRetried() async throws {
        let fixture = try Fixture(seedBranch: nil)
        defer { fixture.server.stop() }
        try fixture.server.armRace(path: "README.md", content: "# first\n")
        let result = try await GitBootstrapRepository().bootstrap(try fixture.request())
        #expect(result.pushAttempts == 2)
        let log = try fixture.server.repository.log()
        #expect(log.map(\.message) == [FluxBootstrapLayout.syncCommitMessage, Self.componentsMessage, "Other writer pushed first"])
        #expect(fixture.server.repository.file("README.md") == "# first\n")
    }

    @Test func aGeneratedKustomizationListsWhatFluxSystemHolds() async throws {
        let fixture = try Fixture()
        defer { fixture.server.stop() }
        let policy = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: policy\n"
        try fixture.server.repository.commit(path: "clusters/home/flux-system/a-policy.yaml", content: policy, message: "Add policy")
        try fixture.server.repository.commit(path: "clusters/home/flux-system/notes.md", content: "notes\n", message: "Add notes")
        _ = try await GitBootstrapRepository().bootstrap(try fixture.request())
        #expect(fixture.server.repository.file("clusters/home/flux-system/kustomization.yaml") == """
            apiVersion: kustomize.config.k8s.io/v1beta1
            kind: Kustomization
            resources:
            - a-policy.yaml
            - gotk-components.yaml
            - gotk-sync.yaml

            """)
    }

    @Test func aServerThatNeverAnswersTimesOut() async throws {
        let fixture = try Fixture()
        defer { fixture.server.stop() }
        // A listener that accepts connections (in the kernel's backlog) and never speaks.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && listen(fd, 8) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        try #require(listening)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let spec = GitOpsSpec(url: "ssh://git@127.0.0.1:\(port)/fleet.git", branch: "main", path: "clusters/home", credentials: nil)
        let request = GitOpsBootstrapRequest(
            layout: try FluxBootstrapLayout(spec: spec), components: fixture.components,
            credentials: .ssh(deployKey: fixture.key, knownHosts: try fixture.server.knownHosts()))
        var repository = GitBootstrapRepository()
        repository.commandTimeout = .seconds(2)
        let error = try await #require(throws: ProvisionerError.self) { try await repository.bootstrap(request) }
        #expect(error.code == .timeout)
        // Our watchdog, not ssh's own 15 s ConnectTimeout (which ends as a transport error).
        #expect(error.isTransient)
    }

    @Test func theGeneratedObjectsValidateAgainstTheOfficialCRDs() async throws {
        try #require(TalosTestSupport.schemaValidatorAvailable || !TalosTestSupport.isCI, "python3 jsonschema/yaml missing in CI")
        guard TalosTestSupport.schemaValidatorAvailable else { return }
        let fixture = try Fixture()
        defer { fixture.server.stop() }
        _ = try await GitBootstrapRepository().bootstrap(try fixture.request())
        let sync = try #require(fixture.server.repository.file("clusters/home/flux-system/gotk-sync.yaml"))
        let source = try FluxReference.validate(yaml: sync, crd: "crds/source.toolkit.fluxcd.io_gitrepositories.yaml")
        let kustomize = try FluxReference.validate(yaml: sync, crd: "crds/kustomize.toolkit.fluxcd.io_kustomizations.yaml")
        #expect(source.documents == 1 && source.problems.isEmpty, "\(source.problems)")
        #expect(kustomize.documents == 1 && kustomize.problems.isEmpty, "\(kustomize.problems)")
        // The validator does reject what the API server would.
        let broken = sync.replacingOccurrences(of: "interval: 1m0s", with: "interval: 1 minute")
            .replacingOccurrences(of: "prune: true", with: "prnue: true")
        #expect(try FluxReference.validate(yaml: broken, crd: "crds/source.toolkit.fluxcd.io_gitrepositories.yaml").problems.count == 1)
        #expect(try FluxReference.validate(yaml: broken, crd: "crds/kustomize.toolkit.fluxcd.io_kustomizations.yaml").problems.count == 2)
    }
}
