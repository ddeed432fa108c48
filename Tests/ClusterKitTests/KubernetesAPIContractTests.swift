import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

/// One scene for the Kubernetes contract: a control plane and two workers, DaemonSet pods on
/// every node, and a workload `web` of two pods, one per worker, guarded by a
/// PodDisruptionBudget `web` that allows no disruption until `relax()`.
struct KubernetesScene: Sendable {
    var api: any KubernetesAPI
    var time: any TimeSource
    var controlPlanes: [String]
    var workers: [String]
    /// A worker running a `web` pod.
    var budgetedNode: String
    var relax: @Sendable () -> Void
    /// Runs a body where `time` moves: the simulator's run loop, or directly.
    var run: @Sendable (@escaping @Sendable () async throws -> Void) async throws -> Void
    var teardown: @Sendable () -> Void = {}
}

enum KubernetesBackendKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case simulator
    case clientOverTLS

    var testDescription: String { rawValue }

    func scene() async throws -> KubernetesScene {
        switch self {
        case .simulator: try Self.simulatedScene()
        case .clientOverTLS: try Self.peerScene()
        }
    }

    /// A simulated cluster brought up by the executor, with the `web` workload added.
    static func simulatedScene() throws -> KubernetesScene {
        let spec = try Fixtures.hybridSpec(controlPlanes: 1, homeWorkers: 2, cloudWorkers: 0)
        let run = SimulatedRun(spec: spec)
        let report = try run.up()
        #expect(report.healthy)
        let world = run.world
        world.addWorkload(cluster: spec.name, name: "web", replicas: 2, minAvailable: 2)
        let api = SimulatedKubernetesAPI(world: world, cluster: spec.name)
        let loop: @Sendable (@escaping @Sendable () async throws -> Void) async throws -> Void = { body in
            try SimulationRunLoop(clock: world.clock).run(body)
        }
        let workers = ["home-workers-1", "home-workers-2"]
        let budgeted = SharedBox("")
        try SimulationRunLoop(clock: world.clock).run {
            // Past the pods' startup, so they count as healthy for the budget.
            try await world.clock.sleep(for: .seconds(10))
            for worker in workers where try await api.pods(onNode: worker).contains(where: { $0.name.hasPrefix("web-") }) {
                budgeted.value = worker
            }
        }
        return KubernetesScene(
            api: api, time: world.clock, controlPlanes: ["home-cp-1"], workers: workers, budgetedNode: budgeted.value,
            relax: { world.setDisruptionBudget(cluster: spec.name, name: "web", minAvailable: 1) }, run: loop)
    }

    /// The real client over TLS with the admin certificate, against the loopback API peer; the
    /// model's time is the client's jumping clock, so grace periods cost no wall time.
    static func peerScene() throws -> KubernetesScene {
        let time = HTTPFastTimeSource()
        let peer = try KubernetesAPIPeer(secrets: try KubernetesPeerFixture.secrets(), now: { time.now.inSeconds })
        let model = peer.model
        model.addNode("cp-1", roles: ["control-plane"])
        model.addNode("w-1")
        model.addNode("w-2")
        model.addDaemonSet("kube-proxy")
        model.addDaemonSet("kube-flannel")
        model.addPod(name: "web-6c9f8-k2x7q", node: "w-1", labels: ["app": "web"], owner: "web-6c9f8", graceSeconds: 2)
        model.addPod(name: "web-6c9f8-p4m2z", node: "w-2", labels: ["app": "web"], owner: "web-6c9f8", graceSeconds: 2)
        model.addDisruptionBudget(name: "web", matchLabels: ["app": "web"], minAvailable: 2)
        let client = KubernetesClient(kubeconfig: try peer.adminKubeconfig(), time: time)
        return KubernetesScene(
            api: client, time: time, controlPlanes: ["cp-1"], workers: ["w-1", "w-2"], budgetedNode: "w-1",
            relax: { model.setMinAvailable(budget: "web", 1) }, run: { body in try await body() }, teardown: { peer.stop() })
    }
}

/// Secrets for the peer, made once per test process; backdated a little so a certificate made
/// "now" is valid by the time OpenSSL checks it.
enum KubernetesPeerFixture {
    static let made = Result { try SecretsBundle.generate(talosVersion: SemanticVersion(major: 1, minor: 6, patch: 0), now: Date().addingTimeInterval(-300)) }
    static func secrets() throws -> SecretsBundle { try made.get() }
}

/// The same test bodies against every KubernetesAPI backend: the simulator, and the real client
/// over TLS with client certificates against the loopback API peer.
@Suite("KubernetesAPI contract", .serialized)
struct KubernetesAPIContractTests {
    static let backends = KubernetesBackendKind.allCases

    func withScene(_ kind: KubernetesBackendKind, _ body: @escaping @Sendable (KubernetesScene) async throws -> Void) async throws {
        let scene = try await kind.scene()
        defer { scene.teardown() }
        try await scene.run { try await body(scene) }
    }

    @Test("readyz answers, and every node is listed Ready with its roles", arguments: backends)
    func readyAndNodes(_ kind: KubernetesBackendKind) async throws {
        try await withScene(kind) { scene in
            #expect(try await scene.api.isAPIServerUp())
            let nodes = try await scene.api.nodes()
            #expect(Set(nodes.map(\.name)) == Set(scene.controlPlanes + scene.workers))
            #expect(nodes.allSatisfy { $0.ready && !$0.unschedulable })
            for node in nodes {
                #expect(node.roles == (scene.controlPlanes.contains(node.name) ? ["control-plane"] : []), "\(node)")
            }
        }
    }

    @Test("cordon and uncordon show in the node list", arguments: backends)
    func cordon(_ kind: KubernetesBackendKind) async throws {
        try await withScene(kind) { scene in
            let worker = scene.workers[0]
            try await scene.api.setUnschedulable(true, node: worker)
            #expect(try await scene.api.nodes().first { $0.name == worker }?.unschedulable == true)
            #expect(try await scene.api.nodes().filter(\.unschedulable).map(\.name) == [worker])
            try await scene.api.setUnschedulable(false, node: worker)
            #expect(try await scene.api.nodes().allSatisfy { !$0.unschedulable })
        }
    }

    @Test("pods on a node include its DaemonSet pods and workload pods; system pods are kube-system's", arguments: backends)
    func pods(_ kind: KubernetesBackendKind) async throws {
        try await withScene(kind) { scene in
            let pods = try await scene.api.pods(onNode: scene.budgetedNode)
            #expect(pods.allSatisfy { $0.node == scene.budgetedNode })
            #expect(pods.filter(\.isDaemonSetPod).count == 2, "\(pods)")
            #expect(pods.contains { $0.name.hasPrefix("web-") && $0.controllerKind == "ReplicaSet" && $0.phase == "Running" })
            let system = try await scene.api.systemPods()
            #expect(system.allSatisfy { $0.namespace == "kube-system" })
            #expect(system.filter(\.isDaemonSetPod).count == 2 * (scene.controlPlanes.count + scene.workers.count))
            #expect(system.contains { $0.isMirror && $0.name.hasPrefix("kube-apiserver-") })
        }
    }

    @Test("an eviction a PodDisruptionBudget forbids is refused with the budget's name, then allowed once it allows", arguments: backends)
    func evictionHonoursBudget(_ kind: KubernetesBackendKind) async throws {
        try await withScene(kind) { scene in try await Self.evictionBody(scene) }
    }

    static func evictionBody(_ scene: KubernetesScene) async throws {
        let pods = try await scene.api.pods(onNode: scene.budgetedNode)
        let web = try #require(pods.first { $0.name.hasPrefix("web-") })
        let first = try await scene.api.evict(web)
        let expected = "disruption budget web needs 2 healthy pods and has 2 currently"
        switch first {
        case .blocked(let budget, let message):
            #expect(budget == "web")
            #expect(message.contains(expected), "\(message)")
        default:
            Issue.record("the eviction was not refused: \(first)")
        }
        scene.relax()
        #expect(try await scene.api.evict(web) == .evicted)
        let after = try await scene.api.pods(onNode: scene.budgetedNode).first { $0.name == web.name }
        #expect(after == nil || after?.isTerminating == true)
        let missing = KubernetesPod(namespace: web.namespace, name: "no-such-pod", node: web.node, phase: "Running")
        #expect(try await scene.api.evict(missing) == .alreadyGone)
    }

    @Test("a drain evicts around DaemonSet pods once the budget allows, and the node is deleted", arguments: backends)
    func drainThenDelete(_ kind: KubernetesBackendKind) async throws {
        try await withScene(kind) { scene in
            scene.relax()
            let report = try await NodeDrainer(kubernetes: scene.api, time: scene.time).drain(node: scene.budgetedNode)
            #expect(report.evicted.contains { $0.hasPrefix("default/web-") })
            #expect(report.skipped.count == 2, "\(report.skipped)")
            let left = try await scene.api.pods(onNode: scene.budgetedNode)
            #expect(left.allSatisfy { $0.isDaemonSetPod }, "\(left)")
            #expect(try await scene.api.nodes().first { $0.name == scene.budgetedNode }?.unschedulable == true)
            try await scene.api.deleteNode(scene.budgetedNode)
            #expect(try await !scene.api.nodes().contains { $0.name == scene.budgetedNode })
            try await scene.api.deleteNode(scene.budgetedNode)
        }
    }

    @Test("a drain the budget never allows stops at its deadline with an error naming the pod and the budget", arguments: backends)
    func boundedDrain(_ kind: KubernetesBackendKind) async throws {
        try await withScene(kind) { scene in
            let drainer = NodeDrainer(kubernetes: scene.api, time: scene.time, options: .init(timeout: .seconds(30)))
            let error = await #expect(throws: ClusterError.self) { try await drainer.drain(node: scene.budgetedNode) }
            #expect(error?.code == .timeout)
            #expect(error?.message.contains("draining node \(scene.budgetedNode) did not finish within 30.0s") == true, "\(String(describing: error))")
            #expect(error?.message.contains("is blocked by PodDisruptionBudget default/web") == true, "\(String(describing: error))")
        }
    }
}
