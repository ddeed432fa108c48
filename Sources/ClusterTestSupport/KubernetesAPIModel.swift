public import Foundation

/// A stateful model of the Kubernetes API server, served over plain HTTP by an
/// ``HTTPLoopbackServer`` (put ``KubernetesAPIPeer`` in front of it for TLS with client
/// certificates). It behaves as kube-apiserver does where a client can tell, awkward parts
/// included:
///
/// - `/readyz` answers `ok` as text/plain, or 500 with the failed checks while not ready.
/// - Node and Pod objects in their real JSON shape (`metadata`, `spec`, `status.conditions`, list
///   items without `kind`), `NodeList`/`PodList` with a `resourceVersion`.
/// - PATCH takes `application/merge-patch+json` and `application/strategic-merge-patch+json`
///   (applied as an RFC 7386 merge, which is what strategic merge does for the fields modelled),
///   and answers 415 with the API's Status for any other content type; json-patch is not
///   modelled. A cordoned node gets the `node.kubernetes.io/unschedulable:NoSchedule` taint, as
///   the node lifecycle controller adds it.
/// - The Eviction API (`POST .../pods/<name>/eviction`, policy/v1): 201 with a Success Status;
///   429 with a `DisruptionBudget` cause when a matching PodDisruptionBudget has no disruption
///   left; 500 when two budgets match; a pod already terminating, or not Running, is deleted
///   without consulting budgets (kubernetes `pkg/registry/core/pod/storage/eviction.go`).
/// - An evicted pod keeps its `deletionTimestamp` until its grace period ends, then is gone,
///   unless its node is NotReady: a dead kubelet never confirms, so it stays Terminating.
/// - DaemonSet pods are recreated on their node; deleting a Node deletes its pods.
/// - Every error body is a meta/v1 Status (`404 nodes "x" not found`, `reason: NotFound`).
///
/// Time comes from `now` (seconds), so tests may use the wall clock with short grace periods.
public final class KubernetesAPIModel: @unchecked Sendable {
    public struct Node: Sendable {
        public var name: String
        public var labels: [String: String]
        public var ready: Bool
        public var kubeletVersion: String
        public var unschedulable: Bool
        public var address: String
    }

    public struct Pod: Sendable {
        public var namespace: String
        public var name: String
        public var node: String?
        public var labels: [String: String]
        /// Controller kind and name (`ReplicaSet`, `DaemonSet`, `Node` for mirror pods).
        public var owner: (kind: String, name: String)?
        public var mirror: Bool
        public var phase: String
        public var graceSeconds: Int
        /// When deletion was requested; the pod is gone `graceSeconds` later.
        public var deletionRequestedAt: Double?
        var uid: String
        var created: Double

        public var key: String { "\(namespace)/\(name)" }
    }

    public struct DisruptionBudget: Sendable {
        public var namespace: String
        public var name: String
        public var matchLabels: [String: String]
        public var minAvailable: Int
    }

    private let lock = NSLock()
    private let now: @Sendable () -> Double
    private var nodes: [String: Node] = [:]
    private var pods: [String: Pod] = [:]
    private var budgets: [String: DisruptionBudget] = [:]
    private var daemonSets: [String] = []
    private var apiReady = true
    private var resourceVersion = 1000
    private var serial = 0
    /// Every request, `METHOD path[?query]`, in order.
    public private(set) var requests: [String] = []
    public private(set) var server: HTTPLoopbackServer?
    /// Objects of every other kind (discovery, server-side apply, CRDs); see ``KubernetesObjectStore``.
    public let objects: KubernetesObjectStore

    /// - Parameter now: seconds on any monotonic scale; the wall clock by default.
    public init(now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) throws {
        self.now = now
        objects = KubernetesObjectStore(now: now)
        server = try HTTPLoopbackServer { [weak self] request in
            guard let self else { return .dropConnection }
            return self.handle(request)
        }
    }

    public var port: Int { server?.port ?? 0 }

    public func stop() { server?.stop() }

    // MARK: Setting the scene

    /// Registers a node, Ready unless told otherwise, with `node-role.kubernetes.io/<role>` labels.
    public func addNode(_ name: String, roles: [String] = [], ready: Bool = true, kubeletVersion: String = "v1.34.1") {
        withLock {
            var labels = ["kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"]
            for role in roles { labels["node-role.kubernetes.io/\(role)"] = "" }
            nodes[name] = Node(
                name: name, labels: labels, ready: ready, kubeletVersion: kubeletVersion, unschedulable: false,
                address: "10.0.0.\(nodes.count + 2)")
            if roles.contains("control-plane") {
                for component in ["kube-apiserver", "kube-controller-manager", "kube-scheduler"] {
                    insertPod(namespace: "kube-system", name: "\(component)-\(name)", node: name, labels: ["component": component], owner: ("Node", name), mirror: true, grace: 30)
                }
            }
            settle()
        }
    }

    /// A DaemonSet in kube-system: one pod on every node, recreated when deleted.
    public func addDaemonSet(_ name: String) {
        withLock {
            daemonSets.append(name)
            settle()
        }
    }

    /// A pod of a ReplicaSet (`owner`), or unmanaged when `owner` is nil.
    public func addPod(namespace: String = "default", name: String, node: String?, labels: [String: String] = [:], owner: String? = nil, graceSeconds: Int = 1) {
        withLock {
            insertPod(namespace: namespace, name: name, node: node, labels: labels, owner: owner.map { ("ReplicaSet", $0) }, mirror: false, grace: graceSeconds)
        }
    }

    /// A PodDisruptionBudget with `minAvailable`; its status is derived from the pods, as the
    /// disruption controller derives it.
    public func addDisruptionBudget(namespace: String = "default", name: String, matchLabels: [String: String], minAvailable: Int) {
        withLock { budgets["\(namespace)/\(name)"] = DisruptionBudget(namespace: namespace, name: name, matchLabels: matchLabels, minAvailable: minAvailable) }
    }

    public func setMinAvailable(namespace: String = "default", budget: String, _ minAvailable: Int) {
        withLock { budgets["\(namespace)/\(budget)"]?.minAvailable = minAvailable }
    }

    public func setNodeReady(_ name: String, _ ready: Bool) {
        withLock { nodes[name]?.ready = ready }
    }

    public func setAPIReady(_ ready: Bool) {
        withLock { apiReady = ready }
    }

    public func node(_ name: String) -> Node? { withLock { settle(); return nodes[name] } }

    public func pods(onNode name: String) -> [Pod] {
        withLock {
            settle()
            return pods.values.filter { $0.node == name }.sorted { $0.key < $1.key }
        }
    }

    public func pod(namespace: String = "default", _ name: String) -> Pod? { withLock { settle(); return pods["\(namespace)/\(name)"] } }

    private func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    private func insertPod(namespace: String, name: String, node: String?, labels: [String: String], owner: (String, String)?, mirror: Bool, grace: Int) {
        serial += 1
        resourceVersion += 1
        let pod = Pod(
            namespace: namespace, name: name, node: node, labels: labels, owner: owner, mirror: mirror, phase: node == nil ? "Pending" : "Running",
            graceSeconds: grace, deletionRequestedAt: nil, uid: Self.uid(serial), created: now())
        pods[pod.key] = pod
    }

    static func uid(_ serial: Int) -> String {
        String(format: "6f1c%04x-3b2a-4c1d-9e8f-%012x", serial & 0xFFFF, serial)
    }

    /// The controllers and kubelets, caught up to now.
    private func settle() {
        let time = now()
        for (key, pod) in pods {
            if let node = pod.node, nodes[node] == nil {
                pods[key] = nil  // pod garbage collection: bound to a node that no longer exists
            } else if let requested = pod.deletionRequestedAt, time >= requested + Double(pod.graceSeconds),
                pod.node.flatMap({ nodes[$0]?.ready }) ?? true
            {
                pods[key] = nil
                resourceVersion += 1
            }
        }
        for daemonSet in daemonSets {
            for node in nodes.keys.sorted()
            where !pods.values.contains(where: { $0.owner?.kind == "DaemonSet" && $0.owner?.name == daemonSet && $0.node == node && $0.deletionRequestedAt == nil }) {
                serial += 1
                insertPod(
                    namespace: "kube-system", name: "\(daemonSet)-\(String(serial * 7919 % 60_466_176 + 1_679_616, radix: 36).suffix(5))", node: node,
                    labels: ["k8s-app": daemonSet], owner: ("DaemonSet", daemonSet), mirror: false, grace: 30)
            }
        }
    }

    // MARK: Serving

    private func handle(_ request: HTTPLoopbackRequest) -> HTTPLoopbackReply {
        withLock {
            let query = request.query.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
            requests.append("\(request.method) \(request.path)" + (query.isEmpty ? "" : "?\(query)"))
            settle()
            let parts = request.path.split(separator: "/").map(String.init)
            switch (request.method, parts.count) {
            case ("GET", 1) where parts[0] == "readyz":
                return readyz()
            case (_, 3) where parts[0] == "api" && parts[1] == "v1" && parts[2] == "nodes":
                guard request.method == "GET" else { return methodNotAllowed(request) }
                return json(200, list("NodeList", nodes.values.sorted { $0.name < $1.name }.map(nodeObject)))
            case (_, 4) where parts[0] == "api" && parts[1] == "v1" && parts[2] == "nodes":
                return nodeRequest(request, name: parts[3])
            case (_, 3) where parts[0] == "api" && parts[1] == "v1" && parts[2] == "pods":
                guard request.method == "GET" else { return methodNotAllowed(request) }
                return listPods(request, namespace: nil)
            case (_, 5) where parts[0] == "api" && parts[1] == "v1" && parts[2] == "namespaces" && parts[4] == "pods":
                guard request.method == "GET" else { return methodNotAllowed(request) }
                return listPods(request, namespace: parts[3])
            case (_, 6) where parts[0] == "api" && parts[1] == "v1" && parts[2] == "namespaces" && parts[4] == "pods":
                guard request.method == "GET" else { return methodNotAllowed(request) }
                guard let pod = pods["\(parts[3])/\(parts[5])"] else { return notFound("pods", parts[5]) }
                return json(200, podObject(pod, inList: false))
            case (_, 7) where parts[0] == "api" && parts[1] == "v1" && parts[2] == "namespaces" && parts[4] == "pods" && parts[6] == "eviction":
                guard request.method == "POST" else { return methodNotAllowed(request) }
                return evict(request, namespace: parts[3], name: parts[5])
            default:
                if let reply = objects.handle(request) { return reply }
                return status(
                    404, reason: "NotFound", message: "the server could not find the requested resource",
                    details: ["causes": [["reason": "UnexpectedServerResponse", "message": "404 page not found"]]])
            }
        }
    }

    private func readyz() -> HTTPLoopbackReply {
        if apiReady { return .response(status: 200, headers: ["Content-Type": "text/plain; charset=utf-8"], body: Array("ok".utf8)) }
        let text = "[+]ping ok\n[+]log ok\n[-]etcd failed: reason withheld\n[+]poststarthook/start-kube-apiserver-admission-initializer ok\nreadyz check failed\n"
        return .response(status: 500, headers: ["Content-Type": "text/plain; charset=utf-8"], body: Array(text.utf8))
    }

    private func nodeRequest(_ request: HTTPLoopbackRequest, name: String) -> HTTPLoopbackReply {
        guard var node = nodes[name] else { return notFound("nodes", name) }
        switch request.method {
        case "GET":
            return json(200, nodeObject(node))
        case "DELETE":
            nodes[name] = nil
            resourceVersion += 1
            settle()
            return json(200, nodeObject(node))
        case "PATCH":
            let type = (request.headers["content-type"] ?? "").split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            guard type == "application/merge-patch+json" || type == "application/strategic-merge-patch+json" else {
                return status(
                    415, reason: "UnsupportedMediaType",
                    message: "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, "
                        + "application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json")
            }
            guard let patch = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any] else {
                return status(400, reason: "BadRequest", message: "error decoding patch: invalid JSON")
            }
            guard let patched = Self.merge(nodeObject(node), patch) as? [String: Any] else {
                return status(400, reason: "BadRequest", message: "the patch does not apply to a Node object")
            }
            let metadata = patched["metadata"] as? [String: Any]
            node.labels = (metadata?["labels"] as? [String: String]) ?? [:]
            let spec = patched["spec"] as? [String: Any]
            guard spec?["unschedulable"] == nil || spec?["unschedulable"] is Bool else {
                return status(422, reason: "Invalid", message: "Node \"\(name)\" is invalid: spec.unschedulable: Invalid value: expected a boolean")
            }
            node.unschedulable = (spec?["unschedulable"] as? Bool) ?? false
            nodes[name] = node
            resourceVersion += 1
            return json(200, nodeObject(node))
        default:
            return methodNotAllowed(request)
        }
    }

    private func listPods(_ request: HTTPLoopbackRequest, namespace: String?) -> HTTPLoopbackReply {
        var selected = pods.values.filter { namespace == nil || $0.namespace == namespace }
        if let selector = request.queryValue("fieldSelector"), !selector.isEmpty {
            for requirement in selector.split(separator: ",").map(String.init) {
                let negated = requirement.contains("!=")
                let pieces = requirement.components(separatedBy: negated ? "!=" : (requirement.contains("==") ? "==" : "="))
                guard pieces.count == 2 else { return status(400, reason: "BadRequest", message: "invalid field selector: \(requirement)") }
                let field = pieces[0]
                let value = pieces[1]
                let read: (Pod) -> String
                switch field {
                case "spec.nodeName": read = { $0.node ?? "" }
                case "metadata.namespace": read = { $0.namespace }
                case "metadata.name": read = { $0.name }
                case "status.phase": read = { $0.phase }
                default: return status(400, reason: "BadRequest", message: "field label not supported: \(field)")
                }
                selected = selected.filter { (read($0) == value) != negated }
            }
        }
        if let selector = request.queryValue("labelSelector"), !selector.isEmpty {
            for requirement in selector.split(separator: ",") {
                let pieces = requirement.split(separator: "=", maxSplits: 1).map(String.init)
                guard pieces.count == 2 else { return status(400, reason: "BadRequest", message: "unable to parse requirement: \(requirement)") }
                selected = selected.filter { $0.labels[pieces[0]] == pieces[1] }
            }
        }
        return json(200, list("PodList", selected.sorted { $0.key < $1.key }.map { podObject($0, inList: true) }))
    }

    private func evict(_ request: HTTPLoopbackRequest, namespace: String, name: String) -> HTTPLoopbackReply {
        let type = (request.headers["content-type"] ?? "").split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard type == "application/json" else {
            return status(
                415, reason: "UnsupportedMediaType",
                message: "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, "
                    + "application/vnd.kubernetes.protobuf")
        }
        guard let body = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any],
            body["kind"] as? String == "Eviction", let apiVersion = body["apiVersion"] as? String, apiVersion.hasPrefix("policy/")
        else {
            return status(400, reason: "BadRequest", message: "the body is not an Eviction object (kind Eviction, apiVersion policy/v1)")
        }
        guard (body["metadata"] as? [String: Any])?["name"] as? String == name else {
            return status(400, reason: "BadRequest", message: "name in URL does not match name in Eviction object")
        }
        guard var pod = pods["\(namespace)/\(name)"] else { return notFound("pods", name) }
        let success = json(201, ["kind": "Status", "apiVersion": "v1", "metadata": [String: Any](), "status": "Success", "code": 201])
        if pod.deletionRequestedAt != nil { return success }
        if pod.phase == "Running" {
            let matching = budgets.values.filter { budget in
                budget.namespace == namespace && !budget.matchLabels.isEmpty && budget.matchLabels.allSatisfy { pod.labels[$0.key] == $0.value }
            }
            if matching.count > 1 {
                return status(500, reason: "InternalError", message: "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.")
            }
            if let budget = matching.first {
                let healthy = pods.values.filter { other in
                    other.namespace == namespace && other.phase == "Running" && other.deletionRequestedAt == nil
                        && budget.matchLabels.allSatisfy { other.labels[$0.key] == $0.value }
                }.count
                if healthy - budget.minAvailable <= 0 {
                    return status(
                        429, reason: "TooManyRequests", message: "Cannot evict pod as it would violate the pod's disruption budget.",
                        details: [
                            "causes": [
                                [
                                    "reason": "DisruptionBudget",
                                    "message": "The disruption budget \(budget.name) needs \(budget.minAvailable) healthy pods and has \(healthy) currently",
                                ]
                            ]
                        ])
                }
            }
        }
        pod.deletionRequestedAt = now()
        pods[pod.key] = pod
        resourceVersion += 1
        return success
    }

    // MARK: Objects

    private func nodeObject(_ node: Node) -> [String: Any] {
        let heartbeat = Self.timestamp(now())
        let ready: [String: Any] =
            node.ready
            ? [
                "type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status",
                "lastHeartbeatTime": heartbeat, "lastTransitionTime": heartbeat,
            ]
            : [
                "type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown", "message": "Kubelet stopped posting node status.",
                "lastHeartbeatTime": heartbeat, "lastTransitionTime": heartbeat,
            ]
        var spec: [String: Any] = ["podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"]]
        var taints: [[String: Any]] = []
        if node.labels["node-role.kubernetes.io/control-plane"] != nil { taints.append(["key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"]) }
        if node.unschedulable {
            spec["unschedulable"] = true
            taints.append(["key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule", "timeAdded": heartbeat])
        }
        if !node.ready { taints.append(["key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": heartbeat]) }
        if !taints.isEmpty { spec["taints"] = taints }
        // The kubelet's own reasons for healthy pressure conditions.
        let healthyReasons = [("MemoryPressure", "KubeletHasSufficientMemory"), ("DiskPressure", "KubeletHasNoDiskPressure"), ("PIDPressure", "KubeletHasSufficientPID")]
        let pressure = healthyReasons.map { type, reason -> [String: Any] in
            ["type": type, "status": node.ready ? "False" : "Unknown", "reason": node.ready ? reason : "NodeStatusUnknown"]
        }
        return [
            "kind": "Node", "apiVersion": "v1",
            "metadata": [
                "name": node.name, "uid": Self.uid(node.name.utf8.reduce(0) { $0 &* 31 &+ Int($1) } & 0xFFFFFF),
                "resourceVersion": String(resourceVersion), "creationTimestamp": Self.timestamp(0), "labels": node.labels,
            ],
            "spec": spec,
            "status": [
                "conditions": pressure + [ready],
                "addresses": [["type": "InternalIP", "address": node.address], ["type": "Hostname", "address": node.name]],
                "nodeInfo": [
                    "kubeletVersion": node.kubeletVersion, "kubeProxyVersion": node.kubeletVersion, "osImage": "Talos (v1.13.9)",
                    "operatingSystem": "linux", "architecture": "amd64", "containerRuntimeVersion": "containerd://2.1.5",
                ],
            ],
        ]
    }

    private func podObject(_ pod: Pod, inList: Bool) -> [String: Any] {
        var metadata: [String: Any] = [
            "name": pod.name, "namespace": pod.namespace, "uid": pod.uid, "resourceVersion": String(resourceVersion),
            "creationTimestamp": Self.timestamp(pod.created), "labels": pod.labels,
        ]
        if let owner = pod.owner {
            metadata["ownerReferences"] = [
                [
                    "apiVersion": owner.kind == "Node" ? "v1" : "apps/v1", "kind": owner.kind, "name": owner.name, "uid": Self.uid(owner.name.count),
                    "controller": true, "blockOwnerDeletion": true,
                ]
            ]
        }
        if pod.mirror { metadata["annotations"] = ["kubernetes.io/config.mirror": "8d5c5e3e1f0b4a6c", "kubernetes.io/config.source": "file"] }
        if let requested = pod.deletionRequestedAt {
            metadata["deletionTimestamp"] = Self.timestamp(requested + Double(pod.graceSeconds))
            metadata["deletionGracePeriodSeconds"] = pod.graceSeconds
        }
        var spec: [String: Any] = ["terminationGracePeriodSeconds": pod.graceSeconds, "containers": [["name": "main", "image": "registry.k8s.io/pause:3.10"]]]
        if let node = pod.node { spec["nodeName"] = node }
        let running = pod.phase == "Running"
        var object: [String: Any] = [
            "metadata": metadata, "spec": spec,
            "status": ["phase": pod.phase, "conditions": [["type": "Ready", "status": running && pod.deletionRequestedAt == nil ? "True" : "False"]]],
        ]
        if !inList {
            object["kind"] = "Pod"
            object["apiVersion"] = "v1"
        }
        return object
    }

    private func list(_ kind: String, _ items: [[String: Any]]) -> [String: Any] {
        ["kind": kind, "apiVersion": "v1", "metadata": ["resourceVersion": String(resourceVersion)], "items": items]
    }

    /// RFC 7386 JSON merge patch: objects merge key by key, `null` deletes, anything else replaces.
    static func merge(_ target: Any, _ patch: Any) -> Any {
        guard let patch = patch as? [String: Any] else { return patch }
        var result = target as? [String: Any] ?? [:]
        for (key, value) in patch {
            if value is NSNull {
                result[key] = nil
            } else {
                result[key] = merge(result[key] ?? [String: Any](), value)
            }
        }
        return result
    }

    static func timestamp(_ seconds: Double) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }

    // MARK: Replies

    private func json(_ code: Int, _ object: [String: Any]) -> HTTPLoopbackReply {
        let body = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return .response(status: code, headers: ["Content-Type": "application/json", "Audit-Id": UUID().uuidString.lowercased()], body: Array(body))
    }

    private func status(_ code: Int, reason: String, message: String, details: [String: Any]? = nil) -> HTTPLoopbackReply {
        var object: [String: Any] = ["kind": "Status", "apiVersion": "v1", "metadata": [String: Any](), "status": "Failure", "message": message, "reason": reason, "code": code]
        if let details { object["details"] = details }
        return json(code, object)
    }

    private func notFound(_ kind: String, _ name: String) -> HTTPLoopbackReply {
        status(404, reason: "NotFound", message: "\(kind) \"\(name)\" not found", details: ["name": name, "kind": kind])
    }

    private func methodNotAllowed(_ request: HTTPLoopbackRequest) -> HTTPLoopbackReply {
        status(405, reason: "MethodNotAllowed", message: "the server does not allow this method on the requested resource")
    }
}
