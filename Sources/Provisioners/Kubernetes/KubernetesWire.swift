import ClusterKit

/// The Kubernetes API's JSON, reduced to the fields the client reads (core/v1 `Node`, `Pod`,
/// `NodeList`, `PodList`; meta/v1 `Status`). Unknown fields are ignored, missing optional ones
/// are nil, as the API omits empty fields (`omitempty`).
enum KubernetesWire {
    struct List<Item: Decodable>: Decodable {
        var items: [Item]?
    }

    struct ObjectMeta: Decodable {
        var name: String
        var namespace: String?
        var labels: [String: String]?
        var annotations: [String: String]?
        var deletionTimestamp: String?
        var ownerReferences: [OwnerReference]?
    }

    struct OwnerReference: Decodable {
        var kind: String
        var name: String
        var controller: Bool?
    }

    struct Node: Decodable {
        struct Spec: Decodable { var unschedulable: Bool? }
        struct Status: Decodable {
            var conditions: [Condition]?
            var nodeInfo: NodeInfo?
        }
        struct NodeInfo: Decodable { var kubeletVersion: String? }
        var metadata: ObjectMeta
        var spec: Spec?
        var status: Status?
    }

    struct Condition: Decodable {
        var type: String
        var status: String
        var reason: String?
        var message: String?
    }

    struct Pod: Decodable {
        struct Spec: Decodable { var nodeName: String? }
        struct Status: Decodable { var phase: String? }
        var metadata: ObjectMeta
        var spec: Spec?
        var status: Status?
    }

    /// meta/v1 `APIResourceList`, what discovery answers for one group-version.
    struct APIResourceList: Decodable {
        struct Resource: Decodable {
            var name: String
            var kind: String
            var namespaced: Bool
        }
        var groupVersion: String?
        var resources: [Resource]?
    }

    /// meta/v1 `Status`, the body of every API error. A cause's `reason` is Go's `StatusCause.Type`
    /// (JSON tag `reason`), e.g. `DisruptionBudget` on a refused eviction.
    struct Status: Decodable {
        struct Details: Decodable {
            var name: String?
            var kind: String?
            var causes: [Cause]?
            var retryAfterSeconds: Int?
        }
        struct Cause: Decodable {
            var reason: String?
            var message: String?
            var field: String?
        }
        var kind: String?
        var status: String?
        var message: String?
        var reason: String?
        var code: Int?
        var details: Details?
    }
}

extension KubernetesNodeStatus {
    init(_ node: KubernetesWire.Node) {
        let ready = node.status?.conditions?.first { $0.type == "Ready" }
        self.init(
            name: node.metadata.name, ready: ready?.status == "True", kubeletVersion: node.status?.nodeInfo?.kubeletVersion,
            roles: Self.roles(fromLabels: node.metadata.labels ?? [:]), unschedulable: node.spec?.unschedulable ?? false,
            readyReason: ready.map { condition in
                [condition.reason, condition.message].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
            })
    }
}

extension KubernetesPod {
    init(_ pod: KubernetesWire.Pod) {
        self.init(
            namespace: pod.metadata.namespace ?? "default", name: pod.metadata.name, node: pod.spec?.nodeName, phase: pod.status?.phase ?? "Unknown",
            controllerKind: pod.metadata.ownerReferences?.first { $0.controller == true }?.kind,
            isMirror: pod.metadata.annotations?[Self.mirrorAnnotation] != nil, isTerminating: pod.metadata.deletionTimestamp != nil)
    }
}
