import ClusterKit
import ClusterTestSupport
import Testing

/// A small in-memory Kubernetes API with the Eviction API's rules, on a jumping clock.
actor InMemoryKubernetes: KubernetesAPI {
    struct Pod {
        var pod: KubernetesPod
        var app: String?
        var grace: Duration
        var deleteAt: Duration?
    }

    let time: HTTPFastTimeSource
    var nodeReady: [String: Bool] = [:]
    var cordoned: Set<String> = []
    var pods: [String: Pod] = [:]
    /// Budgets by app label: minAvailable, and when (if ever) it drops to zero.
    var budgets: [String: (minAvailable: Int, relaxAt: Duration?)] = [:]
    /// The kubelet of these nodes is gone: their pods never finish terminating.
    var deadKubelets: Set<String> = []
    var failNextListings = 0
    var deleted: [String] = []
    var evictions: [String] = []

    init(time: HTTPFastTimeSource) { self.time = time }

    func addNode(_ name: String, ready: Bool = true) { nodeReady[name] = ready }

    func addPod(_ name: String, node: String, namespace: String = "default", kind: String? = "ReplicaSet", mirror: Bool = false, app: String? = nil, grace: Duration = .seconds(30)) {
        let pod = KubernetesPod(namespace: namespace, name: name, node: node, phase: "Running", controllerKind: kind, isMirror: mirror)
        pods[pod.reference] = Pod(pod: pod, app: app, grace: grace)
    }

    func setBudget(app: String, minAvailable: Int, relaxAt: Duration? = nil) { budgets[app] = (minAvailable, relaxAt) }
    func killKubelet(_ node: String) { deadKubelets.insert(node) }
    func failListings(_ count: Int) { failNextListings = count }

    private func settle() {
        for (key, pod) in pods {
            if let at = pod.deleteAt, time.now >= at, let node = pod.pod.node, !deadKubelets.contains(node) { pods[key] = nil }
        }
    }

    func isAPIServerUp() async throws -> Bool { true }

    func nodes() async throws -> [KubernetesNodeStatus] {
        nodeReady.sorted { $0.key < $1.key }.map { KubernetesNodeStatus(name: $0.key, ready: $0.value, unschedulable: cordoned.contains($0.key)) }
    }

    func systemPods() async throws -> [KubernetesPod] { pods.values.map(\.pod).filter { $0.namespace == "kube-system" } }

    func setUnschedulable(_ unschedulable: Bool, node: String) async throws {
        if unschedulable { cordoned.insert(node) } else { cordoned.remove(node) }
    }

    func pods(onNode node: String) async throws -> [KubernetesPod] {
        if failNextListings > 0 {
            failNextListings -= 1
            throw ClusterError(.kubernetes, "connection refused", isTransient: true)
        }
        settle()
        return pods.values.map(\.pod).filter { $0.node == node }.sorted { $0.reference < $1.reference }
    }

    func evict(_ target: KubernetesPod) async throws -> KubernetesEviction {
        settle()
        evictions.append(target.reference)
        guard var entry = pods[target.reference] else { return .alreadyGone }
        if entry.deleteAt != nil { return .evicted }
        if let app = entry.app, let budget = budgets[app] {
            let minAvailable = budget.relaxAt.map { time.now >= $0 } == true ? 0 : budget.minAvailable
            let healthy = pods.values.filter { $0.app == app && $0.deleteAt == nil }.count
            if healthy - minAvailable <= 0 {
                return .blocked(budget: app, message: "The disruption budget \(app) needs \(minAvailable) healthy pods and has \(healthy) currently")
            }
        }
        entry.deleteAt = time.now + entry.grace
        entry.pod.isTerminating = true
        pods[target.reference] = entry
        return .evicted
    }

    func deleteNode(_ name: String) async throws {
        deleted.append(name)
        nodeReady[name] = nil
        pods = pods.filter { $0.value.pod.node != name }
    }
}

@Suite("Node drain")
struct NodeDrainerTests {
    @Test("DaemonSet and mirror pods stay; the rest are evicted and waited for until gone")
    func drainsAndWaits() async throws {
        let time = HTTPFastTimeSource()
        let api = InMemoryKubernetes(time: time)
        await api.addNode("w1")
        await api.addPod("kube-proxy-abcde", node: "w1", namespace: "kube-system", kind: "DaemonSet")
        await api.addPod("kube-apiserver-w1", node: "w1", namespace: "kube-system", kind: "Node", mirror: true)
        await api.addPod("web-1", node: "w1", grace: .seconds(10))
        await api.addPod("batch-1", node: "w1", kind: nil, grace: .seconds(3))
        await api.addPod("web-2", node: "w2")

        let report = try await NodeDrainer(kubernetes: api, time: time).drain(node: "w1")
        #expect(report.evicted == ["default/batch-1", "default/web-1"])
        #expect(report.skipped == ["kube-system/kube-apiserver-w1", "kube-system/kube-proxy-abcde"])
        #expect(report.elapsed >= .seconds(10))
        #expect(report.elapsed < .seconds(15))
        #expect(await api.cordoned == ["w1"])
        #expect(await api.pods.keys.sorted() == ["default/web-2", "kube-system/kube-apiserver-w1", "kube-system/kube-proxy-abcde"])
        #expect(await api.evictions.allSatisfy { !$0.contains("kube-") })
    }

    @Test("a PodDisruptionBudget blocks an eviction until it allows one; the drain retries every 5 s")
    func budgetBlocksThenAllows() async throws {
        let time = HTTPFastTimeSource()
        let api = InMemoryKubernetes(time: time)
        await api.addNode("w1")
        await api.addPod("db-0", node: "w1", app: "db", grace: .seconds(2))
        await api.addPod("db-1", node: "w2", app: "db")
        await api.setBudget(app: "db", minAvailable: 2, relaxAt: .seconds(42))

        let report = try await NodeDrainer(kubernetes: api, time: time).drain(node: "w1")
        #expect(report.evicted == ["default/db-0"])
        #expect(report.blockedAttempts == 9)  // at 0, 5, ..., 40 s; allowed at 45 s
        #expect(report.elapsed >= .seconds(47))
        #expect(time.sleeps.filter { $0 == .seconds(5) }.count == 9)
    }

    @Test("a budget that never allows ends the drain at its deadline with an error naming the pod and the budget")
    func budgetNeverAllows() async throws {
        let time = HTTPFastTimeSource()
        let api = InMemoryKubernetes(time: time)
        await api.addNode("w1")
        await api.addPod("db-0", node: "w1", app: "db")
        await api.addPod("web-0", node: "w1", grace: .seconds(1))
        await api.setBudget(app: "db", minAvailable: 1)

        let options = NodeDrainer.Options(timeout: .seconds(60))
        let error = await #expect(throws: ClusterError.self) { try await NodeDrainer(kubernetes: api, time: time, options: options).drain(node: "w1") }
        #expect(error?.code == .timeout)
        #expect(error?.message.contains("draining node w1 did not finish within 1m00s") == true)
        #expect(error?.message.contains("pod default/db-0 is blocked by PodDisruptionBudget default/db (The disruption budget db needs 1 healthy pods and has 1 currently)") == true)
        #expect(error?.message.contains("web-0") == false)
        #expect(error?.hint?.contains("PodDisruptionBudget") == true)
        #expect(error?.isTransient == false)
        #expect(time.now >= .seconds(60) && time.now < .seconds(61))
    }

    @Test("pods that never finish terminating (a dead kubelet) end the drain at its deadline, named")
    func stuckTerminating() async throws {
        let time = HTTPFastTimeSource()
        let api = InMemoryKubernetes(time: time)
        await api.addNode("w1")
        await api.addPod("web-0", node: "w1", grace: .seconds(1))
        await api.killKubelet("w1")
        let error = await #expect(throws: ClusterError.self) {
            try await NodeDrainer(kubernetes: api, time: time, options: .init(timeout: .seconds(20))).drain(node: "w1")
        }
        #expect(error?.message.contains("pod default/web-0 is still terminating") == true)
    }

    @Test("transient API failures during the drain are waited out")
    func transientFailures() async throws {
        let time = HTTPFastTimeSource()
        let api = InMemoryKubernetes(time: time)
        await api.addNode("w1")
        await api.addPod("web-0", node: "w1", grace: .seconds(1))
        await api.failListings(3)
        let report = try await NodeDrainer(kubernetes: api, time: time).drain(node: "w1")
        #expect(report.evicted == ["default/web-0"])
    }

    @Test("drainAndDelete drains a Ready node, deletes a NotReady one at once, and ignores a missing one")
    func drainAndDelete() async throws {
        let time = HTTPFastTimeSource()
        let api = InMemoryKubernetes(time: time)
        await api.addNode("ready")
        await api.addNode("dead", ready: false)
        await api.addPod("web-0", node: "ready", grace: .seconds(1))
        await api.addPod("web-1", node: "dead", grace: .seconds(1))
        try await api.drainAndDelete(node: "ready", time: time)
        try await api.drainAndDelete(node: "dead", time: time)
        try await api.drainAndDelete(node: "gone", time: time)
        #expect(await api.deleted == ["ready", "dead"])
        #expect(await api.evictions == ["default/web-0"])
        #expect(await api.pods.isEmpty)
    }
}
