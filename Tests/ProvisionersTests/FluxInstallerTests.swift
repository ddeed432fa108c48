import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

/// The cluster half of `flux bootstrap git`: the real installer against the Kubernetes API
/// model over TLS, the Flux controllers modelled with real git, and a real repository.
@Suite(
    .serialized, .requiresReference(files: FluxReference.files),
    .enabled(if: GitTestServer.shouldRun, "git/sshd missing: \(GitTestServer.unavailableReason ?? "")"))
struct FluxInstallerTests {
    static let stageOne: Set = ["CustomResourceDefinition", "Namespace", "ClusterRole"]

    @Test func aFirstInstallAppliesInTwoStagesAndWaitsForThePushedCommit() async throws {
        let fixture = try FluxInstallerFixture(establishDelay: 4.0)
        defer { fixture.stop() }
        let outcome = try await fixture.installer().install(fixture.spec(), force: false)

        let head = try #require(try fixture.repository.head())
        #expect(outcome.revision == "main@sha1:\(head)")
        #expect(outcome.pushedCommits == ["Add Flux v2.9.4 component manifests", FluxBootstrapLayout.syncCommitMessage])
        #expect(outcome.secret == .created)

        // Stage one (CRDs, the Namespace, ClusterRoles) is applied before anything else, and
        // nothing else is applied until every CRD reported Established.
        let writes = fixture.store.writes
        let kinds = writes.map { String($0.split(separator: " ")[1]) }
        let lastDefinition = try #require(kinds.lastIndex { Self.stageOne.contains($0) })
        let firstOther = try #require(kinds.firstIndex { !Self.stageOne.contains($0) })
        #expect(lastDefinition < firstOther)
        #expect(kinds.filter { $0 == "CustomResourceDefinition" }.count == 11)
        #expect(outcome.applied.count == 32 + 2)
        // The CRDs took seconds to be established; the installer polled them meanwhile.
        let crdReads = fixture.peer.model.requests.filter { $0.hasPrefix("GET /apis/apiextensions.k8s.io/v1/customresourcedefinitions/") }
        #expect(crdReads.count > 11)
        // The sync objects come last, after the Secret they name.
        #expect(Array(writes.suffix(3)) == ["CREATE Secret flux-system/flux-system", "APPLY GitRepository flux-system/flux-system", "APPLY Kustomization flux-system/flux-system"])

        // The installer a real backend builds from the admin kubeconfig reads the same.
        let real = FluxInstaller(kubeconfig: try fixture.peer.adminKubeconfig(), cluster: "home", environment: fixture.environment)
        let status = try #require(try await real.status())
        #expect(status.ready && !status.suspended)
        #expect(status.revision == outcome.revision)
        #expect(status.url == fixture.url && status.branch == "main" && status.path == "./clusters/home")
        #expect(status.matches(fixture.spec()))
        let sync = try #require(fixture.object("kustomize.toolkit.fluxcd.io/v1", "Kustomization"))
        #expect(sync.value(at: ["status", "lastAttemptedRevision"])?.stringValue == outcome.revision)
        let managers = sync.value(at: ["metadata", "managedFields"])?.arrayValue?.compactMap { $0["manager"]?.stringValue }
        #expect(managers == ["flux"])
    }

    @Test func theSSHSecretCarriesTheKeyAndHostKeysAndNeverReachesGit() async throws {
        let fixture = try FluxInstallerFixture()
        defer { fixture.stop() }
        _ = try await fixture.installer().install(fixture.spec(), force: false)
        let data = try #require(fixture.secretData())
        #expect(Set(data.keys) == ["identity", "identity.pub", "known_hosts"])
        #expect(data["identity"] == fixture.key.privateKeyPEM)
        #expect(data["identity.pub"] == fixture.key.publicKeyLine + "\n")
        #expect(data["known_hosts"] == (try String(contentsOfFile: fixture.knownHostsFile, encoding: .utf8)))
        let secret = try #require(fixture.object("v1", "Secret"))
        #expect(secret["type"]?.stringValue == "Opaque" && secret["stringData"] == nil)
        // Not in any committed file.
        let pemBody = fixture.key.privateKeyPEM.split(separator: "\n")[1]
        for path in ["gotk-components.yaml", "gotk-sync.yaml", "kustomization.yaml"] {
            #expect(fixture.repository.file("clusters/home/flux-system/\(path)")?.contains(pemBody) == false)
        }
    }

    @Test func theHTTPSSecretCarriesUsernameAndTokenAndFluxFetchesWithThem() async throws {
        let fixture = try FluxInstallerFixture(https: true)
        defer { fixture.stop() }
        let outcome = try await fixture.installer().install(fixture.spec(), force: false)
        #expect(fixture.secretData() == ["username": "git", "password": FluxInstallerFixture.token])
        #expect(outcome.revision == "main@sha1:\(try #require(try fixture.repository.head()))")
        #expect(!outcome.messages.joined().contains(FluxInstallerFixture.token))
        #expect(try await fixture.installer().status()?.ready == true)
    }

    @Test func anExistingSecretIsLeftAloneUnlessCredentialsAreGiven() async throws {
        let fixture = try FluxInstallerFixture()
        defer { fixture.stop() }
        let generated = try fixture.authorizeGeneratedKey()
        // A Secret someone made by hand: the cluster's key, with a comment in known_hosts.
        let knownHosts = "# pinned by ops\n" + (try String(contentsOfFile: fixture.knownHostsFile, encoding: .utf8))
        fixture.seedSecret(generated, knownHosts: knownHosts)
        let first = try await fixture.installer().install(fixture.spec(credentials: false), force: false)
        #expect(first.secret == .kept)
        #expect(fixture.secretData()?["known_hosts"] == knownHosts)
        #expect(!fixture.store.writes.contains { $0.contains("Secret") })

        // Credentials given: the Secret is brought to them, and only when it differs.
        let second = try await fixture.installer().install(fixture.spec(), force: false)
        #expect(second.secret == .replaced)
        #expect(fixture.secretData()?["identity"] == fixture.key.privateKeyPEM)
        let third = try await fixture.installer().install(fixture.spec(), force: false)
        #expect(third.secret == .kept)
    }

    @Test func aRerunThatChangesNothingAppliesNothingAndPushesNothing() async throws {
        let fixture = try FluxInstallerFixture()
        defer { fixture.stop() }
        let first = try await fixture.installer().install(fixture.spec(), force: false)
        let writes = fixture.store.writes
        let commits = try fixture.repository.log().count
        try fixture.ssh?.armRace(path: "apps/other.yaml", content: "x: 1\n")

        let again = try await fixture.installer().install(fixture.spec(), force: false)
        #expect(again.pushedCommits.isEmpty && again.applied.isEmpty && again.secret == .kept)
        #expect(again.revision == first.revision)
        #expect(fixture.store.writes == writes)
        #expect(try fixture.repository.log().count == commits)
        #expect(fixture.ssh?.raceFired == false)
        let patches = fixture.peer.model.requests.filter { $0.hasPrefix("PATCH ") || $0.hasPrefix("POST ") || $0.hasPrefix("PUT ") }
        #expect(patches.count == writes.count)
    }

    @Test func aReadyFalseFailsAtOnceWithFluxsOwnMessage() async throws {
        let fixture = try FluxInstallerFixture()
        defer { fixture.stop() }
        let generated = try fixture.authorizeGeneratedKey()
        // The cluster's Secret pins a host key the server does not have: clusterctl's push (with
        // the right known_hosts) works, source-controller's fetch is refused.
        fixture.seedSecret(generated, knownHosts: try #require(fixture.ssh).wrongKnownHosts())
        let installer = try fixture.installer(timeout: .seconds(600))
        let started = ContinuousClock.now
        let error = try await #require(throws: ClusterError.self) { try await installer.install(fixture.spec(credentials: false), force: false) }
        #expect(error.code == .refused)
        #expect(error.message.contains("GitRepository 'flux-system/flux-system' is not ready: failed to checkout and determine revision: unable to clone"))
        #expect(error.message.contains("Host key verification failed"))
        // Failed on the first Ready=False, not at the 10-minute deadline.
        #expect(ContinuousClock.now - started < .seconds(300))
        let status = try #require(try await installer.status())
        #expect(!status.ready && status.message?.contains("unable to clone") == true)
    }

    @Test func aSuspendedKustomizationIsAnError() async throws {
        let fixture = try FluxInstallerFixture()
        defer { fixture.stop() }
        _ = try await fixture.installer().install(fixture.spec(), force: false)
        fixture.editKustomization { $0["spec"]?["suspend"] = true }
        let error = try await #require(throws: ClusterError.self) { try await fixture.installer().install(fixture.spec(), force: false) }
        #expect(error.message.contains("Kustomization 'flux-system/flux-system' is suspended"))
        let status = try #require(try await fixture.installer().status())
        #expect(status.suspended && !status.ready)
        #expect(status.summary.hasPrefix("suspended at main@sha1:"))
    }

    @Test func aMissingPathIsReportedWithKustomizeControllersMessage() async throws {
        let fixture = try FluxInstallerFixture()
        defer { fixture.stop() }
        _ = try await fixture.installer().install(fixture.spec(), force: false)
        fixture.editKustomization { $0["spec"]?["path"] = "./clusters/gone" }
        var status: GitOpsStatus?
        for _ in 0..<100 {
            status = try await fixture.installer().status()
            if status?.message != nil { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let found = try #require(status)
        #expect(!found.ready && found.path == "./clusters/gone")
        #expect(found.message?.hasPrefix("kustomization path not found: stat /tmp/kustomization-") == true)
        #expect(found.message?.hasSuffix("/clusters/gone: no such file or directory") == true)
    }

    @Test func rePointingIsRefusedWithoutForceAndDoneWithIt() async throws {
        let fixture = try FluxInstallerFixture()
        defer { fixture.stop() }
        _ = try await fixture.installer().install(fixture.spec(), force: false)
        let writes = fixture.store.writes
        let head = try fixture.repository.head()

        let error = try await #require(throws: ClusterError.self) { try await fixture.installer().install(fixture.spec(path: "clusters/staging"), force: false) }
        #expect(error.code == .refused)
        #expect(error.message.contains("path ./clusters/home") && error.message.contains("path ./clusters/staging"))
        #expect(error.hint?.contains("--force") == true)
        #expect(fixture.store.writes == writes)
        #expect(try fixture.repository.head() == head)

        let moved = try await fixture.installer().install(fixture.spec(path: "clusters/staging"), force: true)
        #expect(moved.pushedCommits == ["Add Flux v2.9.4 component manifests", FluxBootstrapLayout.syncCommitMessage])
        #expect(moved.applied == ["GitRepository flux-system/flux-system", "Kustomization flux-system/flux-system"])
        #expect(fixture.repository.file("clusters/staging/flux-system/gotk-sync.yaml")?.contains("path: ./clusters/staging") == true)
        let status = try #require(try await fixture.installer().status())
        #expect(status.ready && status.path == "./clusters/staging" && status.revision == moved.revision)
    }
}
