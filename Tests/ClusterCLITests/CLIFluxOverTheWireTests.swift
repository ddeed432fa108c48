import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

/// `clusterctl up` with `gitops:` against real backends, from nothing to Flux Ready at the pushed
/// commit: the ``LoopbackCloud`` world of ``CLIBringUpOverTheWireTests``, a real bare repository
/// behind git http-backend with a token, and Flux's controllers modelled over the Kubernetes API
/// peer's objects, fetching with real git. Nothing in the binary knows it talks to loopback.
@Suite(.serialized, .requiresReference(files: FluxReference.files)) struct CLIFluxOverTheWireTests {
    static let token = "glpat-w1re-T0KEN-value"

    struct Fleet {
        let world: CLIBringUpOverTheWireTests.World
        let git: GitHTTPTestServer
        let controllers: FluxControllerModel

        /// One control plane, the spec's `gitops:` pointing at `clusters/wire` of the served
        /// repository with the token from `FLUX_GIT_TOKEN`, and the v2.9.4 reference components
        /// as an air-gapped `componentsFile`.
        init() throws {
            world = try CLIBringUpOverTheWireTests.World(controlPlanes: 1, workers: 0)
            git = try GitHTTPTestServer(token: CLIFluxOverTheWireTests.token)
            try git.repository.commit(path: "README.md", content: "# fleet\n", message: "Initial commit")
            controllers = try FluxControllerModel(model: world.cloud.kubernetes.model, resync: 0.3)
            let components = try FluxReference.path("bootstrap-layout/clusters/home/flux-system/gotk-components.yaml")
            let spec = LoopbackCloud.spec(cluster: "wire", controlPlanes: 1, workers: 0) + """
                gitops:
                  url: \(git.url)
                  branch: main
                  path: clusters/wire
                  credentialsEnv: FLUX_GIT_TOKEN
                  flux:
                    componentsFile: \(components)

                """
            try world.cli.write("clusters/wire.yaml", spec)
        }

        func up() async throws -> CLIHarness.Output {
            try await world.up(environment: ["FLUX_GIT_TOKEN": CLIFluxOverTheWireTests.token])
        }

        func object(_ apiVersion: String, _ kind: String) -> JSONValue? {
            world.cloud.kubernetes.model.objects.object(apiVersion: apiVersion, kind: kind, namespace: "flux-system", name: "flux-system")
        }

        func stop() async {
            controllers.stop()
            git.stop()
            await world.stop()
        }
    }

    @Test func upBootstrapsFluxToReadyAtThePushedCommitAndASecondUpPushesNothing() async throws {
        let fleet = try Fleet()
        let up = try await fleet.up()
        #expect(up.status == 0, "\(up.stderr)\n\(up.stdout)\n\(fleet.world.cloud.failures)")
        #expect(up.stdout.contains("wire: 1 of 1 nodes Ready, etcd bootstrapped on wire-cp-1, Flux installed, healthy"), "\(up.stdout)")
        #expect(!(up.stdout + up.stderr).contains(Self.token), "the token never reaches the output")

        let repository = fleet.git.repository
        for file in ["gotk-components.yaml", "gotk-sync.yaml", "kustomization.yaml"] {
            #expect(repository.file("clusters/wire/flux-system/\(file)") != nil, "\(file) is pushed")
        }
        let commit = try #require(try repository.head())
        let revision = "main@sha1:\(commit)"
        #expect(up.stderr.contains("Ready at \(revision)"), "\(up.stderr)")
        let commits = try repository.log().count

        let secret = try #require(fleet.object("v1", "Secret"), "the flux-system Secret exists")
        let keys = Set(secret.value(at: ["data"])?.objectValue?.keys.map { $0 } ?? [])
        #expect(keys == ["username", "password"], "\(keys)")
        let source = try #require(fleet.object("source.toolkit.fluxcd.io/v1", "GitRepository"))
        #expect(source.value(at: ["status", "artifact", "revision"])?.stringValue == revision)
        #expect(KubernetesObject(json: source).condition("Ready")?.status == "True")
        let sync = try #require(fleet.object("kustomize.toolkit.fluxcd.io/v1", "Kustomization"))
        #expect(sync.value(at: ["status", "lastAppliedRevision"])?.stringValue == revision)
        #expect(KubernetesObject(json: sync).condition("Ready")?.status == "True")

        let again = try await fleet.up()
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("wire: 1 of 1 nodes Ready, healthy"), "\(again.stdout)")
        #expect(again.stderr.contains("Flux already at \(revision)"), "\(again.stderr)")
        #expect(try repository.log().count == commits, "a second up makes no commit")
        #expect(try repository.head() == commit)

        let status = try await fleet.world.run(["status", "wire", "-o", "json"])
        #expect(status.status == 0, "\(status.stderr)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        #expect(document["flux_ready"] as? Bool == true, "\(status.stdout)")
        #expect(document["flux_revision"] as? String == revision, "\(status.stdout)")
        await fleet.stop()
    }
}
